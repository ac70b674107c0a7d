import { status } from "@grpc/grpc-js";
import { type HumanInputForm, HumanInputRequiredData, type RunPause } from "../../generated/dify/app/v1/common.js";
import { type AppMode, DEFAULT_MAX_ANSWER_BYTES } from "../config/schema.js";
import { GatewayError } from "../grpc/gateway-error.js";
import type { DifyEvent } from "../sse/decoder.js";

/** Rebuilds, from a streamed run, the dict Dify's blocking mode returns (docs/dify-upstream.md, "Blocking responses"). */
export interface Aggregator {
  add(ev: DifyEvent): void;
  result(): Record<string, unknown>;
  /** What the unary answer carries besides `raw`: the pause (forms), and the reasoning joined. */
  extras(): UnaryExtras;
}

export interface UnaryExtras {
  readonly pause: RunPause | undefined;
  readonly reasoning: string;
}

/**
 * The `human_input_required` forms and the `reasoning_chunk` text of a run, which Dify's blocking dict does not carry
 * in a typed form. Both travel in the unary answer next to `raw`, so they share one budget of
 * `upstream.maxAnswerBytes`, besides the answer's own: a run with endless reasoning or forms ends ANSWER_TOO_LARGE
 * instead of growing the gateway's heap.
 */
class SideChannels {
  #reasoning = "";
  #bytes = 0;
  readonly #forms: HumanInputForm[] = [];
  #pausedRunId: string | undefined;

  constructor(private readonly maxAnswerBytes: number) {}

  add(ev: DifyEvent): void {
    switch (ev.event) {
      case "reasoning_chunk": {
        const delta = str((ev.data as { reasoning?: unknown } | undefined)?.reasoning);
        this.#spend(Buffer.byteLength(delta, "utf8"));
        this.#reasoning += delta;
        return;
      }
      case "human_input_required": {
        const data = HumanInputRequiredData.fromJSON(ev.data ?? {});
        // What the form costs in the answer, roughly: its texts.
        this.#spend(Buffer.byteLength(data.formContent + data.nodeTitle + JSON.stringify(data.actions), "utf8"));
        this.#forms.push({
          formToken: data.formToken ?? "",
          nodeId: data.nodeId,
          nodeTitle: data.nodeTitle,
          formContent: data.formContent,
          actions: data.actions,
          expirationTime: data.expirationTime,
        });
        return;
      }
      case "workflow_paused": {
        const data = (ev.data ?? {}) as { workflow_run_id?: unknown; id?: unknown };
        this.#pausedRunId = str(ev.workflow_run_id) || str(data.workflow_run_id) || str(data.id);
        return;
      }
    }
  }

  #spend(bytes: number): void {
    this.#bytes += bytes;
    if (this.#bytes > this.maxAnswerBytes) throw answerTooLarge(this.maxAnswerBytes);
  }

  extras(): UnaryExtras {
    const pause = this.#pausedRunId === undefined ? undefined : { workflowRunId: this.#pausedRunId, forms: this.#forms };
    return { pause, reasoning: this.#reasoning };
  }
}

/** chat, agent-chat, advanced-chat, New Agent and completion. */
export class MessageAggregator implements Aggregator {
  #answer = "";
  /** UTF-8 bytes of #answer, kept as it grows: measuring the whole answer per event would be quadratic. */
  #answerBytes = 0;
  #head: DifyEvent | undefined;
  #metadata: unknown = {};
  #paused: DifyEvent | undefined;
  readonly #side: SideChannels;

  constructor(
    private readonly mode: AppMode,
    private readonly withConversation: boolean,
    private readonly maxAnswerBytes: number = DEFAULT_MAX_ANSWER_BYTES,
  ) {
    this.#side = new SideChannels(maxAnswerBytes);
  }

  extras(): UnaryExtras {
    return this.#side.extras();
  }

