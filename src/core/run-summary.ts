import type { AppMode } from "../config/schema.js";
import type { RunKind, RunUsage } from "../invoke/termination.js";
import { createContextKey } from "./context.js";

/** What a call's Dify run came to, for its log line and upstream metrics. Read-only: built once the run is over. */
export interface RunSummary {
  readonly kind: RunKind;
  /** The app of the caller's workspace the run was for (its configured id). */
  readonly appId: string;
  /** The app's mode, once resolved. */
  readonly mode: AppMode | undefined;
  /** Dify's task id, once an event carried one. */
  readonly taskId: string | undefined;
  /** The workflow run (workflow and Chatflow apps), once an event named it. */
  readonly workflowRunId: string | undefined;
  /** The chat's conversation, once an event named it. */
  readonly conversationId: string | undefined;
  /** What Dify reported the run used, from its final event. */
  readonly usage: RunUsage | undefined;
  /** True when the run was left unfinished and the gateway asked Dify to stop it. */
  readonly stopCalled: boolean;
  /** True when a drain left the unfinished run running on Dify for the caller to re-attach to (never also stopped). */
  readonly handedOff: boolean;
  /** Run requests sent to Dify (0: none); more than 1 when a request Dify cannot have acted on was retried. */
  readonly attempts: number;
  /** performance.now() when the run was requested from Dify (undefined: no upstream request was made). */
  readonly upstreamStartedAt: number | undefined;
  /** performance.now() when Dify's first event arrived. */
  readonly firstEventAt: number | undefined;
  /** performance.now() when Dify reported the workflow paused. */
  readonly pausedAt: number | undefined;
}

/**
 * The call's run summary, for middleware: `invoke` sets it when it ends, whether it returned or threw
 * (a failed call has no return value to carry it).
 */
export const RUN_SUMMARY = createContextKey<RunSummary | undefined>(undefined, "run summary");

/**
 * Set when the caller left before any event named its run: settles once an event has and the run is stopped, or the
 * gateway gave up (`UpstreamRun`). The run may be live on Dify until then, so the workspace's slot is held until
 * then too (`workspaceLimits`): a caller cancelling before the first event cannot start more runs than its limit.
 */
export const UNNAMED_RUN = createContextKey<Promise<void> | undefined>(undefined, "unnamed run");
