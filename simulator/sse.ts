/**
 * Writes a run as Server-Sent Events framed exactly like Dify ([api] base_app_generator.py
 * `convert_to_event_stream`): one `data: <compact JSON>` line per event, bare `event: ping` keep-alives, nothing else.
 */
import type { ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { whenAborted } from "./http-io.js";
import type { Step } from "./steps.js";

/** How long a mid-stream reset waits after the last bytes; see the 'reset' step. */
const RESET_GRACE_MS = 25;

export const PING_FRAME = "event: ping\n\n";

/**
 * The response head of a stream. Dify as deployed sits behind nginx, which keeps client connections alive
 * across SSE responses (chunked framing ends each one); a Dify served without such a proxy may close the
 * connection after each response instead (docs/dify-upstream.md, "Streaming (SSE) framing"): `connectionClose`.
 * No Cache-Control / X-Accel-Buffering: Dify does not send them either (langgenius/dify#41556).
 */
export function writeSseHead(res: ServerResponse, connectionClose: boolean): void {
  res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8", ...(connectionClose ? { Connection: "close" } : {}) });
  res.flushHeaders();
}

export function dataFrame(event: unknown): string {
  return `data: ${JSON.stringify(event)}\n\n`;
}

/** Writes frames with backpressure: a slow reader pauses the run instead of growing a buffer. */
class FrameWriter {
  constructor(
    private readonly res: ServerResponse,
    private readonly signal: AbortSignal,
  ) {}

  get open(): boolean {
    return !this.res.destroyed && !this.res.writableEnded && !this.signal.aborted;
  }

  async write(frame: string): Promise<void> {
    if (!this.open || this.res.write(frame)) return;
    await this.drained();
  }

  /** Resolves once everything written so far has been handed to the OS. */
  flushed(): Promise<void> {
    if (!this.open) return Promise.resolve();
    return new Promise((resolve) => this.res.write("", () => resolve()));
  }

  /** Keep-alives are skipped while data is already queued: the connection is not idle then. */
  ping(): void {
    if (this.open && !this.res.writableNeedDrain) this.res.write(PING_FRAME);
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.res.off("drain", done);
        this.signal.removeEventListener("abort", done);
        resolve();
      };
      this.res.on("drain", done);
      this.signal.addEventListener("abort", done, { once: true });
    });
  }
}

class Pinger {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly writer: FrameWriter) {}

  /** 0 turns keep-alives off. */
  every(ms: number): void {
    this.stop();
    if (ms > 0) this.timer = setInterval(() => this.writer.ping(), ms);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

export async function streamSteps(
  res: ServerResponse,
  steps: AsyncIterable<Step>,
  options: { pingIntervalMs: number; signal: AbortSignal; connectionClose: boolean; onEvent?: (() => void) | undefined },
): Promise<void> {
  const { signal } = options;
  writeSseHead(res, options.connectionClose);
  const writer = new FrameWriter(res, signal);
  const pinger = new Pinger(writer);
  pinger.every(options.pingIntervalMs);
  try {
    for await (const step of steps) {
      if (!writer.open) return;
      switch (step.kind) {
        case "event":
          await writer.write(dataFrame(step.event));
          options.onEvent?.();
          break;
        case "ping":
          await writer.write(PING_FRAME);
          break;
        case "raw":
          await writer.write(step.text);
          break;
        case "silence":
          pinger.stop();
          await whenAborted(signal);
          return;
        case "pings_forever":
          pinger.every(step.everyMs);
          await whenAborted(signal);
          return;
        case "hold_then_end":
          pinger.stop();
          await sleep(step.ms, undefined, { signal }).catch(() => undefined);
          res.end();
          return;
        case "end":
          res.end();
          return;
        case "reset":
          pinger.stop();
          // Let the client take in what was sent first, so it sees the events and then the broken connection.
          await writer.flushed();
          await sleep(RESET_GRACE_MS, undefined, { signal }).catch(() => undefined);
          res.destroy();
          return;
      }
    }
    res.end();
  } finally {
    pinger.stop();
  }
}
