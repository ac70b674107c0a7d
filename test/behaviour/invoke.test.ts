import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChatInvokeStreamResponse } from "../../generated/dify/app/v1/chat.js";
import { type AppMode, DEMO_APPS } from "../../simulator/index.js";
import { collect, unary } from "../helpers/grpc.js";
import { type InProcessStack, startInProcessStack } from "../helpers/in-process.js";
import { normalize } from "../helpers/normalize.js";

let s: InProcessStack;
beforeAll(async () => {
  s = await startInProcessStack();
});
afterAll(async () => {
  await s?.stop();
});

/** What the simulator's own blocking mode returns for the same request: the shape `raw` must have. */
async function blockingFromDify(mode: AppMode, path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const key = DEMO_APPS.find((a) => a.mode === mode)!.key;
  const res = await request(`${s.sim.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ ...body, response_mode: "blocking" }),
  });
  expect(res.statusCode).toBe(200);
  return (await res.body.json()) as Record<string, unknown>;
}

const UUID = expect.stringMatching(/^[0-9a-f-]{36}$/);

describe("ChatInvoke (unary)", () => {
  for (const mode of ["chat", "advanced-chat"] as const) {
    it(`returns ${mode}'s blocking dict in raw, with the typed fields read from it`, async () => {
      const res = await unary(
        s.c.chat.chatInvoke,
        s.c.chat,
        { appId: s.appId(mode), query: "What is gRPC?", inputs: {}, files: [], user: "alice", conversationId: "" },
        s.md(),
      );
      const direct = await blockingFromDify(mode, "/chat-messages", { query: "What is gRPC?", inputs: {}, user: "alice" });
      expect(normalize(res.raw)).toEqual(normalize(direct));
      expect(res).toMatchObject({ answer: direct.answer, mode, conversationId: UUID, messageId: UUID, taskId: UUID });
      expect(res.messageId).toBe(res.raw?.message_id);
      expect(res.createdAt).toBeGreaterThan(1_600_000_000);
      expect(res.metadata?.usage?.totalTokens).toBeGreaterThan(0);
      expect(res.metadata?.usage?.totalPrice).toMatch(/^\d+\.\d+$/);
    });
  }

  it("aggregates agent-chat, which Dify's blocking mode rejects", async () => {
    const req = { appId: s.appId("agent-chat"), query: "Plan a trip", inputs: {}, files: [], user: "alice", conversationId: "" };
    const res = await unary(s.c.chat.chatInvoke, s.c.chat, req, s.md());
    const streamed = await collect<ChatInvokeStreamResponse>(s.c.chat.chatInvokeStream(req, s.md()));
    const deltas = streamed.messages.filter((m) => m.event === "agent_message").map((m) => m.raw?.answer as string);
    expect(deltas.length).toBeGreaterThan(1);
    expect(res.answer).toBe(deltas.join(""));
    expect(res.mode).toBe("agent-chat");
    expect(Object.keys(res.raw ?? {}).sort()).toEqual([
      "answer",
      "conversation_id",
      "created_at",
      "event",
      "id",
      "message_id",
      "metadata",
      "mode",
      "task_id",
    ]);
  });

  it("takes a New Agent's closing message as the whole answer, not one more delta", async () => {
    const req = { appId: s.appId("agent"), query: "Summarise", inputs: {}, files: [], user: "alice", conversationId: "" };
    const res = await unary(s.c.chat.chatInvoke, s.c.chat, req, s.md());
    const streamed = await collect<ChatInvokeStreamResponse>(s.c.chat.chatInvokeStream(req, s.md()));
    const closing = streamed.messages.filter((m) => m.event === "message");
    expect(closing).toHaveLength(1);
    expect(res.answer).toBe(closing[0]?.raw?.answer);
    expect(res.mode).toBe("agent");
  });

  it("continues a conversation with conversation_id", async () => {
    const first = await unary(
      s.c.chat.chatInvoke,
      s.c.chat,
      { appId: s.appId("chat"), query: "Hi", inputs: {}, files: [], user: "bob", conversationId: "" },
      s.md(),
    );
    const second = await unary(
      s.c.chat.chatInvoke,
      s.c.chat,
      { appId: s.appId("chat"), query: "Again", inputs: {}, files: [], user: "bob", conversationId: first.conversationId },
      s.md(),
    );
    expect(second.conversationId).toBe(first.conversationId);
    expect(second.messageId).not.toBe(first.messageId);
  });

  it("lets message_replace replace the answer so far", async () => {
    const res = await unary(
      s.c.chat.chatInvoke,
      s.c.chat,
      {
        appId: s.appId("chat"),
        query: "Say something rude",
        inputs: { _sim: { fault: "message_replace", after: 2, answer: "[moderated]" } },
        files: [],
        user: "alice",
        conversationId: "",
      },
      s.md(),
    );
    expect(res.answer.startsWith("[moderated]")).toBe(true);
    expect(res.raw?.answer).toBe(res.answer);
  });
});

