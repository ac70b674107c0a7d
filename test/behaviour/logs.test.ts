import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DEMO_APPS } from "../../simulator/index.js";
import { collect, unary } from "../helpers/grpc.js";
import { type InProcessStack, startInProcessStack, TOKEN } from "../helpers/in-process.js";
import { eventually } from "../helpers/processes.js";

let s: InProcessStack;
beforeAll(async () => {
  s = await startInProcessStack();
});
afterAll(async () => {
  await s?.stop();
});

it("writes one log line per finished call, with its outcome, and never a secret", async () => {
  await unary(s.c.workflow.workflowInvoke, s.c.workflow, { appId: s.appId("workflow"), inputs: {}, files: [], user: "u" }, s.md());
  await unary(
    s.c.completion.completionInvoke,
    s.c.completion,
    {
      appId: s.appId("completion"),
      inputs: { _sim: { fault: "http_error", status: 429, code: "too_many_requests", message: "slow down" } },
      files: [],
      user: "u",
    },
    s.md(),
  ).catch(() => undefined);
  const call = s.c.chat.chatInvokeStream(
    { appId: s.appId("chat"), query: "q", inputs: { _sim: { events: 100, delay_ms: 20 } }, files: [], user: "u", conversationId: "" },
    s.md(),
  );
  await collect(call, (_, all) => all.length === 2 && call.cancel());

  const calls = await eventually(async () => {
    const lines = s.gw.logs().filter((l) => typeof l.msg === "string" && /^call (finished|failed)/.test(l.msg));
    expect(lines).toHaveLength(3);
    return lines;
  });
  expect(calls.map((l) => [l.method, l.grpcCode])).toEqual([
    ["/dify.app.v1.WorkflowService/WorkflowInvoke", "OK"],
    ["/dify.app.v1.CompletionService/CompletionInvoke", "RESOURCE_EXHAUSTED"],
    ["/dify.app.v1.ChatService/ChatInvokeStream", "CANCELLED"],
  ]);
  for (const l of calls) expect(l).toMatchObject({ workspace: "ws-test", appId: expect.any(String), durationMs: expect.any(Number) });
  expect(calls[0]).toMatchObject({ taskId: expect.any(String), ttfeMs: expect.any(Number) });
  expect(calls[1]).toMatchObject({ reason: "TOO_MANY_REQUESTS", upstreamStatus: "429", upstreamCode: "too_many_requests" });
  expect(calls[2]).toMatchObject({ stopCalled: true });

  const output = s.gw.output();
  for (const secret of [TOKEN, ...DEMO_APPS.map((a) => a.key)]) expect(output).not.toContain(secret);
});

it("a call refused for its credentials is logged with the caller's trace id, so it can be found like any other", async () => {
  const TRACE = "5bf92f3577b34da6a3ce929d0e0e4737";
  const request = { appId: s.appId("workflow"), inputs: {}, files: [], user: "u" };
  const traced = new Metadata();
  traced.set("authorization", "Bearer not-a-token");
  traced.set("traceparent", `00-${TRACE}-00f067aa0ba902b7-01`);
  const untraced = new Metadata();
  untraced.set("authorization", "Bearer not-a-token-either");
  for (const md of [traced, untraced])
    await expect(unary(s.c.workflow.workflowInvoke, s.c.workflow, request, md)).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
  const refused = await eventually(async () => {
    const lines = s.gw.logs().filter((l) => l.msg === "call rejected: unauthenticated");
    expect(lines).toHaveLength(2);
    return lines;
  });
  expect(refused[0]).toMatchObject({ traceId: TRACE, method: "/dify.app.v1.WorkflowService/WorkflowInvoke" });
  expect(refused[1]).not.toHaveProperty("traceId");
  expect(s.gw.output()).not.toContain("not-a-token");
});
