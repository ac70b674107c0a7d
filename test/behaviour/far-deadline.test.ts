import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unary } from "../helpers/grpc.js";
import { type InProcessStack, startInProcessStack } from "../helpers/in-process.js";

/*
 * A deadline farther than Node's timers reach (~24.8 days), e.g. a long WatchRun's 30 days: grpc-js armed a timer
 * for it that fired at once, and the call ended with DEADLINE_EXCEEDED before it started.
 */

let stack: InProcessStack;
beforeAll(async () => {
  stack = await startInProcessStack();
});
afterAll(async () => {
  await stack.stop();
});

describe("a deadline 30 days away", () => {
  it("lets the call run to its answer", async () => {
    const deadline = new Date(Date.now() + 30 * 24 * 3_600_000);
    const request = { appId: stack.appId("chat"), query: "hi", inputs: {}, files: [], user: "", conversationId: "" };
    const res = await unary(stack.c.chat.chatInvoke, stack.c.chat, request, stack.md(), { deadline });
    expect(res.answer).not.toBe("");
  });
});
