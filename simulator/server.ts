import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { DEMO_APPS } from "./apps.js";
import { appIdOf } from "./auth.js";
import type { Call, SimulatorContext } from "./context.js";
import { ConversationStore } from "./conversations.js";
import { ApiError, errors } from "./errors.js";
import { readBody, sendError, signalOnClose } from "./http-io.js";
import { expireForm } from "./human-input.js";
import { RequestRecorder } from "./recorder.js";
import { CONTROL_PATH, dispatch, handleControl, streamsItsBody } from "./routes.js";
import { TaskRegistry } from "./tasks.js";
import type { Simulator, SimulatorOptions } from "./types.js";
import { WorkflowRunStore } from "./workflow-runs.js";

const DEFAULT_PING_INTERVAL_MS = 10_000;

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const host = options.host ?? "127.0.0.1";
  const apps = options.apps ?? DEMO_APPS;
  const closed = new AbortController();
  const ctx: SimulatorContext = {
    appsByKey: new Map(apps.map((app) => [app.key, app])),
    tokenDelayMs: options.tokenDelayMs ?? 0,
    pingIntervalMs: options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
    connectionClose: options.connectionClose ?? false,
    conversations: new ConversationStore(),
    tasks: new TaskRegistry(),
    recorder: new RequestRecorder(),
    faultCounts: new Map(),
    uploads: new Map(),
    // The closure runs only once a form expires, by when `ctx` exists.
    workflowRuns: new WorkflowRunStore((form) => void expireForm(form, ctx)),
    closing: closed.signal,
  };

  const server = createServer((req, res) => void handleRequest(req, res, ctx));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/v1`,
    port,
    requests: () => ctx.recorder.list(),
    reset: () => ctx.recorder.reset(),
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        closed.abort();
        server.close(() => resolve());
        // Open streams (silent, pings_only, slow runs) would otherwise keep close() waiting forever.
        server.closeAllConnections();
      })),
  };
}

async function handleRequest(req: IncomingMessage, res: ServerResponse, ctx: SimulatorContext): Promise<void> {
  const signal = signalOnClose(res);
  try {
    const url = new URL(req.url ?? "/", "http://simulator.invalid");
    // An upload is parsed as it arrives by its handler, never held whole.
    const rawBody = streamsItsBody(req.method, url.pathname) ? Buffer.alloc(0) : await readBody(req);
    const call: Omit<Call, "params"> = { req, res, url, rawBody, signal };
    if (url.pathname === CONTROL_PATH) {
      handleControl(call, ctx);
      return;
    }
    call.recorded = ctx.recorder.record({
      method: req.method ?? "GET",
      url,
      appId: appIdOf(req.headers.authorization, ctx.appsByKey),
      headers: req.headers,
      rawBody,
    });
    await dispatch(call, ctx);
  } catch (error) {
    if (!(error instanceof ApiError) && !signal.aborted) console.error("dify simulator: unexpected error", error);
    // Once a stream has started, an error can only be reported by breaking the connection.
    if (res.headersSent) res.destroy();
    else sendError(res, error instanceof ApiError ? error : errors.internal());
  }
}
