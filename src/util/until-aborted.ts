/**
 * `pending`, or the signal's reason as soon as it aborts (a cancel, a deadline, a drain's termination).
 * `pending` itself runs on: shared work (an app's /info lookup) or a request that must be read to its end
 * (a run whose task_id is still unknown) is not cut short by one caller leaving.
 */
export function untilAborted<T>(pending: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    pending.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err as Error);
      },
    );
  });
}

/**
 * `untilAborted` for a loop that waits on one promise after another against the same signal: one abort
 * listener for the whole loop instead of one added and removed per wait. The run's chunk loop waited this way
 * once per chunk; the allocation profile of 1,000 streams charged `untilAborted` and `addEventListener` ~4 % of
 * everything allocated per relayed event (docs/PERFORMANCE.md, "Issue 18, second pass"). `dispose()` when done.
 *
 * The waits also end by `abort(reason)` (the run's idle timer), so the run needs no AbortController of its own
 * chained to the call's signal: an AbortSignal for others (a retry's sleep) is made only when `signal` is read.
 * An AbortController and its first listener cost ~4 µs per call on Node 20 (docs/PERFORMANCE.md, "Unary CPU,
 * seventh pass").
 */
export class AbortableWaits {
  #reject: ((reason: unknown) => void) | undefined;
  #aborted = false;
  #reason: unknown;
  #controller: AbortController | undefined;
  readonly #onAbort = () => this.abort(this.source.reason);

  constructor(private readonly source: AbortSignal) {
    if (source.aborted) this.abort(source.reason);
    else source.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** True once `source` aborted or `abort()` was called (before `dispose()`). */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** Why the waits ended: `source`'s reason or `abort()`'s. */
  get reason(): unknown {
    return this.#reason;
  }

  /** An AbortSignal that aborts with these waits, made on first use. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Ends the wait in progress and every later one with `reason`; only the first call counts. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#reject?.(reason);
    this.#controller?.abort(reason);
  }

  wait<T>(pending: Promise<T>): Promise<T> {
    if (this.#aborted) return Promise.reject(this.#reason as Error);
    return new Promise<T>((resolve, reject) => {
      // A settled wait's reject is left in place: rejecting a settled promise does nothing.
      this.#reject = reject;
      pending.then(resolve, reject);
    });
  }

  dispose(): void {
    this.source.removeEventListener("abort", this.#onAbort);
    this.#reject = undefined;
  }
}
