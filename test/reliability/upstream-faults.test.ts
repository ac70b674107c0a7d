/**
 * Upstream fault injection: every way Dify is documented to fail (docs/dify-upstream.md, "Errors"), driven
 * through the simulator's `_sim` directives against one real gateway process. For each scenario and shape:
 * the exact status and details, a bound on how long the call may take, the process still healthy afterwards,
 * exactly one outcome log line for the call, and a stop call exactly when the run was left unfinished.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_APPS } from "../../simulator/index.js";
import { details, healthCheck } from "../helpers/grpc.js";
import { eventually } from "../helpers/processes.js";
import {
  type CallResult,
  type CallSpec,
  CLIENT_SIDE,
  DOWN_TOKEN,
  type FaultStack,
  invokeStream,
  invokeUnary,
  newTraceId,
  startFaultStack,
  stopsIn,
  tracedMetadata,
} from "./fault-stack.js";

const IDLE_TIMEOUT_MS = 1_500;
const MAX_EVENT_BYTES = 64 * 1024;

let s: FaultStack;
beforeAll(async () => {
  s = await startFaultStack({ idleTimeoutMs: IDLE_TIMEOUT_MS, maxEventBytes: MAX_EVENT_BYTES, stopTimeoutMs: 2_000 });
});
afterAll(async () => {
  await s?.stop();
});

type Shape = "unary" | "stream";

interface Expected {
  code: status;
  /** What the status message must say (server-side statuses only; CANCELLED and DEADLINE_EXCEEDED are the client's). */
  message?: RegExp;
  /** The exact ErrorInfo; every server-side error has one. */
  errorInfo?: { reason: string; domain: string; metadata: Record<string, string> };
  /** RetryInfo's delay in seconds, or absent. */
  retrySeconds?: number;
  quotaFailure?: boolean;
  /** Whether the gateway must call Dify's stop endpoint for this run. */
  stop: boolean;
  /** The stop endpoint fails: the log then has a warn line about it instead of the info line. */
  stopFails?: boolean;
  /** Dify accepted the run but no event ever named it: the gateway reads on for stopTimeoutMs, then warns. */
  unnamedRun?: boolean;
  /** Upper bound of the call's duration. */
  withinMs: number;
  /** Lower bound, where the scenario is about waiting (idle timeout, slow upstream). */
  atLeastMs?: number;
  /** Extra checks of what was answered: the unary response, or the stream's event names. */
  unaryResult?: (response: Record<string, unknown>) => void;
  streamEvents?: (events: string[]) => void;
}

interface Scenario {
  name: string;
  call: CallSpec;
  shapes: Shape[];
  expected: Expected;
  /** Per shape, when the two differ. */
  stream?: Partial<Expected> & { call?: Partial<CallSpec> };
}

const sim = (directives: Record<string, unknown>) => ({ _sim: directives });
const dify = (httpStatus: number, code: string) => ({ upstreamStatus: String(httpStatus), upstreamCode: code });
const BOTH: Shape[] = ["unary", "stream"];
const LONG_RUN = { events: 200, delay_ms: 25 };

