import { pino } from "pino";
import { MockAgent } from "undici";
import type { AppEntry, Workspace } from "../../src/config/config.js";
import type { AppMode } from "../../src/config/schema.js";
import { Secret } from "../../src/config/secret.js";
import { type CallContext, createContextValues } from "../../src/core/context.js";
import type { GatewayError } from "../../src/grpc/gateway-error.js";

export const DIFY_ORIGIN = "http://dify.test";
export const APP_KEY = "app-key-must-never-leak-7c1f";

export function app(appId: string, mode: AppMode | undefined): AppEntry {
  return { appId, key: new Secret(APP_KEY), keySource: "test", mode };
}

export function workspace(apps: AppEntry[], maxConcurrentCalls = 10, id = "ws-unit"): Workspace {
  return {
    id,
    difyBaseUrl: `${DIFY_ORIGIN}/v1`,
    defaultUser: "ws-default-user",
    tokens: [],
    spiffeIds: [],
    maxConcurrentCalls,
    requestsPerMinute: undefined,
    requestsPerMinutePerToken: undefined,
    tokensPerDay: undefined,
    apps: new Map(apps.map((a) => [a.appId, a])),
  };
}

/** A per-call context as the adapter builds it, with a controllable signal and log lines in memory. */
export function fakeContext(ws: Workspace | undefined, method = "/dify.app.v1.WorkflowService/WorkflowInvoke") {
  const controller = new AbortController();
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  let left = false;
  const terminated: GatewayError[] = [];
  const context: CallContext = {
    signal: controller.signal,
    workspace: ws,
    token: undefined,
    deadline: undefined,
    caller: undefined,
    bearer: undefined,
    trace: {
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      parentSpanId: undefined,
      sampled: false,
      traceState: undefined,
      sessionId: undefined,
    },
    log,
    method,
    startedAt: performance.now(),
    values: createContextValues(),
    terminate: (reason) => {
      terminated.push(reason);
      controller.abort(reason);
    },
    clientLeft: () => left,
    // Delivered as soon as the handler is done: no transport in between.
    onClosed: (cb) => cb(),
  };
  return {
    context,
    lines,
    terminated,
    /** The client leaves (cancel or deadline): the signal aborts with `reason`. */
    leave(reason: GatewayError) {
      left = true;
      controller.abort(reason);
    },
  };
}

export function mockDify(): MockAgent {
  const agent = new MockAgent();
  agent.disableNetConnect();
  return agent;
}

export function sse(...events: Record<string, unknown>[]): string {
  return events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join("");
}
