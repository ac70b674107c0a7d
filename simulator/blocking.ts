/**
 * Blocking mode: consume the run's steps until a terminal event and answer one JSON document, as Dify's
 * `_to_blocking_response` does ([api] <mode>/generate_task_pipeline.py; shapes in the contract, section 2.5).
 */
import { ApiError, defaultCodeFor, errors } from "./errors.js";
import type { SimEvent } from "./events.js";
import type { Run } from "./run.js";
import type { Step } from "./steps.js";

export type BlockingOutcome =
  | { kind: "json"; body: Record<string, unknown> }
  | { kind: "error"; error: ApiError }
  /** Never answer; hold the connection until the client leaves. */
  | { kind: "hang" }
  /** Close the connection without any response. */
  | { kind: "end" }
  | { kind: "reset" };

/** What Dify raises when the stream ends without a terminal event. */
const NO_TERMINAL = () => errors.invalidParam("queue listening stopped unexpectedly.");

export async function collectBlocking(run: Run, steps: AsyncIterable<Step>): Promise<BlockingOutcome> {
  const collector = run.app.mode === "workflow" ? new WorkflowCollector(run) : new MessageCollector(run);
  for await (const step of steps) {
    switch (step.kind) {
      case "event": {
        if (step.event.event === "error") return { kind: "error", error: errorFrom(step.event) };
        const body = collector.add(step.event);
        if (body) return { kind: "json", body };
        break;
      }
      case "silence":
      case "pings_forever":
        return { kind: "hang" };
      case "hold_then_end":
      case "end":
        return { kind: "end" };
      case "reset":
        return { kind: "reset" };
      case "ping":
      case "raw":
        break;
    }
  }
  return run.control.abandoned ? { kind: "end" } : { kind: "error", error: NO_TERMINAL() };
}

function errorFrom(event: SimEvent): ApiError {
  const status = typeof event["status"] === "number" ? event["status"] : 500;
  const code = typeof event["code"] === "string" ? event["code"] : defaultCodeFor(status);
  return new ApiError(status, code, String(event["message"] ?? ""));
}

interface Collector {
  /** Returns the blocking body once `event` is terminal for blocking mode. */
  add(event: SimEvent): Record<string, unknown> | null;
}

/** chat, advanced-chat and completion (agent modes never block): answer at `message_end`. */
class MessageCollector implements Collector {
  private answer = "";

  constructor(private readonly run: Run) {}

  add(event: SimEvent): Record<string, unknown> | null {
    switch (event.event) {
      case "message":
      case "agent_message":
        this.answer += String(event["answer"]);
        return null;
      case "message_replace":
        this.answer = String(event["answer"]);
        return null;
      case "message_end":
        return this.body("message", event["metadata"]);
      case "workflow_paused":
        // A paused chatflow answers with the pause, the answer so far and the pause data.
        return { ...this.body("workflow_paused", {}), workflow_run_id: this.run.workflowRunId, data: event["data"] };
      default:
        return null;
    }
  }

  private body(event: string, metadata: unknown): Record<string, unknown> {
    const { run } = this;
    return {
      event,
      task_id: run.taskId,
      id: run.messageId,
      message_id: run.messageId,
      ...(run.conversationId === null ? {} : { conversation_id: run.conversationId }),
      mode: run.app.mode,
      answer: this.answer,
      metadata,
      created_at: run.createdAt,
    };
  }
}

type Data = Record<string, unknown>;

/** workflow: the run record at `workflow_finished` (HTTP 200 even when failed) or `workflow_paused`. No `event` key. */
class WorkflowCollector implements Collector {
  constructor(private readonly run: Run) {}

  add(event: SimEvent): Record<string, unknown> | null {
    const data = (event["data"] ?? {}) as Data;
    if (event.event === "workflow_finished") return this.body(data, data["finished_at"] ?? null, {});
    if (event.event === "workflow_paused") {
      return this.body({ ...data, error: null }, null, { paused_nodes: data["paused_nodes"], reasons: data["reasons"] });
    }
    return null;
  }

  private body(data: Data, finishedAt: unknown, extra: Data): Record<string, unknown> {
    const { run } = this;
    return {
      task_id: run.taskId,
      workflow_run_id: run.workflowRunId,
      data: {
        id: run.workflowRunId,
        workflow_id: run.workflowId,
        status: data["status"],
        outputs: data["outputs"] ?? null,
        error: data["error"] ?? null,
        elapsed_time: data["elapsed_time"],
        total_tokens: data["total_tokens"],
        total_steps: data["total_steps"],
        created_at: run.createdAt,
        finished_at: finishedAt,
        ...extra,
      },
    };
  }
}
