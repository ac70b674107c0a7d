import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest } from "../../simulator/index.js";
import { collect, unary } from "../helpers/grpc.js";
import { type InProcessStack, startInProcessStack } from "../helpers/in-process.js";
import { eventually } from "../helpers/processes.js";

let s: InProcessStack;
beforeAll(async () => {
  s = await startInProcessStack();
});
afterAll(async () => {
  await s?.stop();
});

/** Slow enough that the run is still going when we cancel. */
const SLOW = { _sim: { events: 200, delay_ms: 50 } };

const INTERFACES = [
  {
    name: "chat",
    stop: "/v1/chat-messages/",
    stream: () => s.c.chat.chatInvokeStream(req("chat", "ivy"), s.md()),
    unaryCall: (deadline: number) => unary(s.c.chat.chatInvoke, s.c.chat, req("chat", "jack"), s.md(), { deadline }),
  },
  {
    name: "workflow",
    stop: "/v1/workflows/tasks/",
    stream: () => s.c.workflow.workflowInvokeStream(req("workflow", "ivy"), s.md()),
    unaryCall: (deadline: number) => unary(s.c.workflow.workflowInvoke, s.c.workflow, req("workflow", "jack"), s.md(), { deadline }),
  },
  {
    name: "completion",
    stop: "/v1/completion-messages/",
    stream: () => s.c.completion.completionInvokeStream(req("completion", "ivy"), s.md()),
    unaryCall: (deadline: number) =>
      unary(s.c.completion.completionInvoke, s.c.completion, req("completion", "jack"), s.md(), { deadline }),
  },
] as const;

function req(mode: "chat" | "workflow" | "completion", user: string) {
  return { appId: s.appId(mode), query: "slow", inputs: SLOW, files: [], user, conversationId: "" };
}

// Stop calls are fire-and-forget, so a late one from an earlier test could land after this test's reset:
// count only the stops on the interface under test.
async function stopsReceived(prefix = "/v1/"): Promise<RecordedRequest[]> {
  return (await s.sim.requests()).filter((r) => r.path.startsWith(prefix) && r.path.endsWith("/stop"));
}

describe.each(INTERFACES)("$name", (iface) => {
  it("a client cancel aborts the upstream and calls Dify's stop endpoint with the same user", async () => {
    await s.sim.reset();
    const call = iface.stream();
    let taskId: unknown;
    const { messages, error } = await collect(call, (m, all) => {
      taskId ??= m.raw?.task_id;
      if (all.length === 3) call.cancel();
    });
    expect(messages.length).toBeGreaterThanOrEqual(3);
    expect(error?.code).toBe(status.CANCELLED);
    await eventually(async () =>
      expect(await stopsReceived(iface.stop)).toEqual([
        expect.objectContaining({ path: `${iface.stop}${taskId}/stop`, body: { user: "ivy" } }),
      ]),
    );
  });

  it("a deadline ends the call with DEADLINE_EXCEEDED and stops the run with the same user", async () => {
    await s.sim.reset();
    const err = await iface.unaryCall(Date.now() + 800).then(
      () => undefined,
      (e: ServiceError) => e,
    );
    expect(err?.code).toBe(status.DEADLINE_EXCEEDED);
    await eventually(async () => {
      const stops = await stopsReceived(iface.stop);
      expect(stops).toHaveLength(1);
      expect(stops[0]?.path.startsWith(iface.stop)).toBe(true);
      expect(stops[0]?.body).toEqual({ user: "jack" });
    });
  });
});

it("calls that finish normally never stop their run, though grpc-js emits 'cancelled' after completion too", async () => {
  await s.sim.reset();
  for (let i = 0; i < 20; i++) {
    await unary(
      s.c.completion.completionInvoke,
      s.c.completion,
      { appId: s.appId("completion"), inputs: {}, files: [], user: "kim" },
      s.md(),
    );
    await collect(
      s.c.chat.chatInvokeStream({ appId: s.appId("chat"), query: "q", inputs: {}, files: [], user: "kim", conversationId: "" }, s.md()),
    );
  }
  await new Promise((r) => setTimeout(r, 300));
  expect(await stopsReceived()).toEqual([]);
});
