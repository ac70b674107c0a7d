import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Logger } from "pino";
import { sha256 } from "../auth/registry.js";
import type { GatewayConfig } from "../config/config.js";
import { parseConfig } from "../config/load.js";
import type { AppMode } from "../config/schema.js";
import { PACKAGE_ROOT } from "../paths.js";
import { startGateway } from "../server/server.js";

export const DEMO_TOKEN_ENV = "DIFY_GATEWAY_DEMO_TOKEN";

/**
 * The simulator (top-level simulator/, built into dist/simulator/) is a dev tool, not part of the gateway:
 * a production image ships without it. So it is loaded by path at run time, never imported statically
 * (tsc and the bundler would otherwise pull it into the gateway's build), and described here by the
 * little the demo uses of it.
 */
const SIMULATOR_ENTRY = join(PACKAGE_ROOT, "dist", "simulator", "index.js");

interface DemoApp {
  appId: string;
  key: string;
  mode: AppMode;
  name: string;
}

interface Simulator {
  url: string;
  close(): Promise<void>;
}

interface SimulatorModule {
  DEMO_APPS: readonly DemoApp[];
  startSimulator(opts: { tokenDelayMs: number; port?: number | undefined }): Promise<Simulator>;
}

async function loadSimulator(): Promise<SimulatorModule> {
  if (!existsSync(SIMULATOR_ENTRY)) {
    process.stderr.write("demo mode needs the simulator, which this build does not include: pass --config\n");
    process.exit(2);
  }
  return (await import(pathToFileURL(SIMULATOR_ENTRY).href)) as SimulatorModule;
}

/** `npm start` with no config: the embedded Dify simulator, a demo workspace, and the gateway in front. */
export async function startDemo(listen: string, log: Logger, ports: { simulatorPort?: number; metricsPort?: number } = {}) {
  const { DEMO_APPS: demoApps, startSimulator } = await loadSimulator();
  const simulator = await startSimulator({ tokenDelayMs: 40, port: ports.simulatorPort });
  const token = process.env[DEMO_TOKEN_ENV] || `demo-${randomBytes(18).toString("base64url")}`;
  const config = demoConfig(demoApps, simulator, token, listen, ports.metricsPort ?? 0);
  const gateway = await startGateway(config, log);
  const metricsUrl = gateway.metricsPort === undefined ? undefined : `http://127.0.0.1:${gateway.metricsPort}/metrics`;
  process.stdout.write(banner(demoApps, listen.replace(/:\d+$/, `:${gateway.port}`), simulator.url, token, metricsUrl));
  return {
    gateway,
    async close(graceMs?: number) {
      await gateway.close(graceMs);
      await simulator.close();
    },
  };
}

function demoConfig(demoApps: readonly DemoApp[], simulator: Simulator, token: string, listen: string, metricsPort: number): GatewayConfig {
  const env: NodeJS.ProcessEnv = {};
  // Named by position: several demo apps share a mode (the Human Input workflows, say).
  const apps = demoApps.map((app, i) => {
    const name = `DEMO_KEY_${i + 1}`;
    env[name] = app.key;
    return { appId: app.appId, key: { env: name }, mode: app.mode };
  });
  const doc = {
    server: { listen },
    // Ephemeral unless --metrics-port pins it: a demo must not fail because something else holds 9464.
    metrics: { listen: `127.0.0.1:${metricsPort}` },
    workspaces: [
      { id: "demo", difyBaseUrl: simulator.url, defaultUser: "demo-user", tokens: [{ sha256: sha256(token).toString("hex") }], apps },
    ],
  };
  return parseConfig(doc, "(demo)", env);
}

function banner(
  demoApps: readonly DemoApp[],
  address: string,
  simulatorUrl: string,
  token: string,
  metricsUrl: string | undefined,
): string {
  const app = (mode: string) => demoApps.find((a) => a.mode === mode)?.appId ?? "";
  const approval = demoApps.find((a) => a.name === "Demo Approval Workflow")?.appId ?? "";
  const curl = `npx buf curl --protocol grpc --http2-prior-knowledge`;
  const auth = `-H "authorization: Bearer $TOKEN"`;
  const url = `http://${address}`;
  const lines = [
    "",
    `Dify gRPC gateway (demo) on ${address}, backed by the embedded Dify simulator at ${simulatorUrl}`,
    "",
    "Demo apps:",
    ...demoApps.map((a) => `  ${a.mode.padEnd(14)} ${a.appId}  ${a.name}`),
    "",
    "Demo workspace token (this run only):",
    `  export TOKEN=${token}`,
    "",
    "Try, in another terminal:",
    `  ${curl} --list-methods ${url}`,
    `  ${curl} ${auth} -d '{"app_id":"${app("chat")}","query":"Hello"}' ${url}/dify.app.v1.ChatService/ChatInvoke`,
    `  ${curl} ${auth} -d '{"app_id":"${app("advanced-chat")}","query":"Hello"}' ${url}/dify.app.v1.ChatService/ChatInvokeStream`,
    `  ${curl} ${auth} -d '{"app_id":"${app("workflow")}","inputs":{"query":"What is gRPC?"}}' ${url}/dify.app.v1.WorkflowService/WorkflowInvoke`,
    `  ${curl} ${auth} -d '{"app_id":"${app("completion")}","inputs":{"query":"Hi"}}' ${url}/dify.app.v1.CompletionService/CompletionInvokeStream`,
    '  # human input: the run pauses; answer its form (README, "Human input")',
    `  ${curl} ${auth} -d '{"app_id":"${approval}","inputs":{"query":"Draft"}}' ${url}/dify.app.v1.WorkflowService/WorkflowInvoke`,
    ...(metricsUrl ? ["", `Metrics: curl ${metricsUrl}`] : []),
    "",
    "",
  ];
  return lines.join("\n");
}
