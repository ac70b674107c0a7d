import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, unary } from "../helpers/grpc.js";
import { type Stack, startStack } from "../helpers/stack.js";

/*
 * Connection management as the mesh sees it: with a short max connection age
 * the gateway sends GOAWAY, so clients reconnect (and would land on other
 * replicas); a stream longer than the age still finishes within the age grace.
 */
let s: Stack;
beforeAll(async () => {
  s = await startStack({ server: { maxConnectionAgeMs: 300, maxConnectionAgeGraceMs: 10_000 } });
});
afterAll(async () => {
  await s?.stop();
});

describe("max connection age", () => {
  it("lets a stream outlive the connection's age within the grace, and later calls reconnect", async () => {
    const { messages, error } = await collect(
      s.c.chat.chatInvokeStream(
        { appId: s.appId("chat"), query: "q", inputs: { _sim: { events: 30, delay_ms: 50 } }, files: [], user: "", conversationId: "" },
        s.md(),
      ),
    );
    expect(error).toBeUndefined();
    expect(messages.filter((m) => m.event === "message")).toHaveLength(30);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 400));
      const res = await unary(
        s.c.completion.completionInvoke,
        s.c.completion,
        { appId: s.appId("completion"), inputs: { query: "x" }, files: [], user: "" },
        s.md(),
      );
      expect(res.answer).toBeTruthy();
    }
  });
});
