/** Payloads of workflow, node and human-input events ([api] core/app/entities/task_entities.py). */
import { isChatLike } from "./apps.js";
import { elapsedSeconds, type SimEvent, secondsSince, totalPrice, workflowEvent } from "./events.js";
import { randomUUID, unixSeconds } from "./ids.js";
import type { Run } from "./run.js";

export interface NodeSpec {
  nodeId: string;
  nodeType: string;
  title: string;
}

export const NODES = {
  start: { nodeId: "start", nodeType: "start", title: "Start" },
  llm: { nodeId: "llm", nodeType: "llm", title: "LLM" },
  answer: { nodeId: "answer", nodeType: "answer", title: "Answer" },
  end: { nodeId: "end", nodeType: "end", title: "End" },
  humanInput: { nodeId: "human_input", nodeType: "human-input", title: "Human Input" },
} as const satisfies Record<string, NodeSpec>;

export interface NodeExecution {
  id: string;
  spec: NodeSpec;
  index: number;
  predecessorNodeId: string | null;
  inputs: Record<string, unknown>;
  createdAt: number;
  startedAt: number;
}

export interface NodeResult {
  status: "succeeded" | "failed" | "stopped";
  outputs: Record<string, unknown> | null;
  error?: string | null;
  processData?: Record<string, unknown> | null;
  /** LLM nodes report their token usage in execution_metadata. */
  completionTokens?: number;
}

/** Numbers node executions and links each to its predecessor, as the graph engine reports them. */
export class NodeTrace {
  private executed = 0;
  private lastNodeId: string | null = null;
  /** The node started last: a paused run's human-input node, which its resumption finishes. */
  lastStarted: NodeExecution | undefined;

  constructor(private readonly run: Run) {}

  get steps(): number {
    return this.executed;
  }

  start(spec: NodeSpec, inputs: Record<string, unknown>): { execution: NodeExecution; event: SimEvent } {
    this.executed++;
    const execution: NodeExecution = {
      id: randomUUID(),
      spec,
      index: this.executed,
      predecessorNodeId: this.lastNodeId,
      inputs,
      createdAt: unixSeconds(),
      startedAt: performance.now(),
    };
    this.lastNodeId = spec.nodeId;
    this.lastStarted = execution;
    const event = workflowEvent(this.run, "node_started", {
      ...this.nodeFields(execution),
      inputs_truncated: false,
      created_at: execution.createdAt,
      extras: {},
      iteration_id: null,
      loop_id: null,
      agent_strategy: null,
    });
    return { execution, event };
  }

  finish(execution: NodeExecution, result: NodeResult): SimEvent {
    const metadata =
      result.completionTokens === undefined
        ? null
        : {
            total_tokens: this.run.promptTokens + result.completionTokens,
            total_price: Number(totalPrice(this.run, result.completionTokens).toFixed(7)),
            currency: "USD",
          };
    return workflowEvent(this.run, "node_finished", {
      ...this.nodeFields(execution),
      inputs_truncated: false,
      process_data: result.processData ?? null,
      process_data_truncated: false,
      outputs: result.outputs,
      outputs_truncated: false,
      status: result.status,
      error: result.error ?? null,
      elapsed_time: secondsSince(execution.startedAt),
      execution_metadata: metadata,
      created_at: execution.createdAt,
      finished_at: unixSeconds(),
      files: [],
      iteration_id: null,
      loop_id: null,
    });
  }

  /** A node that starts and finishes at once (start, answer, end). */
  *instant(spec: NodeSpec, inputs: Record<string, unknown>, outputs: Record<string, unknown>): Generator<SimEvent> {
    const { execution, event } = this.start(spec, inputs);
    yield event;
    yield this.finish(execution, { status: "succeeded", outputs });
  }

  private nodeFields(execution: NodeExecution): Record<string, unknown> {
    return {
      id: execution.id,
      node_id: execution.spec.nodeId,
      node_type: execution.spec.nodeType,
      title: execution.spec.title,
      index: execution.index,
      predecessor_node_id: execution.predecessorNodeId,
      inputs: execution.inputs,
    };
  }
}

/** The start node's view of the inputs: the user's inputs plus Dify's `sys.*` variables. */
export function inputsWithSystemVariables(run: Run): Record<string, unknown> {
  const chat = isChatLike(run.app.mode)
    ? { "sys.query": run.query, "sys.conversation_id": run.conversationId, "sys.dialogue_count": run.turn }
    : {};
  return {
    ...run.inputs,
    ...chat,
    "sys.files": [],
    "sys.user_id": run.user,
    "sys.app_id": run.app.appId,
    "sys.workflow_id": run.workflowId,
    "sys.workflow_run_id": run.workflowRunId,
  };
}

