import { status } from "@grpc/grpc-js";
import { DifyStreamError } from "../dify/errors.js";
import type { GatewayError } from "../grpc/gateway-error.js";
import type { DifyEvent } from "../sse/decoder.js";
import { upstreamError } from "../translate/errors.js";

/** How a run ends differs per interface (docs/dify-upstream.md, "Terminal events per mode"). */
export type RunKind = "chat" | "completion" | "workflow";

/**
 * Follows a run's events to decide when it has ended and whether it failed.
 *
 * - chat, agent-chat, completion: `message_end`.
 * - chatflow: `message_end` (the answer is whole), then `workflow_finished`, which a stream forwards as part of
 *   the run's tail (`TAIL_MS`): Dify 1.14 keeps the stream open until `workflow_finished`, so one that never came
 *   (dify#31253) held a finished answer until the idle timeout. A failure is `workflow_finished` (failed) then
 *   `error`, with no `message_end`.
 * - workflow: `workflow_finished`; failed, stopped and paused runs are results.
 * - any: `workflow_paused`, `error`.
 */
export class RunTracker {
  taskId: string | undefined;
  /** The workflow run (workflow and Chatflow apps), once an event named it. */
  workflowRunId: string | undefined;
  /** The chat's conversation (new or continued), once an event named it. */
  conversationId: string | undefined;
  /** What Dify reported the run used, from its final event; undefined until then (or when it reported nothing). */
  usage: RunUsage | undefined;
  /** True once the run's terminal event arrived. */
  done = false;
  /** True when that event was `message_end` or `workflow_finished`: audio (TTS) may follow it, an error or pause has nothing after it. */
  mayHaveTail = false;
  #workflowFailed = false;
  #errorEvent: DifyEvent | undefined;

  /** `continueOnPause`: a re-attach that stays open across pauses, so `workflow_paused` is not terminal. */
  constructor(
    readonly kind: RunKind,
    private readonly continueOnPause = false,
  ) {}

  observe(ev: DifyEvent): void {
    if (this.taskId === undefined && typeof ev.task_id === "string") this.taskId = ev.task_id;
    if (this.workflowRunId === undefined && typeof ev.workflow_run_id === "string") this.workflowRunId = ev.workflow_run_id;
    if (this.conversationId === undefined && typeof ev.conversation_id === "string" && ev.conversation_id !== "")
      this.conversationId = ev.conversation_id;
    switch (ev.event) {
      case "error":
        this.#errorEvent = ev;
        this.done = true;
        return;
      case "workflow_paused":
        if (!this.continueOnPause) this.done = true;
        return;
      case "message_end":
        this.usage = messageUsage(ev) ?? this.usage;
        if (this.kind !== "workflow") this.done = this.mayHaveTail = true;
        return;
      case "workflow_finished":
        // A Chatflow's message_end carried the split; the workflow's own record has only the total.
        this.usage ??= workflowUsage(ev);
        if (this.kind === "chat" && workflowStatus(ev) === "failed") {
          // Dify follows this with an `error` event; wait for it so it is forwarded.
          this.#workflowFailed = true;
          return;
        }
        if (this.kind !== "completion") this.done = this.mayHaveTail = true;
        return;
    }
  }

  /** Why the run failed, once its stream is over; undefined when it succeeded. */
  failure(): GatewayError | DifyStreamError | undefined {
    const err = this.#errorEvent;
    if (err) {
      const failure = {
        httpStatus: Number(err.status ?? 500),
        difyCode: typeof err.code === "string" ? err.code : "",
        message: String(err.message ?? ""),
      };
      // A chatflow whose workflow failed reports `invalid_param "Run failed: …"`: not the caller's fault.
      return this.#workflowFailed
        ? upstreamError(failure, { code: status.INTERNAL, reason: "WORKFLOW_RUN_FAILED", metadata: { workflowStatus: "failed" } })
        : upstreamError(failure);
    }
    if (this.#workflowFailed) {
      return upstreamError(
        { httpStatus: 200, difyCode: "", message: "the chatflow's workflow failed" },
        { code: status.INTERNAL, reason: "WORKFLOW_RUN_FAILED", metadata: { workflowStatus: "failed" } },
      );
    }
    if (this.done) return undefined;
    return new DifyStreamError("incomplete", "Dify closed the stream before the run's terminal event");
  }
}

/**
 * Token counts and price as Dify reported them (docs/dify-upstream.md, "Usage"). Chat and completion runs report
 * prompt and completion tokens in `message_end.metadata.usage`; a workflow reports only `total_tokens`.
 */
export interface RunUsage {
  readonly inputTokens: number | undefined;
  readonly outputTokens: number | undefined;
  readonly totalTokens: number | undefined;
  /** A decimal string, as Dify sends it, so nothing is lost to floating point. */
  readonly totalPrice: string | undefined;
  readonly currency: string | undefined;
}

/**
 * Currencies a price may be in: a metric label, so a closed set (any three capitals let a Dify, or whatever answers
 * as one, make 17,576 series per app). ISO 4217, as the runtime knows it, and RMB, which Dify's Chinese model
 * prices use for CNY.
 */
const CURRENCIES: ReadonlySet<string> = new Set([...Intl.supportedValuesOf("currency"), "RMB"]);

function messageUsage(ev: DifyEvent): RunUsage | undefined {
  const usage = (ev.metadata as { usage?: Record<string, unknown> } | undefined)?.usage;
  if (typeof usage !== "object" || usage === null) return undefined;
  return {
    inputTokens: count(usage.prompt_tokens),
    outputTokens: count(usage.completion_tokens),
    totalTokens: count(usage.total_tokens),
    totalPrice: decimal(usage.total_price),
    currency: typeof usage.currency === "string" && CURRENCIES.has(usage.currency) ? usage.currency : undefined,
  };
}

function workflowUsage(ev: DifyEvent): RunUsage | undefined {
  const total = count((ev.data as { total_tokens?: unknown } | undefined)?.total_tokens);
  if (total === undefined) return undefined;
  return { inputTokens: undefined, outputTokens: undefined, totalTokens: total, totalPrice: undefined, currency: undefined };
}

/** A non-negative integer count, or undefined: usage comes from upstream and is checked before it is added up. */
function count(v: unknown): number | undefined {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

function decimal(v: unknown): string | undefined {
  const s = typeof v === "number" ? String(v) : v;
  return typeof s === "string" && /^\d{1,18}(\.\d{1,12})?$/.test(s) ? s : undefined;
}

function workflowStatus(ev: DifyEvent): unknown {
  return (ev.data as { status?: unknown } | undefined)?.status;
}
