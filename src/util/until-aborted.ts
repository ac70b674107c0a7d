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
 */
export class AbortableWaits {
  #reject: ((reason: unknown) => void) | undefined;
  readonly #onAbort = () => this.#reject?.(this.signal.reason);

  constructor(private readonly signal: AbortSignal) {
    signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  wait<T>(pending: Promise<T>): Promise<T> {
    if (this.signal.aborted) return Promise.reject(this.signal.reason as Error);
    return new Promise<T>((resolve, reject) => {
      // A settled wait's reject is left in place: rejecting a settled promise does nothing.
      this.#reject = reject;
      pending.then(resolve, reject);
    });
  }

  dispose(): void {
    this.signal.removeEventListener("abort", this.#onAbort);
    this.#reject = undefined;
  }
}
