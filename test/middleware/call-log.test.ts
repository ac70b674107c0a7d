import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { RUN_SUMMARY, type RunSummary } from "../../src/core/run-summary.js";
import { CallAborted } from "../../src/grpc/call-scope.js";
import { GatewayError } from "../../src/grpc/gateway-error.js";
import { GatewayMetrics } from "../../src/metrics/metrics.js";
import { callLog } from "../../src/middleware/call-log.js";
import { upstreamError } from "../../src/translate/errors.js";
import { fakeContext, workspace } from "../core/fakes.js";
import { fakeNext, run, STREAM, UNARY } from "./fake-next.js";

const ws = workspace([], 10, "ws-log");

function summary(over: Partial<RunSummary> = {}): RunSummary {
  const now = performance.now();
  return {
    kind: "chat",
    appId: "app-chat",
    mode: "advanced-chat",
    taskId: "task-7",
    workflowRunId: undefined,
    conversationId: undefined,
    pausedAt: undefined,
    usage: undefined,
    stopCalled: false,
    handedOff: false,
    attempts: 1,
    upstreamStartedAt: now,
    firstEventAt: now + 1,
    ...over,
  };
}

const callLines = (lines: Record<string, unknown>[]) =>
  lines.filter((l) => l.msg === "call finished" || String(l.msg).startsWith("call failed"));

describe("call log middleware", () => {
  it("writes exactly one line for a finished call, with its code, timings and task, and observes the upstream metrics", async () => {
    const metrics = new GatewayMetrics();
    const call = fakeContext(ws, STREAM.path);
    const { next } = fakeNext({ messages: ["m1", "m2"], during: () => call.context.values.set(RUN_SUMMARY, summary()) });
    const out = await run(callLog(metrics), STREAM, next, call.context);
    expect(out.messages).toEqual(["m1", "m2"]);
    const lines = callLines(call.lines);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: "call finished", grpcCode: "OK", taskId: "task-7" });
    expect(lines[0]!.durationMs).toEqual(expect.any(Number));
    expect(lines[0]!.ttfeMs).toEqual(expect.any(Number));
    expect(lines[0]).not.toHaveProperty("stopCalled");
    expect(lines[0]).not.toHaveProperty("reason");
    const observed = (await metrics.upstreamDuration.get()).values.find((v) => v.metricName?.endsWith("_count"));
    expect(observed).toMatchObject({ value: 1, labels: { mode: "advanced-chat", workspace: "ws-log", outcome: "OK" } });
  });

  it("logs a failed call once with the status the caller gets, and rethrows that very error", async () => {
    const call = fakeContext(ws, UNARY.path);
    const failure = upstreamError({ httpStatus: 400, difyCode: "app_unavailable", message: "App unavailable" });
    const { next } = fakeNext({ error: failure, during: () => call.context.values.set(RUN_SUMMARY, summary({ stopCalled: true })) });
    const out = await run(callLog(new GatewayMetrics()), UNARY, next, call.context);
    expect(out.error).toBe(failure);
    const lines = callLines(call.lines);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: "call failed: Dify app_unavailable: App unavailable",
      grpcCode: "FAILED_PRECONDITION",
      reason: "APP_UNAVAILABLE",
      upstreamStatus: "400",
      upstreamCode: "app_unavailable",
      stopCalled: true,
    });
  });

  it("turns a bug into INTERNAL without its text, and logs the bug itself separately", async () => {
    const call = fakeContext(ws, UNARY.path);
    const out = await run(callLog(new GatewayMetrics()), UNARY, fakeNext({ error: new TypeError("secret internals") }).next, call.context);
    expect(out.error).toBeInstanceOf(GatewayError);
    expect(out.error).toMatchObject({ code: status.INTERNAL, message: "internal gateway error", details: { reason: "INTERNAL" } });
    expect(call.lines.filter((l) => l.msg === "unexpected failure while serving a call")).toHaveLength(1);
    expect(callLines(call.lines)).toHaveLength(1);
  });

  it("reports a call the client left with the abort's reason, and counts the cancellation", async () => {
    const metrics = new GatewayMetrics();
    const call = fakeContext(ws, STREAM.path);
    const reason = new CallAborted(status.DEADLINE_EXCEEDED, "deadline exceeded", { reason: "DEADLINE_EXCEEDED" });
    const { next } = fakeNext({ error: new Error("undici: aborted"), during: () => call.leave(reason) });
    const out = await run(callLog(metrics), STREAM, next, call.context);
    expect(out.error).toBe(reason);
    expect(callLines(call.lines)).toMatchObject([{ grpcCode: "DEADLINE_EXCEEDED", reason: "DEADLINE_EXCEEDED" }]);
    const cancellations = (await metrics.cancellations.get()).values;
    expect(cancellations).toMatchObject([{ value: 1, labels: { grpc_method: STREAM.path.slice(1), reason: "DEADLINE_EXCEEDED" } }]);
  });

  it("logs a call its consumer abandoned without an error once, with the abort's status", async () => {
    const call = fakeContext(ws, STREAM.path);
    const gen = callLog(new GatewayMetrics())<unknown, number>(
      { request: {}, method: STREAM, next: fakeNext({ messages: [1, 2, 3] }).next },
      call.context,
    );
    await gen.next();
    call.leave(new CallAborted(status.CANCELLED, "cancelled by the client", { reason: "CANCELLED" }));
    await gen.return(undefined);
    expect(callLines(call.lines)).toMatchObject([{ grpcCode: "CANCELLED", msg: "call failed: cancelled by the client" }]);
  });
});
