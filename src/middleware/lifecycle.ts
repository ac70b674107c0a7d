import { status } from "@grpc/grpc-js";
import type { ReattachableRun } from "../core/hand-off.js";
import { GatewayError } from "../grpc/gateway-error.js";
import { SHUTTING_DOWN } from "../invoke/hand-off.js";

/** How long a caller should wait before retrying on another replica. */
const RETRY_AFTER_SHUTDOWN_MS = 1_000;

export function shuttingDown(): GatewayError {
  return new GatewayError(status.UNAVAILABLE, "the gateway is shutting down; retry on another replica", {
    reason: SHUTTING_DOWN,
    retryDelayMs: RETRY_AFTER_SHUTDOWN_MS,
  });
}

/**
 * The drain's status for a call whose workflow or Chatflow run goes on on Dify: the same UNAVAILABLE SHUTTING_DOWN,
 * naming the run so the caller re-attaches with WatchRun on another replica. The run is not stopped
 * (`isHandOffOf` in upstream-run.ts reads this status).
 */
export function handedOff(run: ReattachableRun): GatewayError {
  return new GatewayError(
    status.UNAVAILABLE,
    `the gateway is shutting down; workflow run ${run.workflowRunId} goes on: re-attach with WatchRun on another replica`,
    { reason: SHUTTING_DOWN, retryDelayMs: RETRY_AFTER_SHUTDOWN_MS, metadata: { workflowRunId: run.workflowRunId, appId: run.appId } },
  );
}

/** A call the lifecycle can end early. */
export interface Terminable {
  terminate(reason: GatewayError): void;
}

/**
 * The calls in flight and the shutdown state. On drain, new calls are refused;
 * when the grace runs out, every call still running is terminated, which
 * ends it with UNAVAILABLE and either hands its Dify run off (workflow and Chatflow runs, see `drain`) or stops it.
 */
export class Lifecycle {
  #draining = false;
  readonly #active = new Set<Terminable>();
  #onIdle: (() => void) | undefined;

  get draining(): boolean {
    return this.#draining;
  }

  get active(): number {
    return this.#active.size;
  }

  enter(call: Terminable): void {
    this.#active.add(call);
  }

  leave(call: Terminable): void {
    this.#active.delete(call);
    if (this.#active.size === 0) this.#onIdle?.();
  }

  /** Refuses new calls, waits up to `graceMs` for the running ones, then terminates the rest and waits up to `settleMs` for their answers. */
  async drain(graceMs: number, settleMs: number): Promise<{ terminated: number }> {
    this.#draining = true;
    if (await this.#idleWithin(graceMs)) return { terminated: 0 };
    const terminated = this.#active.size;
    for (const call of [...this.#active]) call.terminate(shuttingDown());
    await this.#idleWithin(settleMs);
    return { terminated };
  }

  #idleWithin(ms: number): Promise<boolean> {
    if (this.#active.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.#onIdle = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }
}