const SCENARIOS: Scenario[] = [
  {
    name: "connection reset before the response",
    call: { iface: "completion", inputs: sim({ fault: "reset", after: -1 }) },
    shapes: BOTH,
    expected: {
      code: status.UNAVAILABLE,
      message: /^Dify is unreachable: /,
      errorInfo: { reason: "UPSTREAM_UNAVAILABLE", domain: "dify", metadata: {} },
      stop: false,
      withinMs: 5_000,
    },
  },
  {
    name: "connection reset mid-stream",
    call: { iface: "chat", inputs: sim({ fault: "reset", after: 2 }) },
    shapes: BOTH,
    expected: {
      code: status.UNAVAILABLE,
      message: /connection to Dify broke before the run's terminal event/,
      errorInfo: { reason: "UPSTREAM_STREAM_INCOMPLETE", domain: "dify", metadata: {} },
      stop: true,
      withinMs: 5_000,
      streamEvents: (events) => expect(events).toEqual(["message", "message"]),
    },
  },
  {
    name: "HTTP 500 before the stream",
    call: { iface: "completion", inputs: sim({ fault: "http_error", status: 500, message: "simulated outage" }) },
    shapes: BOTH,
    expected: {
      code: status.INTERNAL,
      message: /^Dify internal_server_error: simulated outage$/,
      errorInfo: { reason: "INTERNAL_SERVER_ERROR", domain: "dify", metadata: dify(500, "internal_server_error") },
      stop: false,
      withinMs: 3_000,
    },
  },
  ...[502, 503].map(
    (httpStatus): Scenario => ({
      name: `HTTP ${httpStatus} (a proxy's page) before the stream`,
      call: { iface: "workflow", inputs: sim({ fault: "http_error", status: httpStatus, body_text: "<html>upstream down</html>" }) },
      shapes: BOTH,
      expected: {
        code: status.UNAVAILABLE,
        message: new RegExp(`^Dify HTTP ${httpStatus}: Dify answered HTTP ${httpStatus}$`),
        errorInfo: { reason: `HTTP_${httpStatus}`, domain: "dify", metadata: dify(httpStatus, "") },
        stop: false,
        withinMs: 3_000,
      },
    }),
  ),
  {
    name: "429 too_many_requests (Dify's concurrency limit) with Retry-After",
    call: {
      iface: "chat",
      inputs: sim({
        fault: "http_error",
        status: 429,
        code: "too_many_requests",
        message: "Too many requests.",
        headers: { "Retry-After": "7" },
      }),
    },
    shapes: BOTH,
    expected: {
      code: status.RESOURCE_EXHAUSTED,
      message: /^Dify too_many_requests: Too many requests\.$/,
      errorInfo: { reason: "TOO_MANY_REQUESTS", domain: "dify", metadata: dify(429, "too_many_requests") },
      retrySeconds: 7,
      stop: false,
      withinMs: 3_000,
    },
  },
  {
    name: "429 too_many_requests without Retry-After",
    call: { iface: "completion", inputs: sim({ fault: "http_error", status: 429, code: "too_many_requests", message: "busy" }) },
    shapes: ["unary"],
    expected: {
      code: status.RESOURCE_EXHAUSTED,
      message: /busy/,
      errorInfo: { reason: "TOO_MANY_REQUESTS", domain: "dify", metadata: dify(429, "too_many_requests") },
      retrySeconds: 1,
      stop: false,
      withinMs: 3_000,
    },
  },
  {
    name: "429 rate_limit_error (plan quota)",
    call: { iface: "workflow", inputs: sim({ fault: "http_error", status: 429, code: "rate_limit_error", message: "quota used up" }) },
    shapes: BOTH,
    expected: {
      code: status.RESOURCE_EXHAUSTED,
      message: /^Dify rate_limit_error: quota used up$/,
      errorInfo: { reason: "RATE_LIMIT_ERROR", domain: "dify", metadata: dify(429, "rate_limit_error") },
      quotaFailure: true,
      stop: false,
      withinMs: 3_000,
    },
  },
  {
    name: "an error event with no code and no task_id (a dead worker), the socket then held open",
    call: { iface: "workflow", inputs: sim({ fault: "error_event", after: 1, status: 500, message: "worker died", hold_ms: 20_000 }) },
    shapes: BOTH,
    expected: {
      code: status.INTERNAL,
      message: /^Dify HTTP 500: worker died$/,
      errorInfo: { reason: "HTTP_500", domain: "dify", metadata: dify(500, "") },
      // The error event is the run's terminal event: nothing is left running to stop.
      stop: false,
      withinMs: 5_000,
      streamEvents: (events) => expect(events.at(-1)).toBe("error"),
    },
  },
  {
    name: "pings only, then nothing, until the idle timeout",
    call: { iface: "completion", inputs: sim({ fault: "pings_only", ping_every_ms: 300, pings: 3 }) },
    shapes: BOTH,
    expected: {
      code: status.UNAVAILABLE,
      message: new RegExp(`^Dify sent nothing for ${IDLE_TIMEOUT_MS} ms$`),
      errorInfo: { reason: "UPSTREAM_IDLE_TIMEOUT", domain: "dify", metadata: {} },
      // No event, so no task_id: the gateway reads on for stopTimeoutMs, finds none, and says so.
      stop: false,
      unnamedRun: true,
      // 3 pings 300 ms apart kept it alive, then 1.5 s of silence.
      atLeastMs: 900 + IDLE_TIMEOUT_MS - 100,
      withinMs: 900 + IDLE_TIMEOUT_MS + 3_000,
      streamEvents: (events) => expect(events).toEqual([]),
    },
  },
  {
    name: "silence mid-stream until the idle timeout",
    call: { iface: "chat", inputs: sim({ fault: "silent", after: 2 }) },
    shapes: BOTH,
    expected: {
      code: status.UNAVAILABLE,
      message: /sent nothing for/,
      errorInfo: { reason: "UPSTREAM_IDLE_TIMEOUT", domain: "dify", metadata: {} },
      stop: true,
      atLeastMs: IDLE_TIMEOUT_MS - 100,
      withinMs: IDLE_TIMEOUT_MS + 3_000,
      streamEvents: (events) => expect(events).toEqual(["message", "message"]),
    },
  },
  {
    name: "a stream that ends without its terminal event",
    call: { iface: "completion", inputs: sim({ fault: "no_terminal", after: 3 }) },
    shapes: BOTH,
    expected: {
      code: status.UNAVAILABLE,
      message: /^Dify closed the stream before the run's terminal event$/,
      errorInfo: { reason: "UPSTREAM_STREAM_INCOMPLETE", domain: "dify", metadata: {} },
      stop: true,
      withinMs: 3_000,
      streamEvents: (events) => expect(events).toEqual(["message", "message", "message"]),
    },
  },
  {
    name: "a chat stream whose message_end was dropped",
    call: { iface: "chat", inputs: sim({ fault: "drop_message_end" }) },
    shapes: BOTH,
    expected: {
      code: status.UNAVAILABLE,
      message: /^Dify closed the stream before the run's terminal event$/,
      errorInfo: { reason: "UPSTREAM_STREAM_INCOMPLETE", domain: "dify", metadata: {} },
      stop: true,
      withinMs: 3_000,
      streamEvents: (events) => expect(events.length > 0 && events.every((e) => e === "message")).toBe(true),
    },
  },
  {
    name: "malformed SSE: a data line that is not JSON",
    call: { iface: "completion", inputs: sim({ fault: "malformed_json", after: 1 }) },
    shapes: BOTH,
    expected: {
      code: status.INTERNAL,
      message: /^Dify sent a data line that is not JSON: \{not json$/,
      errorInfo: { reason: "UPSTREAM_MALFORMED_STREAM", domain: "dify", metadata: {} },
      stop: true,
      withinMs: 3_000,
      streamEvents: (events) => expect(events).toEqual(["message"]),
    },
  },
  {
    name: "malformed SSE: an event line without the data: prefix",
    call: { iface: "chat", inputs: sim({ fault: "no_data_prefix", after: 1 }) },
    shapes: BOTH,
    expected: {
      code: status.INTERNAL,
      message: /^malformed SSE line from Dify: \{"event":"message"/,
      errorInfo: { reason: "UPSTREAM_MALFORMED_STREAM", domain: "dify", metadata: {} },
      stop: true,
      withinMs: 3_000,
      streamEvents: (events) => expect(events).toEqual(["message"]),
    },
  },
  {
    name: "one event larger than upstream.maxEventBytes",
    call: { iface: "workflow", inputs: sim({ fault: "big_event", bytes: 2 * MAX_EVENT_BYTES }) },
    shapes: BOTH,
    expected: {
      code: status.RESOURCE_EXHAUSTED,
      message: new RegExp(`^an upstream event exceeds ${MAX_EVENT_BYTES} bytes$`),
      errorInfo: { reason: "UPSTREAM_EVENT_TOO_LARGE", domain: "dify", metadata: {} },
      // workflow_started carried the task_id before the oversized delta: the run is stopped.
      stop: true,
      withinMs: 3_000,
      streamEvents: (events) => expect(events).not.toContain("text_chunk"),
    },
  },
  {
    name: "a slow upstream within the deadline",
    call: { iface: "completion", inputs: sim({ events: 8, delay_ms: 150 }), deadlineMs: 10_000 },
    shapes: BOTH,
    expected: {
      code: status.OK,
      stop: false,
      atLeastMs: 8 * 150 - 50,
      withinMs: 8 * 150 + 3_000,
      unaryResult: (r) => expect(r.answer).toBe("w1 w2 w3 w4 w5 w6 w7 w8"),
      streamEvents: (events) => expect(events).toEqual([...Array<string>(8).fill("message"), "message_end"]),
    },
  },
  {
    name: "a slow upstream past a short client deadline",
    call: { iface: "chat", inputs: sim(LONG_RUN), deadlineMs: 700 },
    shapes: BOTH,
    expected: { code: status.DEADLINE_EXCEEDED, stop: true, atLeastMs: 650, withinMs: 700 + 1_000 },
  },
  {
    name: "connection refused",
    call: { iface: "completion", token: DOWN_TOKEN, inputs: {} },
    shapes: BOTH,
    expected: {
      code: status.UNAVAILABLE,
      message: /^Dify is unreachable: ECONNREFUSED$/,
      errorInfo: { reason: "UPSTREAM_UNAVAILABLE", domain: "dify", metadata: {} },
      stop: false,
      withinMs: 3_000,
    },
  },
  {
    name: "a failing stop endpoint, after a client cancel",
    call: { iface: "workflow", inputs: sim({ ...LONG_RUN, fault: "stop_fails" }), cancelAfter: 3 },
    shapes: ["stream"],
    expected: { code: status.CANCELLED, stop: true, stopFails: true, withinMs: 3_000 },
  },
  {
    name: "a failing stop endpoint, after a deadline",
    call: { iface: "chat", inputs: sim({ ...LONG_RUN, fault: "stop_fails" }), deadlineMs: 600 },
    shapes: ["unary"],
    expected: { code: status.DEADLINE_EXCEEDED, stop: true, stopFails: true, withinMs: 600 + 1_000 },
  },
  ...(["failed", "stopped", "paused"] as const).map(
    (runStatus): Scenario => ({
      name: `a workflow ending ${runStatus} (a result, as in Dify's blocking mode)`,
      call: { iface: "workflow", inputs: sim({ fault: `workflow_${runStatus}`, after: 2 }) },
      shapes: BOTH,
      expected: {
        code: status.OK,
        // The run ended on Dify's side (paused waits for a human): nothing to stop.
        stop: false,
        withinMs: 3_000,
        unaryResult: (r) => expect((r.data as { status?: string }).status).toBe(runStatus),
        streamEvents: (events) => expect(events.at(-1)).toBe(runStatus === "paused" ? "workflow_paused" : "workflow_finished"),
      },
    }),
  ),
];

/** Log lines of one call: every line the gateway wrote in its trace. */
function linesOf(traceId: string) {
  return s.gw.proc.json().filter((l) => l.traceId === traceId);
}

const OUTCOME = /^call (finished|failed)/;
const STOPPED = "stopped the unfinished run on Dify";
const STOP_FAILED = "could not stop the unfinished run on Dify";
const UNNAMED_RUN = "the caller left a run Dify may have started, and no event named it: it could not be stopped";

async function expectOneOutcomeLine(traceId: string, e: Expected, code: status): Promise<void> {
  // The outcome line is written when the call settles; the stop line when Dify answers the stop call.
  const expectedMessages = [OUTCOME.source, ...(e.stop ? [e.stopFails ? STOP_FAILED : STOPPED] : [])];
  const lines = await eventually(async () => {
    const found = linesOf(traceId);
    expect(found).toHaveLength(expectedMessages.length);
    return found;
  });
  // A moment for a line that should not exist (a duplicate, a late warn) to show up.
  await new Promise((r) => setTimeout(r, 150));
  expect(linesOf(traceId)).toHaveLength(expectedMessages.length);
  const outcome = lines.filter((l) => OUTCOME.test(String(l.msg)));
  expect(outcome).toHaveLength(1);
  expect(outcome[0]).toMatchObject({
    level: 30,
    grpcCode: status[code],
    workspace: expect.any(String),
    appId: expect.any(String),
    durationMs: expect.any(Number),
  });
  if (e.errorInfo) expect(outcome[0]).toMatchObject({ reason: e.errorInfo.reason });
  expect(outcome[0]!.stopCalled).toBe(e.stop ? true : undefined);
  const others = lines.filter((l) => !OUTCOME.test(String(l.msg)));
  if (!e.stop) expect(others).toEqual([]);
  else if (e.stopFails) expect(others).toEqual([expect.objectContaining({ level: 40, msg: STOP_FAILED, taskId: outcome[0]!.taskId })]);
  else expect(others).toEqual([expect.objectContaining({ level: 30, msg: STOPPED, taskId: outcome[0]!.taskId })]);
}

const STOP_PATH: Record<CallSpec["iface"], string> = {
  chat: "/v1/chat-messages/",
  completion: "/v1/completion-messages/",
  workflow: "/v1/workflows/tasks/",
};

async function expectStopCalls(traceId: string, e: Expected, iface: CallSpec["iface"], result: CallResult): Promise<void> {
  if (e.stop) {
    const stops = await eventually(async () => {
      const found = stopsIn(await s.sim.requests(), traceId);
      expect(found).toHaveLength(1);
      return found;
    });
    const taskId = linesOf(traceId).find((l) => OUTCOME.test(String(l.msg)))?.taskId;
    expect(taskId).toEqual(expect.any(String));
    // On streams the caller saw the task too: the one stopped is the one it saw.
    const seen = result.messages.find((m) => typeof m.raw?.task_id === "string")?.raw?.task_id;
    if (seen !== undefined) expect(taskId).toBe(seen);
    expect(stops[0]!.path).toBe(`${STOP_PATH[iface]}${String(taskId)}/stop`);
    expect(stops[0]!.body).toEqual({ user: "fault-user" });
  }
  // Checked after the log lines settled, so a stop call that should not exist had its chance to arrive.
  expect(stopsIn(await s.sim.requests(), traceId)).toHaveLength(e.stop ? 1 : 0);
}

async function expectHealthy(): Promise<void> {
  expect(s.gw.proc.child.exitCode).toBeNull();
  expect(await healthCheck(s.gw.address)).toBe("SERVING");
  const ok = await invokeUnary(s.c, { iface: "completion", inputs: {} }, tracedMetadata(newTraceId()));
  expect(ok.error).toBeUndefined();
}

function expectStatus(result: CallResult, e: Expected): void {
  if (e.code === status.OK) {
    expect(result.error).toBeUndefined();
    return;
  }
  const err = result.error;
  expect(err?.code).toBe(e.code);
  if (CLIENT_SIDE.has(e.code)) return;
  expect(err!.details).toMatch(e.message!);
  const d = details(err!);
  expect(d.status?.code).toBe(e.code);
  expect(d.errorInfo).toEqual(e.errorInfo);
  expect(d.retryInfo === undefined ? undefined : Number(d.retryInfo.retryDelay?.seconds ?? 0)).toBe(e.retrySeconds);
  expect(d.quotaFailure !== undefined).toBe(e.quotaFailure ?? false);
  const secrets = DEMO_APPS.map((a) => a.key);
  for (const secret of secrets) expect(`${err!.details} ${JSON.stringify(d)}`).not.toContain(secret);
}

describe("upstream faults: status, bound, health, one log line, stop call", () => {
  const cases = SCENARIOS.flatMap((sc) => sc.shapes.map((shape) => ({ sc, shape })));
  it.each(cases.map(({ sc, shape }) => [`${sc.name} (${shape})`, sc, shape] as const))("%s", async (_name, sc, shape) => {
    const expected: Expected = shape === "stream" ? { ...sc.expected, ...sc.stream } : sc.expected;
    const spec: CallSpec = shape === "stream" ? { ...sc.call, ...sc.stream?.call } : { ...sc.call, cancelAfter: undefined };
    const traceId = newTraceId();
    const md = tracedMetadata(traceId, spec.token);
    const result = shape === "unary" ? await invokeUnary(s.c, spec, md) : await invokeStream(s.c, spec, md);

    expectStatus(result, expected);
    expect(result.elapsedMs).toBeLessThan(expected.withinMs);
    if (expected.atLeastMs !== undefined) expect(result.elapsedMs).toBeGreaterThanOrEqual(expected.atLeastMs);
    if (shape === "unary" && expected.unaryResult) expected.unaryResult(result.response as Record<string, unknown>);
    if (shape === "stream" && expected.streamEvents) expected.streamEvents(result.messages.map((m) => m.event));

    await expectOneOutcomeLine(traceId, expected, expected.code);
    await expectStopCalls(traceId, expected, spec.iface, result);
    await expectHealthy();
  });
});

it("over the whole suite, the only warn or error lines are the failed stop calls and the runs no event named, one per such scenario", async () => {
  const count = (pick: (e: Expected) => boolean | undefined) =>
    SCENARIOS.filter((sc) => pick(sc.expected)).reduce((n, sc) => n + sc.shapes.length, 0);
  // Start-up's Dify check warns once per app of ws-down, whose Dify refuses connections.
  const DOWN = "Dify check: cannot reach Dify (ws-down)";
  const expected = [
    ...Array<string>(count((e) => e.stopFails)).fill(STOP_FAILED),
    ...Array<string>(count((e) => e.unnamedRun)).fill(UNNAMED_RUN),
    ...Array<string>(DEMO_APPS.length).fill(DOWN),
  ].sort();
  // The unnamed-run lines come stopTimeoutMs after their call.
  await eventually(async () => {
    const loud = s.gw.proc.json().filter((l) => typeof l.level === "number" && l.level >= 40);
    const msg = (l: Record<string, unknown>) =>
      l.workspace === "ws-down" && String(l.msg).startsWith("Dify check: cannot reach Dify at ") ? DOWN : String(l.msg);
    expect(loud.map(msg).sort()).toEqual(expected);
  }, 5_000);
});
