import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { type Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { type AppMode, DEMO_APPS, type RecordedRequest } from "../../simulator/index.js";
import { sha256 } from "../../src/auth/registry.js";
import { bearer, clients, collect, unary } from "../helpers/grpc.js";
import { type GatewayProcess, type SimulatorProcess, startGatewayProcess, startSimulatorProcess } from "../helpers/processes.js";

export const TOKEN = "faults-token-7c2e";
/** A workspace whose Dify is a port nobody listens on. */
export const DOWN_TOKEN = "faults-down-token-51a0";

export type Iface = "chat" | "completion" | "workflow";

export interface FaultStack {
  sim: SimulatorProcess;
  gw: GatewayProcess;
  c: ReturnType<typeof clients>;
  stop(): Promise<void>;
}

/** A port that was free a moment ago and has no listener: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One simulator process, one gateway process with the demo apps, and a second workspace whose upstream refuses connections. */
export async function startFaultStack(upstream: Record<string, unknown>, gatewayEnv: NodeJS.ProcessEnv = {}): Promise<FaultStack> {
  const sim = await startSimulatorProcess();
  const env: NodeJS.ProcessEnv = { ...gatewayEnv };
  const apps = DEMO_APPS.map((a, i) => {
    env[`FAULT_APP_KEY_${i}`] = a.key;
    return { appId: a.appId, key: { env: `FAULT_APP_KEY_${i}` } };
  });
  const gw = await startGatewayProcess(
    {
      server: { listen: "127.0.0.1:0" },
      upstream,
      log: { level: "info" },
      workspaces: [
        { id: "ws-faults", difyBaseUrl: sim.url, tokens: [{ sha256: sha256(TOKEN).toString("hex") }], apps },
        {
          id: "ws-down",
          difyBaseUrl: `http://127.0.0.1:${await closedPort()}/v1`,
          tokens: [{ sha256: sha256(DOWN_TOKEN).toString("hex") }],
          apps,
        },
      ],
    },
    env,
  );
  const c = clients(gw.address);
  return {
    sim,
    gw,
    c,
    async stop() {
      c.close();
      await gw.proc.stop();
      await sim.proc.stop();
    },
  };
}

export function appIdOf(mode: AppMode): string {
  const app = DEMO_APPS.find((a) => a.mode === mode);
  if (!app) throw new Error(`no demo app of mode ${mode}`);
  return app.appId;
}

/** A fresh W3C trace id: the handle that ties a call to its log lines and its requests on the simulator. */
export function newTraceId(): string {
  return randomBytes(16).toString("hex");
}

export function tracedMetadata(traceId: string, token = TOKEN): Metadata {
  const md = bearer(token);
  md.set("traceparent", `00-${traceId}-${randomBytes(8).toString("hex")}-01`);
  return md;
}

export interface CallSpec {
  iface: Iface;
  mode?: AppMode;
  inputs: Record<string, unknown>;
  user?: string;
  token?: string;
  deadlineMs?: number;
  /** Streams only: cancel once this many messages arrived. */
  cancelAfter?: number;
}

export interface CallResult {
  error: ServiceError | undefined;
  /** The unary response, or the stream's messages. */
  response: unknown;
  messages: { event: string; raw?: Record<string, unknown> }[];
  elapsedMs: number;
}

function requestFor(spec: CallSpec) {
  const base = { appId: appIdOf(spec.mode ?? spec.iface), inputs: spec.inputs, files: [], user: spec.user ?? "fault-user" };
  return spec.iface === "chat" ? { ...base, query: "q", conversationId: "" } : base;
}

export async function invokeUnary(c: FaultStack["c"], spec: CallSpec, md: Metadata): Promise<CallResult> {
  const options = spec.deadlineMs === undefined ? {} : { deadline: Date.now() + spec.deadlineMs };
  const started = Date.now();
  const client = c[spec.iface] as unknown as Record<string, unknown>;
  const method = client[`${spec.iface}Invoke`] as Parameters<typeof unary>[0];
  try {
    const response = await unary(method, client, requestFor(spec), md, options);
    return { error: undefined, response, messages: [], elapsedMs: Date.now() - started };
  } catch (err) {
    return { error: err as ServiceError, response: undefined, messages: [], elapsedMs: Date.now() - started };
  }
}

export async function invokeStream(c: FaultStack["c"], spec: CallSpec, md: Metadata): Promise<CallResult> {
  const options = spec.deadlineMs === undefined ? {} : { deadline: Date.now() + spec.deadlineMs };
  const started = Date.now();
  const client = c[spec.iface] as unknown as Record<string, (req: unknown, md: Metadata, options: object) => Parameters<typeof collect>[0]>;
  const call = client[`${spec.iface}InvokeStream`]!.call(client, requestFor(spec), md, options);
  const { messages, error } = await collect(call, (_m, all) => {
    if (spec.cancelAfter !== undefined && all.length === spec.cancelAfter) call.cancel();
  });
  return { error, response: messages, messages: messages as CallResult["messages"], elapsedMs: Date.now() - started };
}

/** The simulator's stop requests sent within one trace. */
export function stopsIn(requests: RecordedRequest[], traceId: string): RecordedRequest[] {
  return requests.filter((r) => r.path.endsWith("/stop") && r.headers["x-trace-id"] === traceId);
}

export const CLIENT_SIDE = new Set([status.CANCELLED, status.DEADLINE_EXCEEDED]);