export function workflowStartedEvent(run: Run): SimEvent {
  return workflowEvent(run, "workflow_started", {
    id: run.workflowRunId,
    workflow_id: run.workflowId,
    inputs: inputsWithSystemVariables(run),
    created_at: run.createdAt,
    reason: "initial",
  });
}

export interface RunFinish {
  status: "succeeded" | "failed" | "stopped";
  outputs: Record<string, unknown> | null;
  error: string | null;
  completionTokens: number;
}

export function workflowFinishedEvent(run: Run, trace: NodeTrace, finish: RunFinish): SimEvent {
  return workflowEvent(run, "workflow_finished", {
    id: run.workflowRunId,
    workflow_id: run.workflowId,
    status: finish.status,
    outputs: finish.outputs,
    error: finish.error,
    elapsed_time: elapsedSeconds(run),
    total_tokens: run.promptTokens + finish.completionTokens,
    total_steps: trace.steps,
    created_by: { id: run.endUserId, user: run.user },
    created_at: run.createdAt,
    finished_at: unixSeconds(),
    exceptions_count: 0,
    files: [],
  });
}

/** The trace of each run, kept so that a paused run's resumption numbers its nodes on. */
const TRACES = new WeakMap<Run, NodeTrace>();

export function traceOf(run: Run): NodeTrace {
  let trace = TRACES.get(run);
  if (!trace) {
    trace = new NodeTrace(run);
    TRACES.set(run, trace);
  }
  return trace;
}

/** The human-input node of the n-th pause (1-based): each pause of a run is its own node. */
export function humanInputNode(n: number): NodeSpec {
  return n <= 1 ? NODES.humanInput : { ...NODES.humanInput, nodeId: `human_input_${n}`, title: `Human Input ${n}` };
}

/** How long a form stays open unless `_sim.form_ttl_ms` says otherwise (a Human Input node's timeout is configurable). */
export const DEFAULT_FORM_TTL_MS = 24 * 3600 * 1000;

/**
 * The form's body. Dify renders workflow variables into it before the pause but keeps each `{{#$output.<name>#}}`
 * placeholder, which it fills with the submitted values in `human_input_form_filled.rendered_content`.
 */
export const FORM_CONTENT = "Please review the draft answer before it is sent.\n\nReviewer comment: {{#$output.comment#}}";

/** A human-input node: its form request, then the pause that ends this stream. */
export function* humanInputPause(
  run: Run,
  trace: NodeTrace,
  completionTokens: number,
  node: NodeSpec = NODES.humanInput,
): Generator<SimEvent> {
  const { event } = trace.start(node, {});
  yield event;
  const formId = randomUUID();
  const emailOnly = run.app.humanInput?.emailOnly === true;
  yield workflowEvent(run, "human_input_required", {
    form_id: formId,
    node_id: node.nodeId,
    node_title: node.title,
    form_content: FORM_CONTENT,
    // No default configured: `default` is null and nothing is resolved (Dify resolves only variable defaults).
    inputs: [{ type: "paragraph", output_variable_name: "comment", default: null }],
    actions: [
      { id: "approve", title: "Approve", button_style: "primary" },
      { id: "reject", title: "Reject", button_style: "default" },
    ],
    display_in_ui: false,
    // A form delivered only by email has no token: the API cannot fetch or submit it.
    form_token: emailOnly ? null : `tok_${randomUUID().replace(/-/g, "")}`,
    resolved_default_values: {},
    // Each form gets its own deadline, counted from when its node paused the run.
    expiration_time: unixSeconds(Date.now() + (run.directives.formTtlMs ?? DEFAULT_FORM_TTL_MS)),
  });
  yield workflowEvent(run, "workflow_paused", {
    workflow_run_id: run.workflowRunId,
    paused_nodes: [node.nodeId],
    outputs: {},
    reasons: [{ type: "human_input_required", form_id: formId, node_id: node.nodeId }],
    status: "paused",
    created_at: run.createdAt,
    elapsed_time: elapsedSeconds(run),
    total_tokens: run.promptTokens + completionTokens,
    total_steps: trace.steps,
  });
}

/** `form_content` with the placeholder of each form input replaced by its submitted value (JSON for objects and lists). */
export function renderSubmitted(formContent: string, fields: readonly string[], submitted: Record<string, unknown>): string {
  return fields.reduce((content, name) => content.replaceAll(`{{#$output.${name}#}}`, rendered(submitted[name])), formContent);
}

function rendered(value: unknown): string {
  if (value === undefined || value === null) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}
