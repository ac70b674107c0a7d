import type { AppMode } from "../../simulator/index.js";
import { demoAppId, demoWorkspaceConfig, type StackOptions, TOKEN } from "./demo-workspace.js";
import { bearer, clients } from "./grpc.js";
import { type GatewayProcess, type SimulatorProcess, startGatewayProcess, startSimulatorProcess } from "./processes.js";

export { TOKEN } from "./demo-workspace.js";

export interface Stack {
  sim: SimulatorProcess;
  gw: GatewayProcess;
  c: ReturnType<typeof clients>;
  md: () => ReturnType<typeof bearer>;
  appId(mode: AppMode): string;
  stop(): Promise<void>;
}

/** A simulator process and a gateway process in front of it, with every demo app in one workspace. */
export async function startStack(opts: StackOptions & { simulatorArgs?: string[] } = {}): Promise<Stack> {
  const sim = await startSimulatorProcess(opts.simulatorArgs ?? []);
  const { config, env } = demoWorkspaceConfig(sim.url, opts);
  const gw = await startGatewayProcess(config, env);
  const c = clients(gw.address);
  return {
    sim,
    gw,
    c,
    md: () => bearer(TOKEN),
    appId: demoAppId,
    async stop() {
      c.close();
      await gw.proc.stop();
      await sim.proc.stop();
    },
  };
}
