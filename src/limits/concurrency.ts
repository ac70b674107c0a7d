import { status } from "@grpc/grpc-js";
import { GatewayError } from "../grpc/gateway-error.js";

/** How long a refused caller should wait: long enough for a typical call to end, short enough to feel live. */
const RETRY_AFTER_MS = 1_000;

/** Gives a slot back and says whether it did: calling it again does nothing, so every way a call can end may call it. */
export type Release = () => boolean;

/**
 * Calls in flight per workspace. Counts are keyed by workspace id and the
 * limit is passed per call, so a reloaded config applies to the next call
 * while calls in flight keep the slots they hold.
 */
export class ConcurrencyLimiter {
  readonly #inFlight = new Map<string, number>();

  /** `onChange` sees every new count, for a gauge. */
  constructor(private readonly onChange: (key: string, inFlight: number) => void = () => {}) {}

  /** A slot for `key` if it holds fewer than `limit`, else undefined. */
  tryAcquire(key: string, limit: number): Release | undefined {
    if (this.inFlight(key) >= limit) return undefined;
    return this.forceAcquire(key);
  }

  /** A slot whatever the count: for a call another limiter (the shared one) admitted. */
  forceAcquire(key: string): Release {
    this.#set(key, this.inFlight(key) + 1);
    let released = false;
    return () => {
      if (released) return false;
      released = true;
      this.#set(key, this.inFlight(key) - 1);
      return true;
    };
  }

  inFlight(key: string): number {
    return this.#inFlight.get(key) ?? 0;
  }

  #set(key: string, n: number): void {
    // Dropping zeros keeps the map to the workspaces that are busy, also across reloads that remove some.
    if (n === 0) this.#inFlight.delete(key);
    else this.#inFlight.set(key, n);
    this.onChange(key, n);
  }
}

export function workspaceConcurrencyLimit(workspace: string, limit: number): GatewayError {
  return new GatewayError(
    status.RESOURCE_EXHAUSTED,
    `workspace ${JSON.stringify(workspace)} already has ${limit} calls in flight, its limit; retry later`,
    {
      reason: "WORKSPACE_CONCURRENCY_LIMIT",
      metadata: { workspace, limit: String(limit) },
      retryDelayMs: RETRY_AFTER_MS,
      quotaViolation: { subject: `workspace:${workspace}`, description: `at most ${limit} concurrent calls` },
    },
  );
}
