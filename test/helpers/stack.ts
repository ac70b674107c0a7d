import { type AppMode, DEMO_APPS } from "../../simulator/index.js";
import { sha256 } from "../../src/auth/registry.js";
import { bearer, clients } from "./grpc.js";
import { type GatewayProcess, type SimulatorProcess, startGatewayProcess, startSimulatorProcess } from "./processes.js";

export const TOKEN = "test-token-4b1d9e";

export interface Stack {
  sim: SimulatorProcess;
  gw: GatewayProcess;
  c: ReturnType<typeof clients>;
  md: () => ReturnType<typeof bearer>;
  appId(mode: AppMode): string;
  stop(): Promise<void>;
}

/** A simulator process and a gateway process in front of it, with every demo app in one workspace. */
export async function startStack(
  opts: { upstream?: Record<string, unknown>; server?: Record<string, unknown>; simulatorArgs?: string[]; logLevel?: string } = {},
): Promise<Stack> {
  const sim = await startSimulatorProcess(opts.simulatorArgs ?? []);
  const env: NodeJS.ProcessEnv = {};
  const apps = DEMO_APPS.map((a, i) => {
    env[`TEST_APP_KEY_${i}`] = a.key;
    return { appId: a.appId, key: { env: `TEST_APP_KEY_${i}` } };
  });
  const gw = await startGatewayProcess(
    {
      server: { listen: "127.0.0.1:0", ...opts.server },
      upstream: opts.upstream ?? {},
      log: { level: opts.logLevel ?? "info" },
      workspaces: [
        { id: "ws-test", difyBaseUrl: sim.url, defaultUser: "ws-default-user", tokens: [{ sha256: sha256(TOKEN).toString("hex") }], apps },
      ],
    },
    env,
  );
  const c = clients(gw.address);
  return {
    sim,
    gw,
    c,
    md: () => bearer(TOKEN),
    appId(mode) {
      const app = DEMO_APPS.find((a) => a.mode === mode);
      if (!app) throw new Error(`no demo app of mode ${mode}`);
      return app.appId;
    },
    async stop() {
      c.close();
      await gw.proc.stop();
      await sim.proc.stop();
    },
  };
}
