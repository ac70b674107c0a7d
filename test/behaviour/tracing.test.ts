import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, details, unary } from "../helpers/grpc.js";
import { type InProcessStack, startInProcessStack } from "../helpers/in-process.js";
import { eventually } from "../helpers/processes.js";

let s: InProcessStack;
beforeAll(async () => {
  s = await startInProcessStack();
});
afterAll(async () => {
  await s?.stop();
});

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN = "b7ad6b7169203331";

const chatRequest = () => ({ appId: s.appId("chat"), query: "q", inputs: {}, files: [], user: "", conversationId: "" });

function callLogs(traceId: string) {
  return s.gw.logs().filter((l) => l.traceId === traceId && typeof l.grpcCode === "string");
}

describe("trace context", () => {
  it("reaches Dify with the caller's trace id, and every log line of the call carries it", async () => {
    await s.sim.reset();
    const md = s.md();
    md.set("traceparent", `00-${TRACE}-${CALLER_SPAN}-01`);
    await unary(
      s.c.chat.chatInvoke,
      s.c.chat,
      { appId: s.appId("chat"), query: "trace me", inputs: {}, files: [], user: "", conversationId: "" },
      md,
    );
    const [run] = (await s.sim.requests()).filter((r) => r.method === "POST");
    expect(run!.headers["x-trace-id"]).toBe(TRACE);
    const [, traceId, spanId, flags] = run!.headers.traceparent!.split("-");
    expect(traceId).toBe(TRACE);
    expect(spanId).not.toBe(CALLER_SPAN);
    expect(flags).toBe("01");
    const lines = await eventually(async () => {
      const found = callLogs(TRACE);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(lines[0]).toMatchObject({ grpcCode: "OK", workspace: "ws-test", appId: s.appId("chat") });
    // Without OpenTelemetry the gateway's span is the one Dify's traceparent names, and the log lines carry it.
    expect(lines[0]!.spanId).toBe(spanId);
  });

  it("forwards the caller's x-trace-session-id to Dify as X-Trace-Session-Id", async () => {
    await s.sim.reset();
    const md = s.md();
    md.set("x-trace-session-id", "plugin-session-42");
    await unary(s.c.chat.chatInvoke, s.c.chat, chatRequest(), md);
    const [run] = await s.sim.runs();
    expect(run!.headers["x-trace-session-id"]).toBe("plugin-session-42");
  });

  it("refuses a session id Dify would refuse (over 200 characters) with INVALID_ARGUMENT naming it, before calling Dify", async () => {
    await s.sim.reset();
    const md = s.md();
    md.set("x-trace-session-id", "s".repeat(201));
    const err = (await unary(s.c.chat.chatInvoke, s.c.chat, chatRequest(), md).catch((e: ServiceError) => e)) as ServiceError;
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(details(err).badRequest?.fieldViolations[0]?.field).toBe("x-trace-session-id");
    expect(await s.sim.runs()).toHaveLength(0);
    md.set("x-trace-session-id", "s".repeat(200));
    await unary(s.c.chat.chatInvoke, s.c.chat, chatRequest(), md);
    expect(await s.sim.runs()).toHaveLength(1);
  });

  it("starts a trace when the caller sends none, and sends the stop call in it too", async () => {
    await s.sim.reset();
    const call = s.c.chat.chatInvokeStream(
      { appId: s.appId("chat"), query: "q", inputs: { _sim: { events: 100, delay_ms: 20 } }, files: [], user: "", conversationId: "" },
      s.md(),
    );
    const done = collect(call, (_m, all) => all.length === 2 && call.cancel());
    await done;
    const requests = await eventually(async () => {
      const all = await s.sim.requests();
      expect(all.some((r) => r.path.endsWith("/stop"))).toBe(true);
      return all;
    });
    const traceIds = new Set(requests.map((r) => r.headers["x-trace-id"]));
    expect(traceIds.size).toBe(1);
    const [traceId] = [...traceIds];
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    await eventually(async () => expect(callLogs(traceId!)).toHaveLength(1));
  });
});
