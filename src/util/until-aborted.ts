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
