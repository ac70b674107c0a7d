import { request } from "undici";
import type { RecordedRequest } from "../simulator/index.js";
import { type Server, startGateway } from "./servers.js";
import type { Settings } from "./settings.js";

export interface Context {
  dir: string;
  smoke: boolean;
  settings: Settings;
  sim: Server & { url: string };
  gateway: Server;
  floor: Server;
  /** The floor whose unary runs Dify in streaming mode and aggregates, as the gateway does. */
  streamingFloor: Server;
  direct: Server;
}

/** One target of the issue: what was measured against what limit. `pass` null = no verdict (no proof); "info" = no limit. */
export interface TargetRow {
  target: string;
  measured: string;
  limit: string;
  pass: boolean | null | "info";
}

export interface CaseResult {
  data: Record<string, unknown>;
  targets: TargetRow[];
}

/**
 * A fresh gateway process (same config) in place of the running one: the memory cases measure RSS above
 * idle, and a gateway that held 1,000 stalled streams keeps most of that memory (glibc and V8 return little).
 */
let restarts = 0;

export async function restartGateway(ctx: Context): Promise<void> {
  await ctx.gateway.proc.stop();
  ctx.gateway = await startGateway(ctx.dir, ctx.sim.url, `gateway-${++restarts}`);
  // Past its start-up allocations, like the idle case's gateway.
  await new Promise((r) => setTimeout(r, ctx.smoke ? 200 : 2_000));
}

const control = (ctx: Context) => ctx.sim.url.replace(/\/v1$/, "/__sim/requests");

/** The simulator records every request; forgetting them between runs keeps its memory and our counts clean. */
export async function resetSim(ctx: Context): Promise<void> {
  await (await request(control(ctx), { method: "DELETE" })).body.dump();
}

/** Runs the simulator served (stop calls excluded). */
export async function simRuns(ctx: Context): Promise<RecordedRequest[]> {
  const all = (await (await request(control(ctx))).body.json()) as RecordedRequest[];
  return all.filter((r) => r.path === "/v1/completion-messages");
}

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
