import type { ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, unary } from "../helpers/grpc.js";
import { type InProcessStack, startInProcessStack, TOKEN } from "../helpers/in-process.js";

/*
 * The gateway never sends the caller's bearer token to Dify, but a plugin may put it into its inputs, and Dify
 * echoes request details in its error messages: the token must then reach neither the log nor the status.
 */

let stack: InProcessStack;
beforeAll(async () => {
  stack = await startInProcessStack();
});
afterAll(async () => {
  await stack.stop();
});

const request = (sim: Record<string, unknown>) => ({ appId: stack.appId("completion"), inputs: { _sim: sim }, files: [], user: "" });

describe("the caller's token echoed by Dify", () => {
  it("is redacted from an HTTP error's message, in the status and the log", async () => {
    const err = await unary(
      stack.c.completion.completionInvoke,
      stack.c.completion,
      request({ fault: "http_error", status: 400, code: "invalid_param", message: `bad input ${TOKEN}` }),
      stack.md(),
    ).then(
      () => expect.fail("expected a failure"),
      (e: ServiceError) => e,
    );
    expect(err.details).toBe("Dify invalid_param: bad input [redacted]");
    expect(stack.gw.output()).not.toContain(TOKEN);
  });

  it("is redacted from a stream's error event, in the event, the status and the log", async () => {
    const { messages, error } = await collect(
      stack.c.completion.completionInvokeStream(request({ fault: "error_event", after: 1, message: `worker saw ${TOKEN}` }), stack.md()),
    );
    expect(error?.details).toContain("worker saw [redacted]");
    expect(JSON.stringify(messages)).not.toContain(TOKEN);
    expect(stack.gw.output()).not.toContain(TOKEN);
  });
});
