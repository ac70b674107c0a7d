/** Lets a running generation be stopped (stop API) or abandoned (client gone, server closing) while it waits. */
export class RunControl {
  private stopRequested = false;
  private readonly wakers = new Set<() => void>();

  constructor(private readonly signal: AbortSignal) {
    signal.addEventListener("abort", () => this.wakeAll(), { once: true });
  }

  get stopped(): boolean {
    return this.stopRequested;
  }

  /** The client or the server went away: produce nothing more. */
  get abandoned(): boolean {
    return this.signal.aborted;
  }

  requestStop(): void {
    this.stopRequested = true;
    this.wakeAll();
  }

  /** Waits `ms`, returning early on stop or abandonment so both take effect promptly. */
  async pause(ms: number): Promise<void> {
    if (ms <= 0 || this.stopRequested || this.signal.aborted) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  /** Waits until the client or the server goes away. */
  untilAbandoned(): Promise<void> {
    if (this.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.signal.addEventListener("abort", () => resolve(), { once: true }));
  }

  private wakeAll(): void {
    for (const wake of [...this.wakers]) wake();
  }
}
