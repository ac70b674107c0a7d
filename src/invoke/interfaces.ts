import type { ServiceDefinition } from "@grpc/grpc-js";
import { ChatInvokeResponse, ChatInvokeStreamResponse, ChatServiceService } from "../../generated/dify/app/v1/chat.js";
import {
  CompletionInvokeResponse,
  CompletionInvokeStreamResponse,
  CompletionServiceService,
} from "../../generated/dify/app/v1/completion.js";
import { WorkflowInvokeResponse, WorkflowInvokeStreamResponse, WorkflowServiceService } from "../../generated/dify/app/v1/workflow.js";
import type { AppMode } from "../config/schema.js";
import { GRAPH_EVENTS_1_16, type TypedEventName } from "../translate/events.js";
import type { StreamResponseEncode } from "../translate/stream-encoding.js";
import type { UnaryResponse, UnaryResponseEncode } from "../translate/unary-encoding.js";
import { type Aggregator, MessageAggregator, type UnaryExtras, WorkflowAggregator } from "./aggregate.js";
import { commonBody, type InvokeRequest, validateChat, validateWorkflowId } from "./request.js";
import type { RunKind } from "./termination.js";

/** Everything that differs between chat, workflow and completion, in one place. */
export interface InterfaceSpec {
  readonly kind: RunKind;
  readonly serviceName: string;
  readonly service: ServiceDefinition;
  readonly unaryMethod: string;
  readonly streamMethod: string;
  /** The generated encoder of the stream method's response, for the typed payload (see translate/stream-encoding.ts). */
  readonly streamResponseEncode: StreamResponseEncode;
  /** The generated encoder of the unary method's response, for its typed fields (see translate/unary-encoding.ts). */
  readonly unaryResponseEncode: UnaryResponseEncode;
  /** The route that starts a run, for messages about it. */
  readonly runPath: string;
  /** The route of this request's run: a workflow pinned to a version has its own. */
  runPathFor(req: InvokeRequest): string;
  stopPath(taskId: string): string;
  /** Checks beyond the fields all interfaces share. */
  validate(req: InvokeRequest): void;
  /** The JSON body of the run request (always streaming: unary calls aggregate). */
  body(req: InvokeRequest, user: string): Record<string, unknown>;
  /** The events the stream message's `oneof payload` types. */
  readonly typedEvents: ReadonlySet<TypedEventName>;
  /** The app mode when the interface implies it; chat apps have several, resolved per app (config or /info). */
  readonly mode: AppMode | undefined;
  aggregator(mode: AppMode, maxAnswerBytes?: number): Aggregator;
  /** The unary response: `raw` plus the typed fields read from it. */
  unaryResponse(raw: Record<string, unknown>, extras: UnaryExtras): UnaryResponse;
}

const MESSAGE_EVENTS = ["message", "message_file", "message_replace", "message_end", "tts_message", "tts_message_end", "error"] as const;
const WORKFLOW_EVENTS = ["workflow_started", "node_started", "node_finished", "workflow_finished", "workflow_paused", "error"] as const;

const noChecks = (): void => {};
export const CHAT: InterfaceSpec = {
  kind: "chat",
  serviceName: "dify.app.v1.ChatService",
  service: ChatServiceService,
  unaryMethod: "chatInvoke",
  streamMethod: "chatInvokeStream",
  streamResponseEncode: ChatInvokeStreamResponse.encode as unknown as StreamResponseEncode,
  unaryResponseEncode: ChatInvokeResponse.encode as unknown as UnaryResponseEncode,
  runPath: "/chat-messages",
  runPathFor: () => "/chat-messages",
  stopPath: (taskId) => `/chat-messages/${encodeURIComponent(taskId)}/stop`,
  validate: validateChat,
  body: (req, user) => {
    const body: Record<string, unknown> = { ...commonBody(req, user), query: req.query, conversation_id: req.conversationId ?? "" };
    // A Chatflow takes its version in the body; sent only when asked for, as older Dify versions do not know the field.
    if (req.workflowId) body.workflow_id = req.workflowId;
    return body;
  },
  typedEvents: new Set([...MESSAGE_EVENTS, ...WORKFLOW_EVENTS, ...GRAPH_EVENTS_1_16, "agent_message", "agent_thought"]),
  mode: undefined,
  aggregator: (mode, maxAnswerBytes) => new MessageAggregator(mode, true, maxAnswerBytes),
  unaryResponse: (raw, extras) => ({ ...ChatInvokeResponse.fromJSON(raw), raw, ...extras }),
};

export const COMPLETION: InterfaceSpec = {
  kind: "completion",
  serviceName: "dify.app.v1.CompletionService",
  service: CompletionServiceService,
  unaryMethod: "completionInvoke",
  streamMethod: "completionInvokeStream",
  streamResponseEncode: CompletionInvokeStreamResponse.encode as unknown as StreamResponseEncode,
  unaryResponseEncode: CompletionInvokeResponse.encode as unknown as UnaryResponseEncode,
  runPath: "/completion-messages",
  runPathFor: () => "/completion-messages",
  stopPath: (taskId) => `/completion-messages/${encodeURIComponent(taskId)}/stop`,
  validate: noChecks,
  body: commonBody,
  typedEvents: new Set([...MESSAGE_EVENTS, "reasoning_chunk"]),
  mode: "completion",
  aggregator: (mode, maxAnswerBytes) => new MessageAggregator(mode, false, maxAnswerBytes),
  unaryResponse: (raw, extras) => ({ ...CompletionInvokeResponse.fromJSON(raw), raw, reasoning: extras.reasoning }),
};

export const WORKFLOW: InterfaceSpec = {
  kind: "workflow",
  serviceName: "dify.app.v1.WorkflowService",
  service: WorkflowServiceService,
  unaryMethod: "workflowInvoke",
  streamMethod: "workflowInvokeStream",
  streamResponseEncode: WorkflowInvokeStreamResponse.encode as unknown as StreamResponseEncode,
  unaryResponseEncode: WorkflowInvokeResponse.encode as unknown as UnaryResponseEncode,
  runPath: "/workflows/run",
  // workflow_id is validated as a UUID; encoded all the same, as every path segment built from a request is.
  runPathFor: (req) => (req.workflowId ? `/workflows/${encodeURIComponent(req.workflowId)}/run` : "/workflows/run"),
  stopPath: (taskId) => `/workflows/tasks/${encodeURIComponent(taskId)}/stop`,
  validate: validateWorkflowId,
  body: commonBody,
  typedEvents: new Set([...WORKFLOW_EVENTS, ...GRAPH_EVENTS_1_16, "text_chunk", "tts_message", "tts_message_end"]),
  mode: "workflow",
  aggregator: (_mode, maxAnswerBytes) => new WorkflowAggregator(maxAnswerBytes),
  unaryResponse: (raw, extras) => ({ ...WorkflowInvokeResponse.fromJSON(raw), raw, pause: extras.pause }),
};

export const INTERFACES: readonly InterfaceSpec[] = [CHAT, WORKFLOW, COMPLETION];
