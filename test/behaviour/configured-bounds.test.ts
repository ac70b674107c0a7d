import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { details, unary } from "../helpers/grpc.js";
import { type InProcessStack, startInProcessStack } from "../helpers/in-process.js";

/*
 * The request and response bounds an operator sets (limits.maxInputsBytes, limits.maxInputsKeys,
 * server.maxSendMessageBytes) are the ones calls get; their defaults are tested in test/e2e/inputs-flood
 * and test/e2e/hostile-upstream.
 */

let s: InProcessStack;
beforeAll(async () => {
  s = await startInProcessStack({ limits: { maxInputsKeys: 5, maxInputsBytes: 1_500 }, server: { maxSendMessageBytes: 2_000 } });
});
afterAll(async () => {
  await s?.stop();
});

const call = (inputs: Record<string, unknown>) =>
  unary(s.c.completion.completionInvoke, s.c.completion, { appId: s.appId("completion"), inputs, files: [], user: "eve" }, s.md());
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (err: ServiceError) => err,
  );

describe("configured bounds", () => {
  it("limits.maxInputsKeys: six keys against a limit of five are INVALID_ARGUMENT naming inputs, nothing sent to Dify", async () => {
    const before = (await s.sim.requests()).length;
    const err = await failure(call({ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/inputs.*at most 5 keys/);
    expect(details(err).badRequest?.fieldViolations[0]?.field).toBe("inputs");
    expect((await s.sim.requests()).length).toBe(before);
  });

  it("limits.maxInputsBytes: an inputs over 1,500 bytes encoded is INVALID_ARGUMENT naming inputs", async () => {
    const err = await failure(call({ query: "x".repeat(1_600) }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/inputs.*at most 1500 bytes/);
  });

  it("server.maxSendMessageBytes: an answer whose response would exceed it is RESOURCE_EXHAUSTED RESPONSE_TOO_LARGE", async () => {
    const err = await failure(call({ query: "y".repeat(1_400) }));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(details(err).errorInfo?.reason).toBe("RESPONSE_TOO_LARGE");
    expect(details(err).errorInfo?.metadata.maxBytes).toBe("2000");
  });

  it("within the bounds, a call answers OK", async () => {
    const res = (await call({ query: "hi" })) as { answer: string };
    expect(res.answer.length).toBeGreaterThan(0);
  });
});
