import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { DifyStreamError } from "../../src/dify/errors.js";
import type { GatewayError } from "../../src/grpc/gateway-error.js";
import { type RunKind, RunTracker } from "../../src/invoke/termination.js";
import type { DifyEvent } from "../../src/sse/decoder.js";

const ev = (event: string, extra: Record<string, unknown> = {}): DifyEvent => ({ event, task_id: "t", ...extra });

function track(kind: RunKind, events: DifyEvent[]) {
  const tracker = new RunTracker(kind);
  const doneAt: number[] = [];
  events.forEach((e, i) => {
    tracker.observe(e);
    if (tracker.done) doneAt.push(i);
  });
  return { tracker, firstDone: doneAt[0] };
}

describe("RunTracker", () => {
  it("ends chat and completion at message_end", () => {
    expect(track("chat", [ev("message"), ev("message_end")]).firstDone).toBe(1);
    expect(track("completion", [ev("message"), ev("message_end")]).firstDone).toBe(1);
  });

  it("ends a chatflow at message_end: its answer is whole; workflow_finished follows in the stream's tail", () => {
    const { tracker, firstDone } = track("chat", [
      ev("workflow_started"),
      ev("message"),
      ev("message_end"),
      ev("workflow_finished", { data: { status: "succeeded" } }),
    ]);
    expect(firstDone).toBe(2);
    expect(tracker.failure()).toBeUndefined();
  });

  it("a chatflow whose workflow_finished got lost after message_end (dify#31253) is done, not held", () => {
    const { tracker } = track("chat", [ev("workflow_started"), ev("message_end")]);
    expect(tracker.done).toBe(true);
    expect(tracker.failure()).toBeUndefined();
  });

  it("turns a failed chatflow (workflow_finished failed, then error) into INTERNAL WORKFLOW_RUN_FAILED", () => {
    const { tracker, firstDone } = track("chat", [
      ev("workflow_started"),
      ev("workflow_finished", { data: { status: "failed", error: "boom" } }),
      { event: "error", status: 400, code: "invalid_param", message: "Run failed: boom" },
    ]);
    expect(firstDone).toBe(2);
    const failure = tracker.failure() as GatewayError;
    expect(failure.code).toBe(status.INTERNAL);
    expect(failure.details.reason).toBe("WORKFLOW_RUN_FAILED");
    expect(failure.message).toContain("Run failed: boom");
  });

  it("treats failed, stopped and paused workflows as results on the workflow interface", () => {
    for (const s of ["failed", "stopped", "succeeded"]) {
      const { tracker, firstDone } = track("workflow", [ev("workflow_started"), ev("workflow_finished", { data: { status: s } })]);
      expect(firstDone).toBe(1);
      expect(tracker.failure()).toBeUndefined();
    }
    expect(track("workflow", [ev("workflow_paused")]).tracker.failure()).toBeUndefined();
  });

  it("ends any run at an error event, mapped by its code; a missing code maps by status", () => {
    const coded = track("completion", [ev("message"), { event: "error", status: 400, code: "provider_quota_exceeded", message: "quota" }]);
    expect((coded.tracker.failure() as GatewayError).code).toBe(status.FAILED_PRECONDITION);
    const bare = track("workflow", [{ event: "error", status: 500, message: "worker failed" }]);
    expect(bare.firstDone).toBe(0);
    expect((bare.tracker.failure() as GatewayError).code).toBe(status.INTERNAL);
  });

  it("reports a stream that ended without its terminal event as incomplete", () => {
    const failure = track("workflow", [ev("workflow_started")]).tracker.failure();
    expect(failure).toBeInstanceOf(DifyStreamError);
    expect((failure as DifyStreamError).fault).toBe("incomplete");
  });

  it("captures the task id from the first event that has one; error events have none", () => {
    const { tracker } = track("chat", [
      { event: "message", task_id: "first" },
      { event: "message", task_id: "second" },
    ]);
    expect(tracker.taskId).toBe("first");
  });

  it("keeps the usage Dify reported: the split from message_end, only the total from a workflow", () => {
    const usage = { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42, total_price: "0.0001230", currency: "USD" };
    const chat = track("chat", [ev("message"), ev("message_end", { metadata: { usage } })]).tracker;
    expect(chat.usage).toEqual({ inputTokens: 12, outputTokens: 30, totalTokens: 42, totalPrice: "0.0001230", currency: "USD" });
    const chatflow = track("chat", [
      ev("workflow_started", { workflow_run_id: "wr-1" }),
      ev("message_end", { metadata: { usage } }),
      ev("workflow_finished", { workflow_run_id: "wr-1", data: { status: "succeeded", total_tokens: 99 } }),
    ]).tracker;
    expect(chatflow.usage?.outputTokens).toBe(30);
    expect(chatflow.workflowRunId).toBe("wr-1");
    const workflow = track("workflow", [ev("workflow_finished", { data: { status: "succeeded", total_tokens: 7 } })]).tracker;
    expect(workflow.usage).toEqual({
      inputTokens: undefined,
      outputTokens: undefined,
      totalTokens: 7,
      totalPrice: undefined,
      currency: undefined,
    });
  });

  it("drops usage values that are not counts, prices or currency codes", () => {
    const usage = { prompt_tokens: -1, completion_tokens: 1.5, total_tokens: "9", total_price: "1e9", currency: "usd<script>" };
    const { tracker } = track("completion", [ev("message_end", { metadata: { usage } })]);
    expect(tracker.usage).toEqual({
      inputTokens: undefined,
      outputTokens: undefined,
      totalTokens: undefined,
      totalPrice: undefined,
      currency: undefined,
    });
  });

  it("keeps a currency only from a closed set, a metric label: ISO 4217, and the RMB Dify's Chinese prices use", () => {
    const currency = (c: string) =>
      track("completion", [ev("message_end", { metadata: { usage: { total_price: "0.1", currency: c } } })]).tracker.usage?.currency;
    expect([currency("USD"), currency("EUR"), currency("RMB")]).toEqual(["USD", "EUR", "RMB"]);
    expect([currency("ABC"), currency("XYZ"), currency("usd")]).toEqual([undefined, undefined, undefined]);
  });
});
