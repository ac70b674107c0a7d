import {
  AgentLogEvent,
  AgentThoughtEvent,
  ErrorEvent,
  HumanInputFormFilledEvent,
  HumanInputFormTimeoutEvent,
  HumanInputRequiredEvent,
  IterationEvent,
  MessageEndEvent,
  MessageEvent,
  MessageFileEvent,
  MessageReplaceEvent,
  NodeEvent,
  ReasoningChunkEvent,
  TextChunkEvent,
  TtsMessageEvent,
  WorkflowFinishedEvent,
  WorkflowStartedEvent,
} from "../../generated/dify/app/v1/common.js";
import type { DifyEvent } from "../sse/decoder.js";

/**
 * Dify event name → its typed view. The typed messages use Dify's own field
 * names, so ts-proto's fromJSON (which accepts the proto names) reads the
 * event dict directly; fields Dify adds later stay available in `raw`.
 */
const TYPED_VIEWS = {
  message: MessageEvent.fromJSON,
  agent_message: MessageEvent.fromJSON,
  agent_thought: AgentThoughtEvent.fromJSON,
  message_file: MessageFileEvent.fromJSON,
  message_replace: MessageReplaceEvent.fromJSON,
  message_end: MessageEndEvent.fromJSON,
  tts_message: TtsMessageEvent.fromJSON,
  tts_message_end: TtsMessageEvent.fromJSON,
  workflow_started: WorkflowStartedEvent.fromJSON,
  node_started: NodeEvent.fromJSON,
  node_finished: NodeEvent.fromJSON,
  workflow_finished: WorkflowFinishedEvent.fromJSON,
  workflow_paused: WorkflowFinishedEvent.fromJSON,
  error: ErrorEvent.fromJSON,
  text_chunk: TextChunkEvent.fromJSON,
  // Dify 1.15-1.16.
  reasoning_chunk: ReasoningChunkEvent.fromJSON,
  human_input_required: HumanInputRequiredEvent.fromJSON,
  human_input_form_filled: HumanInputFormFilledEvent.fromJSON,
  human_input_form_timeout: HumanInputFormTimeoutEvent.fromJSON,
  node_retry: NodeEvent.fromJSON,
  iteration_started: IterationEvent.fromJSON,
  iteration_next: IterationEvent.fromJSON,
  iteration_completed: IterationEvent.fromJSON,
  loop_started: IterationEvent.fromJSON,
  loop_next: IterationEvent.fromJSON,
  loop_completed: IterationEvent.fromJSON,
  agent_log: AgentLogEvent.fromJSON,
} as const;

/** The 1.16 events of workflow graphs (workflow and Chatflow runs), typed on every stream that can carry them. */
export const GRAPH_EVENTS_1_16 = [
  "reasoning_chunk",
  "human_input_required",
  "human_input_form_filled",
  "human_input_form_timeout",
  "node_retry",
  "iteration_started",
  "iteration_next",
  "iteration_completed",
  "loop_started",
  "loop_next",
  "loop_completed",
  "agent_log",
] as const satisfies readonly (keyof typeof TYPED_VIEWS)[];

export type TypedEventName = keyof typeof TYPED_VIEWS;

/** ts-proto names oneof cases in camelCase: `agent_message` is `agentMessage`. */
const CASE_NAMES = new Map(Object.keys(TYPED_VIEWS).map((name) => [name, name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())]));

export interface StreamMessage {
  event: string;
  raw: DifyEvent;
  payload: { $case: string; value: unknown } | undefined;
}

/**
 * One gRPC stream message for one Dify event. `typed` lists the events the
 * interface's `oneof payload` declares; any other event (a newer Dify's, say)
 * still passes through with `event` and `raw`.
 */
export function toStreamMessage(ev: DifyEvent, typed: ReadonlySet<string>): StreamMessage {
  const view = typed.has(ev.event) ? TYPED_VIEWS[ev.event as TypedEventName] : undefined;
  return { event: ev.event, raw: ev, payload: view ? { $case: CASE_NAMES.get(ev.event) as string, value: view(ev) } : undefined };
}
