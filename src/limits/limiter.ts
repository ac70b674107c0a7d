import type { Workspace } from "../config/config.js";

/** Which limit refused a call; each is its own ErrorInfo reason and metric label. */
export type LimitKind = "concurrency" | "workspace_rate" | "token_rate" | "token_budget" | "unavailable";

export interface Refusal {
  readonly refused: LimitKind;
  /** When a retry can succeed (0: no hint). */
  readonly retryAfterMs: number;
}

/** A call let in: `release` ends its hold and counts the Dify tokens its run used. Calling it again does nothing. */
export interface Admission {
  readonly refused?: undefined;
  release(tokensUsed: number): void;
}

/**
 * Decides whether a call may start, against its workspace's concurrency, request rate and token budget and its
 * caller's request rate. The in-process limiter answers at once; the Redis one takes one round trip.
 */
export interface CallLimiter {
  admit(workspace: Workspace, caller: string): Admission | Refusal | Promise<Admission | Refusal>;
  close(): Promise<void>;
}
