import { describe, expect, it } from "vitest";
import { ChatInvokeRequest, ChatInvokeStreamRequest, ChatInvokeStreamResponse } from "../../generated/dify/app/v1/chat.js";
import {
  CompletionInvokeRequest,
  CompletionInvokeStreamRequest,
  CompletionInvokeStreamResponse,
} from "../../generated/dify/app/v1/completion.js";
import { WatchRunResponse } from "../../generated/dify/app/v1/run.js";
import { WorkflowInvokeRequest, WorkflowInvokeStreamRequest, WorkflowInvokeStreamResponse } from "../../generated/dify/app/v1/workflow.js";
import { CHAT, COMPLETION, WORKFLOW } from "../../src/invoke/interfaces.js";
import { WATCH_EVENTS } from "../../src/rpc/run.js";
import { GRAPH_EVENTS_1_16, toStreamMessage } from "../../src/translate/events.js";

const CANDIDATES = [
  "message",
  "agent_message",
  "agent_thought",
  "message_file",
  "message_replace",
  "message_end",
  "tts_message",
  "tts_message_end",
  "workflow_started",
  "node_started",
  "node_finished",
  "workflow_finished",
  "workflow_paused",
  "error",
  "text_chunk",
  ...GRAPH_EVENTS_1_16,
];

/** Which event names survive an encode/decode round trip as a typed payload of this message type. */
function typedByProto(codec: {
  encode(m: never): { finish(): Uint8Array };
  decode(b: Uint8Array): { payload?: { $case: string } | undefined };
}): string[] {
  return CANDIDATES.filter((name) => {
    const msg = toStreamMessage({ event: name }, new Set(CANDIDATES));
    const decoded = codec.decode(codec.encode(msg as never).finish()).payload;
    return decoded !== undefined && decoded.$case === msg.payload?.$case;
  });
}

describe("the interface table", () => {
  it.each([
    ["chat", CHAT, ChatInvokeStreamResponse],
    ["completion", COMPLETION, CompletionInvokeStreamResponse],
    ["workflow", WORKFLOW, WorkflowInvokeStreamResponse],
    ["WatchRun", { typedEvents: WATCH_EVENTS }, WatchRunResponse],
  ] as const)("%s types exactly the events its proto oneof declares", (_, spec, codec) => {
    expect([...spec.typedEvents].sort()).toEqual(typedByProto(codec as never).sort());
  });

  it("names oneof cases the way ts-proto does", () => {
    expect(toStreamMessage({ event: "agent_message" }, CHAT.typedEvents).payload?.$case).toBe("agentMessage");
    expect(toStreamMessage({ event: "message_end" }, CHAT.typedEvents).payload?.$case).toBe("messageEnd");
  });

  it("passes an event the interface does not type through with event and raw only", () => {
    const m = toStreamMessage({ event: "future_event", data: { text: "…" } }, WORKFLOW.typedEvents);
    expect(m).toEqual({ event: "future_event", raw: { event: "future_event", data: { text: "…" } }, payload: undefined });
    const bytes = WorkflowInvokeStreamResponse.encode(m as never).finish();
    expect(WorkflowInvokeStreamResponse.decode(bytes)).toMatchObject({ event: "future_event", raw: { data: { text: "…" } } });
  });

  it("reads typed fields straight from Dify's snake_case dict, nulls included", () => {
    const m = toStreamMessage(
      {
        event: "workflow_finished",
        task_id: "t",
        workflow_run_id: "r",
        data: { id: "r", status: "failed", error: "boom", outputs: null, elapsed_time: 1.5, total_steps: 3, finished_at: null },
      },
      WORKFLOW.typedEvents,
    );
    expect(m.payload).toEqual({
      $case: "workflowFinished",
      value: expect.objectContaining({
        taskId: "t",
        workflowRunId: "r",
        data: expect.objectContaining({
          status: "failed",
          error: "boom",
          elapsedTime: 1.5,
          totalSteps: 3,
          outputs: undefined,
          finishedAt: undefined,
        }),
      }),
    });
    const decoded = WorkflowInvokeStreamResponse.decode(WorkflowInvokeStreamResponse.encode(m as never).finish());
    expect(decoded.raw).toEqual(m.raw);
  });
});

describe("the request messages", () => {
  const common = {
    app_id: "a",
    inputs: { n: 1, nested: { list: [true, null, "x"] } },
    files: [{ type: "image", transfer_method: "remote_url", url: "https://x/y.png" }],
    user: "u",
  };
  type Codec = typeof WorkflowInvokeRequest;
  it.each([
    ["chat", ChatInvokeRequest, ChatInvokeStreamRequest, { ...common, query: "q", conversation_id: "" }],
    ["workflow", WorkflowInvokeRequest, WorkflowInvokeStreamRequest, common],
    ["completion", CompletionInvokeRequest, CompletionInvokeStreamRequest, common],
  ] as const)(
    "%s: one JSON body means the same on the unary and the streaming RPC, down to the bytes",
    (_, unaryType, streamType, json) => {
      const [u, st] = [unaryType as unknown as Codec, streamType as unknown as Codec];
      const a = u.fromJSON(json);
      const b = st.fromJSON(json);
      expect(b).toEqual(a);
      expect(Buffer.from(st.encode(b).finish())).toEqual(Buffer.from(u.encode(a).finish()));
      expect(a.inputs).toEqual(common.inputs);
    },
  );
});
