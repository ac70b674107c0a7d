/**
 * Collects what calls add during one turn of the event loop, per key, and hands each key's items to `send`
 * together once the turn's I/O callbacks have run (setImmediate), at most `max` per `send`.
 *
 * Why not ioredis's own auto-pipelining: it would still run one script per call and parse one reply per call, and
 * with the offline queue off (our bound while Redis is away) an auto-pipelined custom command sent before the
 * connection is up never settles (ioredis issue #1511). Coalescing into one script call per workspace and turn is
 * what cut the shared limiter's CPU per call (docs/PERFORMANCE.md, "Shared limits, one script call per turn").
 */
export class TurnBatches<T, R> {
  readonly #pending = new Map<string, Batch<T, R>>();
  #scheduled = false;

  constructor(
    /** Answers one result per item, in order; a rejection settles every item of the batch with it. */
    private readonly send: (key: string, items: readonly T[]) => Promise<readonly R[]>,
    private readonly max: number,
  ) {}

  /** Resolves with this item's result, once its batch has been sent and answered. */
  add(key: string, item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => this.#push(key, item, { resolve, reject }));
  }

  /** Adds an item whose result nobody waits for; `send` still runs (and reports its own failures). */
  post(key: string, item: T): void {
    this.#push(key, item, undefined);
  }

  /** Sends everything pending now, without waiting for the turn to end (on close). */
  flush(): void {
    this.#scheduled = false;
    const batches = [...this.#pending];
    this.#pending.clear();
    for (const [key, batch] of batches) this.#send(key, batch);
  }

  #push(key: string, item: T, waiter: Waiter<R> | undefined): void {
    let batch = this.#pending.get(key);
    if (batch === undefined) {
      batch = { items: [], waiters: [] };
      this.#pending.set(key, batch);
    }
    batch.items.push(item);
    batch.waiters.push(waiter);
    if (batch.items.length >= this.max) {
      this.#pending.delete(key);
      this.#send(key, batch);
    }
    if (!this.#scheduled && this.#pending.size > 0) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  #send(key: string, { items, waiters }: Batch<T, R>): void {
    let sent: Promise<readonly R[]>;
    try {
      sent = this.send(key, items);
    } catch (err) {
      // A sender that throws instead of rejecting still settles every waiter, not just the one that filled the batch.
      sent = Promise.reject(err);
    }
    sent.then(
      (results) => {
        for (let i = 0; i < waiters.length; i++) waiters[i]?.resolve(results[i] as R);
      },
      (err: unknown) => {
        for (const waiter of waiters) waiter?.reject(err);
      },
    );
  }
}

interface Waiter<R> {
  resolve(result: R): void;
  reject(err: unknown): void;
}

interface Batch<T, R> {
  readonly items: T[];
  readonly waiters: (Waiter<R> | undefined)[];
}
