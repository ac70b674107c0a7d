import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/grpc/gateway-error.js";
import { MessageAggregator, WorkflowAggregator } from "../../src/invoke/aggregate.js";
import type { DifyEvent } from "../../src/sse/decoder.js";

const env = { task_id: "t1", message_id: "m1", conversation_id: "c1", created_at: 1700000000 };
const msg = (event: string, extra: Record<string, unknown>): DifyEvent => ({ event, ...env, ...extra });
const METADATA = { usage: { total_tokens: 3, total_price: "0.001" }, retriever_resources: [] };

function aggregate(agg: MessageAggregator | WorkflowAggregator, events: DifyEvent[]) {
  events.forEach((e) => agg.add(e));
  return agg.result();
}

describe("MessageAggregator", () => {
  it("builds chat's blocking dict from deltas", () => {
    const out = aggregate(new MessageAggregator("chat", true), [
      msg("message", { answer: "Hel" }),
      msg("message", { answer: "lo" }),
      msg("message_end", { metadata: METADATA }),
    ]);
    expect(out).toEqual({
      event: "message",
      task_id: "t1",
      id: "m1",
      message_id: "m1",
      conversation_id: "c1",
      mode: "chat",
      answer: "Hello",
      metadata: METADATA,
      created_at: 1700000000,
    });
  });

  it("lets message_replace replace everything so far", () => {
    const out = aggregate(new MessageAggregator("chat", true), [
      msg("message", { answer: "bad words" }),
      msg("message_replace", { answer: "[filtered]" }),
      msg("message", { answer: "!" }),
    ]);
    expect(out.answer).toBe("[filtered]!");
  });

  it("appends agent_message deltas for agent-chat", () => {
    const out = aggregate(new MessageAggregator("agent-chat", true), [
      msg("agent_thought", { thought: "t" }),
      msg("agent_message", { answer: "A" }),
      msg("agent_message", { answer: "B" }),
    ]);
    expect(out.answer).toBe("AB");
    expect(out.mode).toBe("agent-chat");
  });

  it("takes New Agent's closing message as the whole answer", () => {
    const out = aggregate(new MessageAggregator("agent", true), [
      msg("agent_message", { answer: "Par" }),
      msg("agent_message", { answer: "tial" }),
      msg("message", { answer: "Partial answer, complete." }),
    ]);
    expect(out.answer).toBe("Partial answer, complete.");
  });

  it("has no conversation_id for completion", () => {
    const out = aggregate(new MessageAggregator("completion", false), [
      msg("message", { answer: "x" }),
      msg("message_end", { metadata: METADATA }),
    ]);
    expect(out).not.toHaveProperty("conversation_id");
    expect(out.mode).toBe("completion");
  });

  it("returns the workflow_paused shape for a paused chatflow", () => {
    const out = aggregate(new MessageAggregator("advanced-chat", true), [
      msg("message", { answer: "so far" }),
      { event: "workflow_paused", task_id: "t1", workflow_run_id: "r1", data: { status: "paused" } },
    ]);
    expect(out).toMatchObject({ event: "workflow_paused", answer: "so far", workflow_run_id: "r1", data: { status: "paused" } });
  });
});

describe("WorkflowAggregator", () => {
  const started: DifyEvent = { event: "workflow_started", task_id: "t1", workflow_run_id: "r1", data: { id: "r1", workflow_id: "w1" } };

  it("keeps exactly the blocking data keys, a failed run included", () => {
    const finished: DifyEvent = {
      event: "workflow_finished",
      task_id: "t1",
      workflow_run_id: "r1",
      data: {
        id: "r1",
        workflow_id: "w1",
        status: "failed",
        outputs: null,
        error: "node x failed",
        elapsed_time: 0.5,
        total_tokens: 0,
        total_steps: 2,
        created_at: 1,
        finished_at: 2,
        created_by: {},
        exceptions_count: 0,
        files: [],
      },
    };
    expect(aggregate(new WorkflowAggregator(), [started, finished])).toEqual({
      task_id: "t1",
      workflow_run_id: "r1",
      data: {
        id: "r1",
        workflow_id: "w1",
        status: "failed",
        outputs: null,
        error: "node x failed",
        elapsed_time: 0.5,
        total_tokens: 0,
        total_steps: 2,
        created_at: 1,
        finished_at: 2,
      },
    });
  });

  it("shapes a paused run like Dify's paused blocking response", () => {
    const paused: DifyEvent = {
      event: "workflow_paused",
      task_id: "t1",
      workflow_run_id: "r1",
      data: {
        workflow_run_id: "r1",
        status: "paused",
        outputs: {},
        paused_nodes: ["n1"],
        reasons: [{ type: "human_input" }],
        elapsed_time: 1,
        total_tokens: 0,
        total_steps: 1,
        created_at: 1,
      },
    };
    const out = aggregate(new WorkflowAggregator(), [started, paused]);
    expect(out.data).toMatchObject({
      id: "r1",
      workflow_id: "w1",
      status: "paused",
      finished_at: null,
      paused_nodes: ["n1"],
      reasons: [{ type: "human_input" }],
    });
  });
});

