import type { Workspace } from "../config/config.js";
import { ConcurrencyLimiter } from "./concurrency.js";
import { dayOf, gcra, untilNextDay } from "./gcra.js";
import type { Admission, CallLimiter, Refusal } from "./limiter.js";

/** How long a concurrency refusal asks the caller to wait: long enough for a typical call to end. */
export const CONCURRENCY_RETRY_MS = 1_000;

/**
 * Every limit in this process alone: the limiter without Redis, and the fallback of the Redis one while
 * Redis is unreachable (fail mode open), so a limit means the same with and without Redis, per replica.
 * Memory: one number per workspace and per caller seen (both come from the config), swept when stale.
 */
export class LocalLimiter implements CallLimiter {
  readonly concurrency: ConcurrencyLimiter;
  /** Rate key → TAT. */
  readonly #rates = new Map<string, number>();
  #sweepAt = 64;
  /** Workspace id → Dify tokens used on `day`. */
  readonly #usage = new Map<string, { day: number; used: number }>();

  constructor(
    onInFlight: (workspace: string, n: number) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {
    this.concurrency = new ConcurrencyLimiter(onInFlight);
  }

  admit(workspace: Workspace, caller: string): Admission | Refusal {
    const now = this.now();
    const budget = this.budgetRefusal(workspace, now);
    if (budget) return budget;
    if (this.concurrency.inFlight(workspace.id) >= workspace.maxConcurrentCalls)
      return { refused: "concurrency", retryAfterMs: CONCURRENCY_RETRY_MS };
    // Both rates are checked before either is charged, so a refused call costs no quota.
    const wsKey = `w:${workspace.id}`;
    const callerKey = `c:${workspace.id}:${caller}`;
    const wsStep = workspace.requestsPerMinute ? gcra(this.#rates.get(wsKey), now, workspace.requestsPerMinute) : undefined;
    if (wsStep && wsStep.waitMs > 0) return { refused: "workspace_rate", retryAfterMs: wsStep.waitMs };
    const callerStep = workspace.requestsPerMinutePerToken
      ? gcra(this.#rates.get(callerKey), now, workspace.requestsPerMinutePerToken)
      : undefined;
    if (callerStep && callerStep.waitMs > 0) return { refused: "token_rate", retryAfterMs: callerStep.waitMs };
    if (wsStep) this.#setRate(wsKey, wsStep.nextTat, now);
    if (callerStep) this.#setRate(callerKey, callerStep.nextTat, now);
    return this.hold(workspace);
  }

  /** A concurrency slot whatever the limit, for a call the shared limiter admitted: this process's count and gauge stay true. */
  hold(workspace: Workspace): Admission {
    const release = this.concurrency.forceAcquire(workspace.id);
    return {
      release: (tokensUsed) => {
        if (!release()) return;
        this.recordUsage(workspace.id, tokensUsed);
      },
    };
  }

  budgetRefusal(workspace: Workspace, now: number): Refusal | undefined {
    if (!workspace.tokensPerDay) return undefined;
    const usage = this.#usage.get(workspace.id);
    if (!usage || usage.day !== dayOf(now) || usage.used < workspace.tokensPerDay) return undefined;
    return { refused: "token_budget", retryAfterMs: untilNextDay(now) };
  }

  recordUsage(workspace: string, tokens: number): void {
    if (!(tokens > 0)) return;
    const day = dayOf(this.now());
    const usage = this.#usage.get(workspace);
    if (usage?.day === day) usage.used += tokens;
    else this.#usage.set(workspace, { day, used: tokens });
  }

  /** Dify tokens `workspace` used today in this process. */
  usedToday(workspace: string): number {
    const usage = this.#usage.get(workspace);
    return usage?.day === dayOf(this.now()) ? usage.used : 0;
  }

  async close(): Promise<void> {}

  #setRate(key: string, tat: number, now: number): void {
    this.#rates.set(key, tat);
    if (this.#rates.size < this.#sweepAt) return;
    // A TAT in the past means the key is back to a full burst: the same as no entry.
    for (const [k, t] of this.#rates) if (t <= now) this.#rates.delete(k);
    this.#sweepAt = Math.max(64, this.#rates.size * 2);
  }
}
