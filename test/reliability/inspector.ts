import { readdirSync, readlinkSync } from "node:fs";
import { WebSocket } from "undici";

/**
 * A minimal Chrome DevTools Protocol session to a process started with `--inspect=127.0.0.1:0`: the test reads
 * the gateway's heap after a full GC without any test hook in production code.
 */
export class Inspector {
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener("message", (ev) => {
      const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string } };
      if (msg.id === undefined) return;
      const waiter = this.#pending.get(msg.id);
      this.#pending.delete(msg.id);
      if (msg.error) waiter?.reject(new Error(msg.error.message));
      else waiter?.resolve(msg.result);
    });
  }

  /** `line` is the process's "Debugger listening on ws://…" stderr line. */
  static async connect(line: string): Promise<Inspector> {
    const url = /ws:\/\/\S+/.exec(line)?.[0];
    if (!url) throw new Error(`no inspector url in: ${line}`);
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error(`cannot connect to the inspector at ${url}`)), { once: true });
    });
    return new Inspector(ws);
  }

  send(method: string, params: object = {}): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** V8 heap in use after full collections; the smallest of a few readings, so a collection in progress does not count. */
  async heapUsedAfterGc(): Promise<number> {
    let least = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 3; i++) {
      await this.send("HeapProfiler.collectGarbage");
      const result = (await this.send("Runtime.evaluate", { expression: "process.memoryUsage().heapUsed", returnByValue: true })) as {
        result: { value: number };
      };
      least = Math.min(least, result.result.value);
    }
    return least;
  }

  close(): void {
    this.ws.close();
  }
}

/** Open file descriptors of a process, and how many of them are sockets. */
export function openFds(pid: number): { fds: number; sockets: number } {
  const entries = readdirSync(`/proc/${pid}/fd`);
  let sockets = 0;
  for (const fd of entries) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:")) sockets++;
    } catch {
      // Closed between the listing and the read.
    }
  }
  return { fds: entries.length, sockets };
}
