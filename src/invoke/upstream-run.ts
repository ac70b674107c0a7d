import type { Logger } from "pino";
import type { AppTarget, DifyClient } from "../dify/client.js";
import { DifyStreamError } from "../dify/errors.js";
import { SseDecoder, type DifyEvent } from "../sse/decoder.js";
import { RunTracker, type RunKind } from "./termination.js";

export interface RunSettings {
  idleTimeoutMs: number;
  maxEventBytes: number;
  stopTimeoutMs: number;
}

export interface RunRequest {
  kind: RunKind;
  target: AppTarget;
  runPath: string;
  stopPath(taskId: string): string;
  body: Record<string, unknown>;
  user: string;
}

/** After the terminal event, how long to let Dify close the stream so its socket can be reused. */
const TAIL_GRACE_MS = 2_000;

/**
 * One run on Dify: opens the SSE stream, yields its events in order, ends at
 * the terminal event, and stops the run on Dify when it is left unfinished
 * (cancel, deadline, idle timeout, or a broken stream).
 */
export class UpstreamRun {
  readonly tracker: RunTracker;
  /** Set when the run was stopped on Dify, for logs and metrics. */
  stopCalled = false;
  /** performance.now() when the run was requested, and when its first event arrived. */
  startedAt: number | undefined;
  firstEventAt: number | undefined;

  constructor(
    private readonly req: RunRequest,
    private readonly client: DifyClient,
    private readonly settings: RunSettings,
    private readonly log: Logger,
    private readonly onStop: (result: "ok" | "failed") => void = () => {},
  ) {
    this.tracker = new RunTracker(req.kind);
  }

  async *events(callSignal: AbortSignal): AsyncGenerator<DifyEvent> {
    const upstream = new AbortController();
    const onCallAbort = () => upstream.abort(callSignal.reason);
    if (callSignal.aborted) onCallAbort();
    else callSignal.addEventListener("abort", onCallAbort, { once: true });
    const idle = new IdleTimer(this.settings.idleTimeoutMs, () =>
      upstream.abort(new DifyStreamError("idle_timeout", `Dify sent nothing for ${this.settings.idleTimeoutMs} ms`)),
    );
    let body: AsyncIterable<Buffer> | undefined;
    try {
      idle.waiting = true;
      this.startedAt = performance.now();
      body = await this.client.openStream(this.req.target, this.req.runPath, this.req.body, upstream.signal);
      const decoder = new SseDecoder(this.settings.maxEventBytes, this.req.target.key.reveal());
      chunks: for await (const chunk of idle.watch(body)) {
        for (const ev of decoder.push(chunk)) {
          this.firstEventAt ??= performance.now();
          this.tracker.observe(ev);
          yield ev;
          if (this.tracker.done) break chunks;
        }
        if (decoder.failure) throw decoder.failure;
      }
    } catch (err) {
      // undici reports an abort as its own error; the reason we aborted with is the truth.
      throw upstream.signal.aborted ? upstream.signal.reason : err;
    } finally {
      idle.dispose();
      callSignal.removeEventListener("abort", onCallAbort);
      if (this.tracker.done && body) void drainTail(body, upstream);
      else upstream.abort();
      if (!this.tracker.done && this.tracker.taskId !== undefined) void this.#stop(this.tracker.taskId);
    }
  }

  async #stop(taskId: string): Promise<void> {
    this.stopCalled = true;
    try {
      await this.client.postJson(this.req.target, this.req.stopPath(taskId), { user: this.req.user }, AbortSignal.timeout(this.settings.stopTimeoutMs));
      this.log.info({ taskId }, "stopped the unfinished run on Dify");
      this.onStop("ok");
    } catch (err) {
      this.log.warn({ taskId, err: (err as Error).message }, "could not stop the unfinished run on Dify");
      this.onStop("failed");
    }
  }
}

/**
 * Ends an upstream that sends nothing at all. It runs only while we wait for
 * Dify, so a slow gRPC reader (backpressure) never counts as upstream silence.
 * Pings are bytes, so they count as activity, as they should.
 */
class IdleTimer {
  /** True while we wait for Dify; a timer that fires otherwise is ignored. */
  waiting = false;
  // One timer per run, re-armed with refresh(): no allocation per chunk on the hot path.
  readonly #timer: NodeJS.Timeout;

  constructor(ms: number, onIdle: () => void) {
    this.#timer = setTimeout(() => this.waiting && onIdle(), ms);
  }

  dispose(): void {
    clearTimeout(this.#timer);
  }

  async *watch(body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    const it = body[Symbol.asyncIterator]();
    for (;;) {
      this.#timer.refresh();
      this.waiting = true;
      const next = await it.next();
      this.waiting = false;
      if (next.done) return;
      yield next.value;
    }
  }
}

/** Reads what follows the terminal event, so a keep-alive socket goes back to the pool. */
async function drainTail(body: AsyncIterable<Buffer>, upstream: AbortController): Promise<void> {
  const timer = setTimeout(() => upstream.abort(), TAIL_GRACE_MS);
  try {
    for await (const _ of body) {
      // discard
    }
  } catch {
    // Aborted or cut: either way the socket is gone, nothing to report.
  } finally {
    clearTimeout(timer);
  }
}