describe("ChatInvokeStream", () => {
  it("streams one message per Dify event, in order, with raw and a typed payload; no ping", async () => {
    const req = { appId: s.appId("chat"), query: "Stream please", inputs: {}, files: [], user: "alice", conversationId: "" };
    const { messages, error } = await collect<ChatInvokeStreamResponse>(s.c.chat.chatInvokeStream(req, s.md()));
    expect(error).toBeUndefined();
    expect(messages.map((m) => m.event)).not.toContain("ping");
    for (const m of messages) {
      expect(m.raw?.event).toBe(m.event);
      expect(m.payload?.$case).toBe(m.event.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()));
    }
    expect(messages.at(-1)?.event).toBe("message_end");
    const answer = messages
      .filter((m) => m.event === "message")
      .map((m) => (m.payload?.$case === "message" ? m.payload.value.answer : ""))
      .join("");
    const unaryRes = await unary(s.c.chat.chatInvoke, s.c.chat, req, s.md());
    expect(answer).toBe(unaryRes.answer);
    const end = messages.at(-1)?.payload;
    expect(end?.$case === "messageEnd" && end.value.metadata?.usage?.totalTokens).toBeGreaterThan(0);
  });

  it("ends a chatflow only after workflow_finished, which follows message_end", async () => {
    const { messages, error } = await collect<ChatInvokeStreamResponse>(
      s.c.chat.chatInvokeStream(
        { appId: s.appId("advanced-chat"), query: "Flow", inputs: {}, files: [], user: "alice", conversationId: "" },
        s.md(),
      ),
    );
    expect(error).toBeUndefined();
    const events = messages.map((m) => m.event);
    expect(events[0]).toBe("workflow_started");
    expect(events.slice(-2)).toEqual(["message_end", "workflow_finished"]);
    expect(events).toContain("node_started");
    expect(events).toContain("message");
  });

  it("relays 10,000 events in order", async () => {
    let next = 0;
    let ordered = true;
    const { messages, error } = await collect<ChatInvokeStreamResponse>(
      s.c.chat.chatInvokeStream(
        { appId: s.appId("chat"), query: "long", inputs: { _sim: { events: 10_000 } }, files: [], user: "alice", conversationId: "" },
        s.md(),
      ),
      (m) => {
        if (m.event !== "message") return;
        const n = Number(/w(\d+)/.exec(String(m.raw?.answer))?.[1]);
        if (n !== next + 1) ordered = false;
        next = n;
      },
    );
    expect(error).toBeUndefined();
    expect(messages.filter((m) => m.event === "message")).toHaveLength(10_000);
    expect(ordered).toBe(true);
    expect(messages.at(-1)?.event).toBe("message_end");
  });
});