  add(ev: DifyEvent): void {
    this.#side.add(ev);
    if (this.#head === undefined && typeof ev.task_id === "string" && typeof ev.message_id === "string") this.#head = ev;
    switch (ev.event) {
      case "message":
        // New Agent's closing `message` holds the whole answer, not a delta.
        if (this.mode === "agent") this.#replace(str(ev.answer));
        else this.#append(str(ev.answer));
        return;
      case "agent_message":
        this.#append(str(ev.answer));
        return;
      case "message_replace":
        this.#replace(str(ev.answer));
        return;
      case "message_end":
        this.#metadata = ev.metadata ?? {};
        return;
      case "workflow_paused":
        this.#paused = ev;
        return;
    }
  }

  #append(delta: string): void {
    this.#answerBytes += Buffer.byteLength(delta, "utf8");
    this.#checkSize();
    this.#answer += delta;
  }

  #replace(answer: string): void {
    this.#answerBytes = Buffer.byteLength(answer, "utf8");
    this.#checkSize();
    this.#answer = answer;
  }

  #checkSize(): void {
    if (this.#answerBytes > this.maxAnswerBytes) throw answerTooLarge(this.maxAnswerBytes);
  }

  result(): Record<string, unknown> {
    const head: Partial<DifyEvent> = this.#head ?? {};
    const messageId = head.message_id ?? head.id;
    const out: Record<string, unknown> = {
      event: this.#paused ? "workflow_paused" : "message",
      task_id: head.task_id,
      id: messageId,
      message_id: messageId,
    };
    if (this.withConversation) out.conversation_id = head.conversation_id;
    Object.assign(out, { mode: this.mode, answer: this.#answer, metadata: this.#metadata, created_at: head.created_at });
    if (this.#paused) Object.assign(out, { workflow_run_id: this.#paused.workflow_run_id, data: this.#paused.data });
    return out;
  }
}

/** The keys of a workflow's blocking `data`; the streamed event carries more. */
const RUN_DATA_KEYS = [
  "id",
  "workflow_id",
  "status",
  "outputs",
  "error",
  "elapsed_time",
  "total_tokens",
  "total_steps",
  "created_at",
  "finished_at",
];
const PAUSED_EXTRA_KEYS = ["paused_nodes", "reasons"];

export class WorkflowAggregator implements Aggregator {
  #taskId: unknown;
  #runId: unknown;
  #workflowId: unknown;
  #end: DifyEvent | undefined;
  readonly #side: SideChannels;

  constructor(maxAnswerBytes: number = DEFAULT_MAX_ANSWER_BYTES) {
    this.#side = new SideChannels(maxAnswerBytes);
  }

  extras(): UnaryExtras {
    return this.#side.extras();
  }

  add(ev: DifyEvent): void {
    this.#side.add(ev);
    this.#taskId ??= ev.task_id;
    this.#runId ??= ev.workflow_run_id;
    if (ev.event === "workflow_started") this.#workflowId = (ev.data as { workflow_id?: unknown } | undefined)?.workflow_id;
    if (ev.event === "workflow_finished" || ev.event === "workflow_paused") this.#end = ev;
  }

  result(): Record<string, unknown> {
    const src = (this.#end?.data ?? {}) as Record<string, unknown>;
    const paused = this.#end?.event === "workflow_paused";
    const data: Record<string, unknown> = {};
    for (const key of RUN_DATA_KEYS) data[key] = src[key] ?? null;
    if (paused) {
      // The paused event names the run differently and has no end time yet.
      data.id = src.id ?? src.workflow_run_id ?? this.#runId;
      data.workflow_id = src.workflow_id ?? this.#workflowId ?? null;
      data.finished_at = null;
      for (const key of PAUSED_EXTRA_KEYS) data[key] = src[key] ?? [];
    }
    return { task_id: this.#taskId, workflow_run_id: this.#runId, data };
  }
}

/**
 * Thrown out of `add`: the caller's loop ends, which stops the run on Dify. Before this bound a 200 MiB answer
 * crashed the process and a 60 MiB one became a 125 MB response no default client could read.
 */
export function answerTooLarge(maxAnswerBytes: number): GatewayError {
  return new GatewayError(
    status.RESOURCE_EXHAUSTED,
    `the answer exceeds ${maxAnswerBytes} bytes (upstream.maxAnswerBytes); use the streaming method for longer answers`,
    {
      reason: "ANSWER_TOO_LARGE",
      metadata: { maxAnswerBytes: String(maxAnswerBytes) },
    },
  );
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}
