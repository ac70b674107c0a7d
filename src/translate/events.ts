import {
  AgentThoughtEvent,
  ErrorEvent,
  MessageEndEvent,
  MessageEvent,
  MessageFileEvent,
  MessageReplaceEvent,
  NodeEvent,
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
} as const;

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
