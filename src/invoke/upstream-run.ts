import type { Logger } from "pino";
import { type AppTarget, type DifyClient, secretsOf } from "../dify/client.js";
import { DifyStreamError } from "../dify/errors.js";
import { type DifyEvent, SseDecoder } from "../sse/decoder.js";
import { AbortableWaits } from "../util/until-aborted.js";
import { isHandOffOf } from "./hand-off.js";
import { type RunKind, RunTracker } from "./termination.js";

export interface RunSettings {
  idleTimeoutMs: number;
  maxEventBytes: number;
  stopTimeoutMs: number;
  /** Unary calls only: see `upstream.maxAnswerBytes`. */
  maxAnswerBytes: number;
}

export interface RunRequest {
  kind: RunKind;
  target: AppTarget;
  runPath: string;
  /**
   * Where to stop the run when the caller leaves it unfinished. Undefined for a run this call did not start
   * (a re-attach): leaving closes only our connection, and the run goes on for whoever started it.
   */
  stopPath: ((taskId: string) => string) | undefined;
  /** The run request's JSON body; undefined GETs the stream (a re-attach). */
  body: Record<string, unknown> | undefined;
  user: string;
  /** A re-attach with continue_on_pause: `workflow_paused` does not end the stream. */
  continueOnPause?: boolean;
  /** The call's deadline (epoch ms): no retry is started that would wait past it. */
  deadline?: number | undefined;
  /**
   * Streams: the events Dify sends after the terminal one are the caller's too, for this long (`TAIL_MS`). A unary
   * call has its answer at the terminal event and does not wait for them (undefined).
   */
  tailMs?: number | undefined;
}

/** What the run reports to its owner beyond its events. */
export interface RunHooks {
  /** Each stop call sent to Dify, with its outcome. */
  onStop?(result: "ok" | "failed"): void;
  /** The run was handed off (left running on Dify for a re-attach) instead of stopped. */
  onHandOff?(): void;
  /** Stop work that goes on after the call ended (never rejects). */
  track?(work: Promise<void>): void;
  /**
   * Aborted when a shutdown's budget for stop work runs out: a stop still waiting for Dify gives up at once and logs
   * that it could not confirm the stop, so the log says which runs may go on, before the gateway's last line.
   */
  abandonStops?: AbortSignal;
}

/**
 * Chunks already received join a batch while it holds fewer bytes than this (the first chunk is always taken whole,
 * and a socket read is at most 64 KiB). Dify sends each event as its own HTTP chunk, so what batching saves comes
 * from chunks that queued while the last batch was written. Small, because a batch is held decoded while a slow
 * reader takes it (docs/PERFORMANCE.md, "Batches of events").
 */
export const BATCH_BYTES = 4 * 1024;

/**
 * Runs read on at once, per process, for an event to name them after their caller left (`#stopOnceNamed`). Each
 * holds one connection to Dify and at most one event (`maxEventBytes`), for at most `idleTimeoutMs`. Past this,
 * such a run is given up at once and logged as one that could not be stopped.
 */
export const MAX_UNNAMED_RUNS = 1_000;

/** After the terminal event, how long to let Dify close the stream so its socket can be reused. */
const TAIL_GRACE_MS = 2_000;

/**
 * After the terminal event, how long a stream forwards what Dify still sends: with text-to-speech auto-play, the
 * rest of the answer's audio (`tts_message`) and `tts_message_end`, which Dify sends for up to 5 s after
 * `message_end` or `workflow_finished`; and a Chatflow's `workflow_finished`, after its `message_end`.
 */
export const TAIL_MS = 10_000;

type Chunks = AsyncIterator<Buffer>;

/** Fed to the decoder after a body that ended in a CR (`SseDecoder.endsInCR`). */
const FINAL_LF = Buffer.from("\n");

/** A body that can hand over an already queued chunk without a promise (`StreamedResponse.takeQueued`). */
interface QueuedChunks {
  takeQueued(): Buffer | undefined;
}

function queuedChunksOf(chunks: Chunks & Partial<QueuedChunks>): QueuedChunks | undefined {
  return typeof chunks.takeQueued === "function" ? (chunks as QueuedChunks) : undefined;
}

