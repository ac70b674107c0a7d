/** A faithful Dify App API ("Service API") simulator for demos and end-to-end tests. */
export { DEMO_APPS } from "./apps.js";
export { startSimulator } from "./server.js";
export type { AppMode, RecordedRequest, Simulator, SimulatorApp, SimulatorOptions } from "./types.js";
