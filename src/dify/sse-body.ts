import type { IncomingHttpHeaders } from "node:http";
import type { Dispatcher } from "undici";

/*
 * Why hand-written: undici's `request()` hands the body over as a Node Readable (its `BodyReadable`), and every
 * SSE chunk then went through the Readable's machinery (`push`, `maybeReadMore`, `read`, 'readable' events) before
 * the decoder saw it: ~14 % of what the gateway allocated per relayed event at 1,000 streams, and per stream a
 * Readable, its state, its listeners and the reader's closures, all held for the stream's life
 * (docs/PERFORMANCE.md, "Memory per stream, fourth pass"). This is an undici dispatch handler
 * (`Dispatcher.dispatch`, the documented controller API) that queues the chunks itself and is read as an async
 * iterator, with the same backpressure: once `highWaterMark` bytes wait unread it pauses the response
 * (`controller.pause()`, so undici stops reading the socket) and resumes when the reader has taken them.
 */

/** The response's status line and headers, as `request()` gives them. */
export interface ResponseHead {
  statusCode: number;
  headers: IncomingHttpHeaders;
}

const DONE: IteratorResult<Buffer> = Object.freeze({ value: undefined, done: true });

/**
 * A chunk undici hands on is a view of the socket read its parser ran over, and that read can be hundreds of KiB
 * when Dify wrote ahead (0.25-0.5 MiB seen in heap snapshots). A queued view of one small SSE event would keep the
 * whole read alive for as long as the caller takes to read it, so a view that is a small part of a large buffer is
 * queued as a copy (not from Node's shared 8 KiB pool, whose slab a copy would keep alive in turn). "Small":
 * the buffer is more than `maxShare` times the view (and over 16 KiB).
 */
export function compact(chunk: Buffer, maxShare = 4): Buffer {
  const backing = chunk.buffer.byteLength;
  if (backing <= 16 * 1024 || backing <= maxShare * chunk.byteLength) return chunk;
  const copy = Buffer.allocUnsafeSlow(chunk.byteLength);
  chunk.copy(copy);
  return copy;
}

/**
 * One streamed response. `head` settles with the status and headers (or the request's failure before them);
 * the object itself iterates over the body's chunks: a clean end is `done`, an error or an abort before the end
 * throws (mapped by `mapError`), and `return()` aborts the request. `onEnd` runs once, when the iteration ends for
 * any reason, with the (mapped) failure if any. Aborting `signal` aborts the request at any point.
 */
export class StreamedResponse implements Dispatcher.DispatchHandler, AsyncIterableIterator<Buffer> {
  readonly head: Promise<ResponseHead>;
  onEnd: ((failure?: unknown) => void) | undefined;
  #headResolve!: (head: ResponseHead) => void;
  #headReject!: (err: unknown) => void;
  #headers = false;
  #controller: Dispatcher.DispatchController | undefined;
  /** Chunks received and not yet read, and their bytes. */
  #chunks: Buffer[] = [];
  #queued = 0;
  /** undefined: not finished yet; null: ended cleanly; otherwise the request's error. */
  #ending: unknown;
  #over = false;
  #wake: ((result: IteratorResult<Buffer>) => void) | undefined;
  #fail: ((err: unknown) => void) | undefined;
  #waiting: Promise<IteratorResult<Buffer>> | undefined;
  readonly #onAbort = () => this.#abort(this.signal.reason);

  constructor(
    private readonly highWaterMark: number,
    private readonly signal: AbortSignal,
    private readonly mapError: (err: unknown) => unknown,
  ) {
    this.head = new Promise<ResponseHead>((resolve, reject) => {
      this.#headResolve = resolve;
      this.#headReject = reject;
    });
    signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.signal.aborted) controller.abort(this.signal.reason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // 1xx answers are not the response.
    if (statusCode < 200) return;
    this.#headers = true;
    this.#headResolve({ statusCode, headers });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const wake = this.#wake;
    if (wake) {
      this.#wake = this.#fail = this.#waiting = undefined;
      wake({ value: chunk, done: false });
      return;
    }
    const kept = compact(chunk);
    this.#chunks.push(kept);
    this.#queued += kept.length;
    if (this.#queued >= this.highWaterMark) controller.pause();
  }

  onResponseEnd(): void {
    this.#finish(null);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (!this.#headers) {
      this.#release();
      this.#headReject(err);
    }
    this.#finish(err);
  }

  next(): Promise<IteratorResult<Buffer>> {
    // A next() while one waits is queued behind it, as a generator's would be.
    const waiting = this.#waiting;
    if (waiting) {
      const after = () => this.next();
      return waiting.then(after, after);
    }
    if (this.#over) return Promise.resolve(DONE);
    const chunk = this.#chunks.shift();
    if (chunk !== undefined) {
      this.#queued -= chunk.length;
      // Resumed only once all of it was read, never per chunk: see STREAM_BODY_HIGH_WATER_MARK.
      if (this.#queued === 0 && this.#controller?.paused) this.#controller.resume();
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.#ending === null) {
      this.#end();
      return Promise.resolve(DONE);
    }
    if (this.#ending !== undefined) return this.#failWith(this.#ending);
    this.#waiting = new Promise<IteratorResult<Buffer>>((resolve, reject) => {
      this.#wake = resolve;
      this.#fail = reject;
    });
    return this.#waiting;
  }

  /**
   * The next chunk if one is queued and nothing else is pending, without a promise; undefined otherwise (then
   * `next()` says what comes). A reader that keeps up gets no chunk this way; one behind (a stream relayed faster
   * than one event per socket read) skips a promise, its iterator result and an await per chunk.
   */
  takeQueued(): Buffer | undefined {
    if (this.#waiting || this.#over) return undefined;
    const chunk = this.#chunks.shift();
    if (chunk === undefined) return undefined;
    this.#queued -= chunk.length;
    // As in next(): resumed only once all of it was read.
    if (this.#queued === 0 && this.#controller?.paused) this.#controller.resume();
    return chunk;
  }

  return(): Promise<IteratorResult<Buffer>> {
    this.#end();
    this.#abort(new Error("the response body was abandoned"));
    return Promise.resolve(DONE);
  }

  throw(err: unknown): Promise<IteratorResult<Buffer>> {
    this.#abort(err);
    return this.#failWith(err);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #abort(reason: unknown): void {
    const controller = this.#controller;
    if (controller && !controller.aborted && this.#ending === undefined) controller.abort(reason as Error);
  }

  /** The request is over (`err` null: the body ended); a reader waiting now learns it. */
  #finish(err: unknown): void {
    if (this.#ending !== undefined) return;
    this.#ending = err;
    this.#release();
    const wake = this.#wake;
    const fail = this.#fail;
    this.#wake = this.#fail = this.#waiting = undefined;
    if (!wake || !fail) return;
    if (err === null) {
      this.#end();
      wake(DONE);
    } else this.#failWith(err).catch(fail);
  }

  #failWith(err: unknown): Promise<IteratorResult<Buffer>> {
    if (this.#over) return Promise.resolve(DONE);
    const failure = this.mapError(err);
    this.#end(failure);
    return Promise.reject(failure);
  }

  #end(failure?: unknown): void {
    if (this.#over) return;
    this.#over = true;
    this.#chunks = [];
    this.#queued = 0;
    this.onEnd?.(failure);
  }

  #release(): void {
    this.signal.removeEventListener("abort", this.#onAbort);
  }
}
