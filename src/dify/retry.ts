/*
 * Retries of requests Dify cannot have acted on. Hand-written rather than undici's RetryAgent: that handler
 * decides on the status alone (it cannot tell Dify's 429 too_many_requests from rate_limit_error, whose code is
 * in the body), retries ECONNRESET and socket errors after the request was written (a run may have started),
 * and has no per-process budget, no deadline and no per-call attempt count.
 */

/** `upstream.retry`, read per request so a reload applies. */
export interface RetrySettings {
  /** Attempts in all, the first included; 1 turns retries off. */
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Retries may add at most this share of the requests of the last `BUDGET_WINDOW_MS`, plus `BUDGET_MIN_RETRIES`. */
  readonly budgetRatio: number;
  /** A Retry-After longer than this is not waited for: the caller gets the error and its RetryInfo. */
  readonly maxRetryAfterMs: number;
}

/** Why an attempt was retried: the metric label `reason`. */
export type RetryReason = "connect_error" | "http_502" | "http_503" | "http_504" | "too_many_requests";
/** Why a retryable failure was not retried after all: the metric label `cause`. */
export type RetryDenial = "max_attempts" | "budget" | "deadline" | "retry_after";

/**
 * A failure of an attempt that cannot have reached Dify's run: what to throw if it is not retried,
 * and how long Dify asked us to wait.
 */
export class RetryableFailure extends Error {
  constructor(
    readonly reason: RetryReason,
    readonly error: Error,
    readonly retryAfterMs: number | undefined,
  ) {
    super(error.message);
    this.name = "RetryableFailure";
  }
}

/**
 * Network failures before the request could be written: the connection was never made. Anything later
 * (ECONNRESET, undici's UND_ERR_SOCKET "other side closed", a TLS alert) may come after Dify read the
 * request, so it is never retried. ENOTFOUND is a wrong host name, not a passing state.
 */
const CONNECT_CODES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ENETDOWN", "EAI_AGAIN"]);

export function isConnectFailure(err: unknown): boolean {
  const { code, syscall } = (err ?? {}) as { code?: unknown; syscall?: unknown };
  if (code === "UND_ERR_CONNECT_TIMEOUT") return true;
  if (syscall !== "connect" && syscall !== "getaddrinfo") return false;
  return typeof code === "string" && (CONNECT_CODES.has(code) || (code === "ETIMEDOUT" && syscall === "connect"));
}

/** HTTP answers given before any run started: a proxy without an upstream, and Dify's own concurrency limit. */
export function httpRetryReason(statusCode: number, difyCode: string): RetryReason | undefined {
  if (statusCode === 502) return "http_502";
  if (statusCode === 503) return "http_503";
  if (statusCode === 504) return "http_504";
  if (statusCode === 429 && difyCode === "too_many_requests") return "too_many_requests";
  return undefined;
}

/** The sliding window of the retry budget, and the retries always allowed in it. */
export const BUDGET_WINDOW_MS = 10_000;
export const BUDGET_MIN_RETRIES = 3;
const BUCKETS = 10;

/**
 * At most `ratio` × requests + `BUDGET_MIN_RETRIES` retries over the last `BUDGET_WINDOW_MS`, per process (the
 * Finagle RetryBudget idea). A Dify that fails every request then sees at most that many extra requests,
 * instead of `maxAttempts` times the load. Ten one-second buckets: O(1) per request, whatever the rate.
 */
export class RetryBudget {
  readonly #requests = new Array<number>(BUCKETS).fill(0);
  readonly #retries = new Array<number>(BUCKETS).fill(0);
  #bucket = 0;
  #bucketStart = 0;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.#bucketStart = now();
  }

  /** A first attempt. */
  recordRequest(): void {
    this.#advance();
    this.#requests[this.#bucket]!++;
  }

  /** Takes one retry from the budget, if there is one left. */
  tryRetry(ratio: number): boolean {
    this.#advance();
    const requests = sum(this.#requests);
    const retries = sum(this.#retries);
    if (retries >= Math.floor(ratio * requests) + BUDGET_MIN_RETRIES) return false;
    this.#retries[this.#bucket]!++;
    return true;
  }

  #advance(): void {
    const width = BUDGET_WINDOW_MS / BUCKETS;
    const elapsed = Math.floor((this.now() - this.#bucketStart) / width);
    if (elapsed <= 0) return;
    for (let i = 1; i <= Math.min(elapsed, BUCKETS); i++) {
      const b = (this.#bucket + i) % BUCKETS;
      this.#requests[b] = 0;
      this.#retries[b] = 0;
    }
    this.#bucket = (this.#bucket + elapsed) % BUCKETS;
    this.#bucketStart += elapsed * width;
  }
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/** Exponential backoff with full jitter (gRPC's A6 policy): uniform in [0, min(max, initial × 2^(retry-1))). */
export function backoffMs(retry: number, settings: RetrySettings, random: () => number = Math.random): number {
  const ceiling = Math.min(settings.maxBackoffMs, settings.initialBackoffMs * 2 ** (retry - 1));
  return Math.floor(random() * ceiling);
}

/** Retry-After as delta-seconds or an HTTP-date, in ms from now; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
