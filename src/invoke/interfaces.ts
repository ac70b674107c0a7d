import type { ServiceDefinition } from "@grpc/grpc-js";
import { ChatInvokeResponse, ChatServiceService } from "../../generated/dify/app/v1/chat.js";
import { CompletionInvokeResponse, CompletionServiceService } from "../../generated/dify/app/v1/completion.js";
import { WorkflowInvokeResponse, WorkflowServiceService } from "../../generated/dify/app/v1/workflow.js";
import type { AppMode } from "../config/schema.js";
import type { TypedEventName } from "../translate/events.js";
import { type Aggregator, MessageAggregator, WorkflowAggregator } from "./aggregate.js";
import { commonBody, type InvokeRequest, validateChat } from "./request.js";
import type { RunKind } from "./termination.js";

/** Everything that differs between chat, workflow and completion, in one place. */
export interface InterfaceSpec {
  readonly kind: RunKind;
  readonly serviceName: string;
  readonly service: ServiceDefinition;
  readonly unaryMethod: string;
  readonly streamMethod: string;
  readonly runPath: string;
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
  unaryResponse(raw: Record<string, unknown>): object;
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
  runPath: "/chat-messages",
  stopPath: (taskId) => `/chat-messages/${encodeURIComponent(taskId)}/stop`,
  validate: validateChat,
  body: (req, user) => ({ ...commonBody(req, user), query: req.query, conversation_id: req.conversationId ?? "" }),
  typedEvents: new Set([...MESSAGE_EVENTS, ...WORKFLOW_EVENTS, "agent_message", "agent_thought"]),
  mode: undefined,
  aggregator: (mode, maxAnswerBytes) => new MessageAggregator(mode, true, maxAnswerBytes),
  unaryResponse: (raw) => ({ ...ChatInvokeResponse.fromJSON(raw), raw }),
};

export const COMPLETION: InterfaceSpec = {
  kind: "completion",
  serviceName: "dify.app.v1.CompletionService",
  service: CompletionServiceService,
  unaryMethod: "completionInvoke",
  streamMethod: "completionInvokeStream",
  runPath: "/completion-messages",
  stopPath: (taskId) => `/completion-messages/${encodeURIComponent(taskId)}/stop`,
  validate: noChecks,
  body: commonBody,
  typedEvents: new Set(MESSAGE_EVENTS),
  mode: "completion",
  aggregator: (mode, maxAnswerBytes) => new MessageAggregator(mode, false, maxAnswerBytes),
  unaryResponse: (raw) => ({ ...CompletionInvokeResponse.fromJSON(raw), raw }),
};

export const WORKFLOW: InterfaceSpec = {
  kind: "workflow",
  serviceName: "dify.app.v1.WorkflowService",
  service: WorkflowServiceService,
  unaryMethod: "workflowInvoke",
  streamMethod: "workflowInvokeStream",
  runPath: "/workflows/run",
  stopPath: (taskId) => `/workflows/tasks/${encodeURIComponent(taskId)}/stop`,
  validate: noChecks,
  body: commonBody,
  typedEvents: new Set([...WORKFLOW_EVENTS, "text_chunk", "tts_message", "tts_message_end"]),
  mode: "workflow",
  aggregator: () => new WorkflowAggregator(),
  unaryResponse: (raw) => ({ ...WorkflowInvokeResponse.fromJSON(raw), raw }),
};

export const INTERFACES: readonly InterfaceSpec[] = [CHAT, WORKFLOW, COMPLETION];
