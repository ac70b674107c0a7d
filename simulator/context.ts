import type { IncomingMessage, ServerResponse } from "node:http";
import type { ConversationStore } from "./conversations.js";
import type { RequestRecorder } from "./recorder.js";
import type { TaskRegistry } from "./tasks.js";
import type { RecordedRequest, SimulatorApp } from "./types.js";
import type { UploadedFile } from "./uploads.js";
import type { WorkflowRunStore } from "./workflow-runs.js";

/** Simulator-wide state shared by the handlers. */
export interface SimulatorContext {
  appsByKey: ReadonlyMap<string, SimulatorApp>;
  tokenDelayMs: number;
  pingIntervalMs: number;
  /** End every SSE response by closing its connection; a request's `_sim.connection` overrides it. */
  connectionClose: boolean;
  conversations: ConversationStore;
  tasks: TaskRegistry;
  recorder: RequestRecorder;
  /** Requests seen per `_sim` carrying `times` (directives.ts, countedDirectives). */
  faultCounts: Map<string, number>;
  /** Files uploaded so far, by id (sizes and names, never content). */
  uploads: Map<string, UploadedFile>;
  /** Workflow and Chatflow runs, kept for re-attach, run detail and Human Input forms. */
  workflowRuns: WorkflowRunStore;
  /** Aborted when the simulator closes: ends the runs that outlive their stream (`_sim.detached`). */
  closing: AbortSignal;
}

/** One HTTP request, body already read (except the upload's, which its handler streams). */
export interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  rawBody: Buffer;
  /** Aborted when the connection goes away. */
  signal: AbortSignal;
  /** The log entry of this request, for live progress (`eventsSent`). */
  recorded?: RecordedRequest;
  /** Path parameters, e.g. `task_id`. */
  params: Readonly<Record<string, string>>;
}