/**
 * One run on Dify: opens the SSE stream, yields its events in order, ends at
 * the terminal event, and stops the run on Dify when it is left unfinished
 * (cancel, deadline, idle timeout, drain, or a broken stream).
 *
 * Once the run request is sent, Dify may have started a run whose `task_id`
 * we do not know yet (an LLM's time to first token is often seconds, and Dify
 * sends its response headers only with the first event). Leaving then does not
 * abort the request: the body is read on in the background, one event at a time,
 * for as long as a caller would have waited for Dify (`idleTimeoutMs`, at least
 * `stopTimeoutMs`), until an event names the run, which is then stopped exactly once.
 *
 * A drain that told the caller this run's `workflowRunId` (see `isHandOffOf`) hands it off instead: the run goes
 * on on Dify for the caller to re-attach to elsewhere, and is never stopped. Every run Dify accepted is thus
 * stopped exactly once, handed off, or finished.
 */
export class UpstreamRun {
  readonly tracker: RunTracker;
  /** Set when the run was stopped on Dify, for logs and metrics. */
  stopCalled = false;
  /** Set when a drain handed the unfinished run off (left it running on Dify for a re-attach). */
  handedOff = false;
  /** performance.now() when the run was requested, and when its first event arrived. */
  startedAt: number | undefined;
  firstEventAt: number | undefined;
  /** Run requests sent to Dify: more than 1 when one that Dify cannot have acted on was retried. */
  attempts = 0;

  /** Set when the caller left before any event named the run: settles once it is stopped or given up (never rejects). */
  unnamedRun: Promise<void> | undefined;

  /** performance.now() when Dify reported the workflow paused (human input), for the call's span. */
  pausedAt: number | undefined;

  constructor(
    private readonly req: RunRequest,
    private readonly client: DifyClient,
    private readonly settings: RunSettings,
    private readonly log: Logger,
    private readonly hooks: RunHooks = {},
  ) {
    this.tracker = new RunTracker(req.kind, req.continueOnPause ?? false);
  }

  /**
   * The run's events in batches: the events of one chunk, with those of the chunks already queued behind it (see
   * BATCH_BYTES). The tracker has observed every event of a batch when it is yielded, and a batch ends at the
   * terminal event: a caller that leaves while a batch holding it is written leaves a finished run, with nothing
   * to stop.
   */
  async *batches(callSignal: AbortSignal): AsyncGenerator<readonly DifyEvent[]> {
    // A caller that left before we asked Dify costs Dify nothing.
    if (callSignal.aborted) throw callSignal.reason;
    // `upstream` ends the HTTP request; `leave` only ends our waiting for it (the caller left, or Dify went silent).
    // `leave` is not an AbortController chained to the call's signal: it listens to it directly, and makes an
    // AbortSignal only if a retry asks for one (`giveUpOn`).
    const upstream = new AbortController();
    const leave = new AbortableWaits(callSignal);
    const idle = new IdleTimer(this.settings.idleTimeoutMs, () =>
      leave.abort(new DifyStreamError("idle_timeout", `Dify sent nothing for ${this.settings.idleTimeoutMs} ms`)),
    );
    const decoder = new SseDecoder(this.settings.maxEventBytes, secretsOf(this.req.target));
    this.startedAt = performance.now();
    // Retries stop when the caller leaves or Dify goes silent (`leave`), and never outlast the call's deadline.
    const opening = this.client.openStream(this.req.target, this.req.runPath, this.req.body, upstream.signal, {
      deadline: this.req.deadline,
      // Its signal is made only if the client asks for it, after a failed attempt.
      giveUpOn: leave,
      // Each attempt gets a full idle window: a retry's wait is ours, not Dify's silence.
      onAttempt: (n) => {
        this.attempts = n;
        idle.rearm();
      },
    });
    opening.catch(ignore);
    let chunks: Chunks | undefined;
    let pending: Promise<IteratorResult<Buffer>> | undefined;
    let tail: DifyEvent[] = [];
    try {
      idle.waiting = true;
      chunks = (await leave.wait(opening))[Symbol.asyncIterator]();
      // Not waiting for Dify until the loop waits for a chunk (and re-arms the timer): the chunks taken without a
      // wait below must not run under the opening's idle window.
      idle.waiting = false;
      const queued = queuedChunksOf(chunks);
      for (;;) {
        idle.rearm();
        pending = chunks.next();
        pending.catch(ignore);
        const next = await leave.wait(pending);
        pending = undefined;
        idle.waiting = false;
        if (next.done && !decoder.endsInCR) break;
        let chunk: Buffer | undefined = next.done ? FINAL_LF : next.value;
        let batch: DifyEvent[] | undefined;
        let bytes = 0;
        // Chunks already received join the batch without a wait (no promise, no idle re-arm: we are not waiting
        // for Dify). All of it runs without yielding to the event loop, so no abort can arrive in between: the next
        // wait sees one that came while the batch was being written.
        do {
          bytes += chunk.length;
          // The decoder hands each non-empty array over for good, so the batch may reuse and trim it.
          const events = decoder.push(chunk) as DifyEvent[];
          for (let i = 0; i < events.length; i++) {
            const ev = events[i]!;
            this.firstEventAt ??= performance.now();
            this.tracker.observe(ev);
            if (ev.event === "workflow_paused") this.pausedAt ??= performance.now();
            // What follows the terminal event is not the run's: at most its tail (`TAIL_MS`).
            if (this.tracker.done) tail = events.splice(i + 1);
          }
          if (events.length > 0) {
            if (batch === undefined) batch = events;
            else for (const ev of events) batch.push(ev);
          }
          if (this.tracker.done || decoder.failure || bytes >= BATCH_BYTES) break;
          chunk = queued?.takeQueued();
        } while (chunk !== undefined);
        if (batch !== undefined) yield batch;
        if (this.tracker.done) {
          idle.dispose();
          if (this.req.tailMs !== undefined && this.tracker.mayHaveTail) yield* forwardTail(tail, chunks, decoder, leave, this.req.tailMs);
          return;
        }
        if (decoder.failure) throw decoder.failure;
      }
    } catch (err) {
      throw leave.aborted ? leave.reason : err;
    } finally {
      leave.dispose();
      idle.dispose();
      const taskId = this.tracker.taskId;
      if (this.tracker.done && chunks) void drainTail(chunks, upstream);
      else if (this.req.stopPath === undefined) upstream.abort();
      else if (callSignal.aborted && isHandOffOf(callSignal.reason, this.tracker.workflowRunId)) {
        upstream.abort();
        this.#handOff();
      } else if (this.tracker.done || taskId !== undefined) {
        upstream.abort();
        if (taskId !== undefined) this.#background(this.#stop(taskId));
      } else {
        this.unnamedRun = this.#stopOnceNamed(opening, chunks, pending, decoder, upstream);
        this.#background(this.unnamedRun);
      }
    }
  }