describe("MessageAggregator answer bound (upstream.maxAnswerBytes)", () => {
  const delta = (answer: string): DifyEvent => ({ event: "message", task_id: "t", message_id: "m", answer });

  it("refuses the delta that takes the answer past the bound, counted in UTF-8 bytes", () => {
    const agg = new MessageAggregator("chat", true, 10);
    agg.add(delta("ü".repeat(5))); // 10 bytes: at the bound
    let thrown: unknown;
    try {
      agg.add(delta("x"));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    expect((thrown as GatewayError).code).toBe(status.RESOURCE_EXHAUSTED);
    expect((thrown as GatewayError).details).toMatchObject({ reason: "ANSWER_TOO_LARGE", metadata: { maxAnswerBytes: "10" } });
  });

  it("counts a replaced answer from scratch", () => {
    const agg = new MessageAggregator("chat", true, 10);
    agg.add(delta("0123456789"));
    agg.add({ event: "message_replace", task_id: "t", answer: "short" });
    agg.add(delta("12345"));
    expect(agg.result().answer).toBe("short12345");
  });

  it("defaults to half a default client's 4 MiB receive limit, less headroom: the answer travels twice", () => {
    const agg = new MessageAggregator("chat", true);
    agg.add(delta("a".repeat(2 * 1024 * 1024 - 32 * 1024)));
    expect(() => agg.add(delta("a"))).toThrow(/exceeds 2064384 bytes/);
  });
});

describe("pause and reasoning (Dify 1.16)", () => {
  const reasoning = (text: string): DifyEvent => ({ event: "reasoning_chunk", task_id: "t", data: { reasoning: text, is_final: false } });
  const form = (token: string | null, content = "Review"): DifyEvent => ({
    event: "human_input_required",
    task_id: "t",
    workflow_run_id: "r",
    data: { form_token: token, node_id: "n", node_title: "Approve", form_content: content, actions: [{ id: "ok", title: "OK" }] },
  });
  const paused: DifyEvent = { event: "workflow_paused", task_id: "t", workflow_run_id: "r", data: { status: "paused", outputs: {} } };

  it("joins the reasoning deltas, and keeps them out of the answer", () => {
    const agg = new MessageAggregator("advanced-chat", true);
    for (const e of [reasoning("a "), reasoning("b"), msg("message", { answer: "x" }), msg("message_end", { metadata: {} })]) agg.add(e);
    expect(agg.extras().reasoning).toBe("a b");
    expect(agg.result().answer).toBe("x");
  });

  it("collects every form of a pause; an email-only form has no token", () => {
    const agg = new WorkflowAggregator();
    for (const e of [form("tok_1"), form(null), paused]) agg.add(e);
    expect(agg.extras().pause).toEqual({
      workflowRunId: "r",
      forms: [
        expect.objectContaining({ formToken: "tok_1", nodeId: "n", actions: [{ id: "ok", title: "OK", buttonStyle: "" }] }),
        expect.objectContaining({ formToken: "" }),
      ],
    });
    expect(agg.result().data).toMatchObject({ status: "paused", outputs: {} });
  });

  it("a run that did not pause has no pause, whatever forms came before", () => {
    const agg = new WorkflowAggregator();
    agg.add(form("tok_1"));
    expect(agg.extras().pause).toBeUndefined();
  });

  it("reasoning and forms share one budget of maxAnswerBytes", () => {
    const agg = new MessageAggregator("advanced-chat", true, 20);
    agg.add(reasoning("0123456789"));
    expect(() => agg.add(form("t", "0123456789"))).toThrow(/upstream.maxAnswerBytes/);
    const alone = new WorkflowAggregator(10);
    expect(() => alone.add(reasoning("01234567890"))).toThrow(GatewayError);
  });
});
