import { type AppMode, type RecordedRequest, type Simulator, startSimulator } from "../../simulator/index.js";
import { parseConfig } from "../../src/config/load.js";
import { createLogger } from "../../src/log/logger.js";
import { type Gateway, startGateway } from "../../src/server/server.js";
import { demoAppId, demoWorkspaceConfig, isRunRequest, type StackOptions, TOKEN } from "./demo-workspace.js";
import { bearer, clients } from "./grpc.js";

/*
 * The Dify simulator and the gateway inside the test process, each on port 0: no build, no child
 * processes, and the gateway's log lines readable as parsed JSON. For behaviour that does not need the
 * executable (CLI, signals, stdout, deploy files stay process tests).
 */

export { TOKEN } from "./demo-workspace.js";

export interface InProcessSimulator {
  sim: Simulator;
  url: string;
  requests(): Promise<RecordedRequest[]>;
  /** Requests that start a run (see isRunRequest); stop calls are fired without waiting and may land late. */
  runs(): Promise<RecordedRequest[]>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

export async function startInProcessSimulator(): Promise<InProcessSimulator> {
  const sim = await startSimulator({ host: "127.0.0.1", port: 0 });
  return {
    sim,
    url: sim.url,
    requests: async () => sim.requests(),
    runs: async () => sim.requests().filter((r) => isRunRequest(r)),
    reset: async () => sim.reset(),
    close: () => sim.close(),
  };
}

export interface InProcessGateway {
  gateway: Gateway;
  address: string;
  metricsUrl: string | undefined;
  /** Every log line the gateway wrote so far, parsed. */
  logs(): Record<string, unknown>[];
  /** The same lines as written, for checks on the raw output (secrets). */
  output(): string;
  close(): Promise<void>;
}

/** The gateway with `config` (a config document, as a file would hold it), logging into memory. */
export async function startInProcessGateway(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<InProcessGateway> {
  // Loopback and free ports unless the test says otherwise: tests run side by side (the default 0.0.0.0:50051 clashed).
  const server = { listen: "127.0.0.1:0", ...(config.server as Record<string, unknown> | undefined) };
  const parsed = parseConfig({ metrics: { listen: "127.0.0.1:0" }, ...config, server }, "in-process test config", env);
  const lines: string[] = [];
  const log = createLogger(parsed.log.level, { write: (line: string) => void lines.push(line) });
  const gateway = await startGateway(parsed, log);
  return {
    gateway,
    address: `127.0.0.1:${gateway.port}`,
    metricsUrl: gateway.metricsPort ? `http://127.0.0.1:${gateway.metricsPort}/metrics` : undefined,
    logs: () => lines.map(parseLogLine),
    output: () => lines.join(""),
    close: () => gateway.close(0),
  };
}

export interface InProcessStack {
  sim: InProcessSimulator;
  gw: InProcessGateway;
  c: ReturnType<typeof clients>;
  md: () => ReturnType<typeof bearer>;
  appId(mode: AppMode): string;
  stop(): Promise<void>;
}

/** A simulator and a gateway in front of it, every demo app in one workspace (like test/helpers/stack.ts, in process). */
export async function startInProcessStack(opts: StackOptions = {}): Promise<InProcessStack> {
  const sim = await startInProcessSimulator();
  const { config, env } = demoWorkspaceConfig(sim.url, opts);
  const gw = await startInProcessGateway(config, env);
  const c = clients(gw.address);
  return {
    sim,
    gw,
    c,
    md: () => bearer(TOKEN),
    appId: demoAppId,
    async stop() {
      c.close();
      await gw.close();
      await sim.close();
    },
  };
}

/**
 * A log line, parsed; a key twice at the top of one line fails the test (JSON.parse keeps the last silently, and
 * some log collectors refuse such lines): a child logger's bound field logged again does that.
 */
function parseLogLine(line: string): Record<string, unknown> {
  const keys = new Set<string>();
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
    else if (c === '"') {
      let end = i + 1;
      while (line[end] !== '"') end += line[end] === "\\" ? 2 : 1;
      const next = line.slice(end + 1).trimStart()[0];
      if (depth === 1 && next === ":") {
        const key = line.slice(i + 1, end);
        if (keys.has(key)) throw new Error(`log line with "${key}" twice: ${line}`);
        keys.add(key);
      }
      i = end;
    }
  }
  return JSON.parse(line) as Record<string, unknown>;
}