  /**
   * The caller is gone before any event named the run: reads on until one does, then stops it, for as long as the
   * caller would have waited for Dify's first event (`idleTimeoutMs`; at least `stopTimeoutMs`). Dify sends its
   * response headers only with its first event, so they too may still be on their way. The decoder holds at most one
   * event; events read here are only looked at, never kept. An event too large to decode may still name its run in
   * its first bytes (`decoder.taskIdHint`).
   */
  async #stopOnceNamed(
    opening: Promise<AsyncIterable<Buffer>>,
    chunks: Chunks | undefined,
    pending: Promise<IteratorResult<Buffer>> | undefined,
    decoder: SseDecoder,
    upstream: AbortController,
  ): Promise<void> {
    const waitMs = Math.max(this.settings.idleTimeoutMs, this.settings.stopTimeoutMs);
    // Why we stopped waiting while Dify may still be running the run, if we did.
    let gaveUp: string | undefined;
    const giveUp = (why: string) => {
      gaveUp ??= why;
      upstream.abort();
    };
    const onShutdown = () => giveUp("the shutdown's time ran out");
    if (UpstreamRun.#unnamed >= MAX_UNNAMED_RUNS) giveUp(`${MAX_UNNAMED_RUNS} runs were already waiting for their first event`);
    UpstreamRun.#unnamed++;
    const bound = setTimeout(() => giveUp(`no event named it within ${waitMs} ms`), waitMs);
    this.hooks.abandonStops?.addEventListener("abort", onShutdown, { once: true });
    if (this.hooks.abandonStops?.aborted) onShutdown();
    let answered = chunks !== undefined;
    const named = () => this.tracker.taskId ?? decoder.taskIdHint;
    try {
      const it = chunks ?? (await opening)[Symbol.asyncIterator]();
      answered = true;
      while (named() === undefined && !this.tracker.done) {
        const next = await (pending ?? it.next());
        pending = undefined;
        if (next.done) break;
        for (const ev of decoder.push(next.value)) {
          this.tracker.observe(ev);
          if (this.tracker.taskId !== undefined) break;
        }
      }
    } catch {
      // Dify refused the run, the connection broke, or we gave up: what we know is all we will know.
    } finally {
      UpstreamRun.#unnamed--;
      clearTimeout(bound);
      this.hooks.abandonStops?.removeEventListener("abort", onShutdown);
      upstream.abort();
    }
    const taskId = named();
    if (taskId !== undefined && !this.tracker.done) await this.#stop(taskId);
    // Dify refusing the run (an HTTP error, a refused connection) started nothing: nothing to say.
    else if ((answered || gaveUp !== undefined) && !this.tracker.done)
      this.log.warn(
        { why: gaveUp ?? "the stream ended before an event named it", headersReceived: answered },
        "the caller left a run Dify may have started, and no event named it: it could not be stopped",
      );
  }

  /** Runs in `#stopOnceNamed` now, across the process (`MAX_UNNAMED_RUNS`). */
  static #unnamed = 0;

  /** `signal`, and the shutdown's `abandonStops` when there is one. */
  #bounded(signal: AbortSignal): AbortSignal {
    return this.hooks.abandonStops ? AbortSignal.any([signal, this.hooks.abandonStops]) : signal;
  }

  /** Stop work that outlives the call: the shutdown waits for it (within its budget) before closing the Dify client. */
  #background(work: Promise<void>): void {
    this.hooks.track?.(work);
  }

  #handOff(): void {
    this.handedOff = true;
    this.log.info(
      { workflowRunId: this.tracker.workflowRunId, taskId: this.tracker.taskId },
      "handed off the unfinished run: it goes on on Dify, for the caller to re-attach to (WatchRun); not stopped",
    );
    this.hooks.onHandOff?.();
  }

  async #stop(taskId: string): Promise<void> {
    const stopPath = this.req.stopPath;
    // Exactly once per run, whichever path found it unfinished; never a run this call did not start.
    if (this.stopCalled || stopPath === undefined) return;
    this.stopCalled = true;
    try {
      await this.client.postJson(
        this.req.target,
        stopPath(taskId),
        { user: this.req.user },
        this.#bounded(AbortSignal.timeout(this.settings.stopTimeoutMs)),
        // Stopping is idempotent, and a stop not sent leaves a run burning tokens: worth a retry within its budget.
        { deadline: Date.now() + this.settings.stopTimeoutMs },
      );
      this.log.info({ taskId }, "stopped the unfinished run on Dify");
      this.hooks.onStop?.("ok");
    } catch (err) {
      const why = this.hooks.abandonStops?.aborted ? "the shutdown's time ran out before Dify answered" : (err as Error).message;
      this.log.warn({ taskId, err: why }, "could not stop the unfinished run on Dify");
      this.hooks.onStop?.("failed");
    }
  }
}