describe("WorkflowInvoke and WorkflowInvokeStream", () => {
  it("returns the workflow's blocking dict (no event key) with typed data", async () => {
    const res = await unary(
      s.c.workflow.workflowInvoke,
      s.c.workflow,
      { appId: s.appId("workflow"), inputs: { topic: "gRPC" }, files: [], user: "alice" },
      s.md(),
    );
    const direct = await blockingFromDify("workflow", "/workflows/run", { inputs: { topic: "gRPC" }, user: "alice" });
    expect(normalize(res.raw)).toEqual(normalize(direct));
    expect(res.raw).not.toHaveProperty("event");
    expect(res).toMatchObject({ taskId: UUID, workflowRunId: UUID, data: { status: "succeeded", id: res.workflowRunId } });
    expect(res.data?.outputs).toEqual((direct.data as { outputs: unknown }).outputs);
    expect(res.data?.totalSteps).toBeGreaterThan(0);
  });

  for (const [fault, statusName] of [
    ["workflow_failed", "failed"],
    ["workflow_stopped", "stopped"],
    ["workflow_paused", "paused"],
  ] as const) {
    it(`returns a ${statusName} run as a result (OK), as Dify's blocking mode does`, async () => {
      const res = await unary(
        s.c.workflow.workflowInvoke,
        s.c.workflow,
        { appId: s.appId("workflow"), inputs: { _sim: { fault } }, files: [], user: "alice" },
        s.md(),
      );
      expect(res.data?.status).toBe(statusName);
      expect((res.raw!.data as { status: string }).status).toBe(statusName);
      if (statusName === "failed") expect(res.data?.error).toBeTruthy();
      if (statusName === "paused") expect(res.data?.finishedAt).toBeUndefined();
    });
  }

  it("streams workflow events ending with workflow_finished; text_chunk is typed", async () => {
    const { messages, error } = await collect(
      s.c.workflow.workflowInvokeStream({ appId: s.appId("workflow"), inputs: { topic: "x" }, files: [], user: "alice" }, s.md()),
    );
    expect(error).toBeUndefined();
    expect(messages[0]?.event).toBe("workflow_started");
    expect(messages.at(-1)?.event).toBe("workflow_finished");
    const chunk = messages.find((m) => m.event === "text_chunk");
    expect(chunk?.payload?.$case === "textChunk" && chunk.payload.value.data?.text).toBeTruthy();
  });
});

describe("CompletionInvoke and CompletionInvokeStream", () => {
  it("returns completion's blocking dict without conversation_id", async () => {
    const res = await unary(
      s.c.completion.completionInvoke,
      s.c.completion,
      { appId: s.appId("completion"), inputs: { query: "Write a haiku" }, files: [], user: "alice" },
      s.md(),
    );
    const direct = await blockingFromDify("completion", "/completion-messages", { inputs: { query: "Write a haiku" }, user: "alice" });
    expect(normalize(res.raw)).toEqual(normalize(direct));
    expect(res.raw).not.toHaveProperty("conversation_id");
    expect(res).toMatchObject({ mode: "completion", answer: direct.answer, messageId: UUID, taskId: UUID });
  });

  it("streams message deltas ending with message_end", async () => {
    const { messages, error } = await collect(
      s.c.completion.completionInvokeStream({ appId: s.appId("completion"), inputs: { query: "Hi" }, files: [], user: "alice" }, s.md()),
    );
    expect(error).toBeUndefined();
    expect(messages.at(-1)?.event).toBe("message_end");
    expect(messages.filter((m) => m.event === "message").length).toBeGreaterThan(1);
  });
});

describe("what reaches Dify", () => {
  it("always sends user, inputs and (for chat) query, in streaming mode; an empty user becomes the workspace default", async () => {
    await s.sim.reset();
    await unary(
      s.c.completion.completionInvoke,
      s.c.completion,
      { appId: s.appId("completion"), inputs: undefined, files: [], user: "" },
      s.md(),
    );
    await unary(
      s.c.chat.chatInvoke,
      s.c.chat,
      {
        appId: s.appId("chat"),
        query: "q",
        inputs: undefined,
        files: [{ type: "image", transferMethod: "remote_url", url: "https://example.com/a.png", uploadFileId: "" }],
        user: "carol",
        conversationId: "",
      },
      s.md(),
    );
    const runs = await s.sim.runs();
    expect(runs[0]?.headers).toMatchObject({
      "content-type": "application/json",
      accept: "text/event-stream",
      "user-agent": expect.stringMatching(/^dify-grpc-gateway\//),
    });
    expect(runs[0]?.body).toEqual({ inputs: {}, response_mode: "streaming", user: "ws-default-user" });
    expect(runs[1]?.body).toEqual({
      inputs: {},
      query: "q",
      conversation_id: "",
      response_mode: "streaming",
      user: "carol",
      files: [{ type: "image", transfer_method: "remote_url", url: "https://example.com/a.png" }],
    });
  });
});