function ignore(): void {}

/**
 * Ends the wait for an upstream that sends nothing at all. It counts only while we wait for
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

  rearm(): void {
    this.#timer.refresh();
    this.waiting = true;
  }

  dispose(): void {
    clearTimeout(this.#timer);
  }
}

/**
 * The events after the terminal one, for at most `ms`: those already decoded (`first`), then what Dify still sends.
 * The run is complete: the caller leaving, the time running out or the connection breaking only ends the tail.
 */
async function* forwardTail(
  first: DifyEvent[],
  chunks: Chunks,
  decoder: SseDecoder,
  leave: AbortableWaits,
  ms: number,
): AsyncGenerator<readonly DifyEvent[]> {
  const timer = setTimeout(() => leave.abort(new Error("the tail's time is up")), ms);
  try {
    if (first.length > 0) yield first;
    for (;;) {
      const pending = chunks.next();
      pending.catch(ignore);
      const next = await leave.wait(pending);
      if (next.done) return;
      const events = decoder.push(next.value) as DifyEvent[];
      if (events.length > 0) yield events;
      if (decoder.failure) return;
    }
  } catch {
    // Over: see above.
  } finally {
    clearTimeout(timer);
  }
}

/** Reads what follows the terminal event, so a keep-alive socket goes back to the pool. */
async function drainTail(chunks: Chunks, upstream: AbortController): Promise<void> {
  const timer = setTimeout(() => upstream.abort(), TAIL_GRACE_MS);
  try {
    while (!(await chunks.next()).done) {
      // discard
    }
  } catch {
    // Aborted or cut: either way the socket is gone, nothing to report.
  } finally {
    clearTimeout(timer);
  }
}
