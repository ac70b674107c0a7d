import { status } from "@grpc/grpc-js";
import type { DifyDict, DifyEventStream } from "./app-client.js";
import { AppInvokeError } from "./errors.js";

/**
 * Yielded when the stream went on through a re-attach: the gateway handed the run off during a drain, and the
 * iterator followed it with WatchRun on another replica. Text chunks (`message`, `text_chunk`, …) Dify emitted while
 * nobody was attached can be missing, so `chunks_may_be_missing` is always true: the stream is not whole.
 */
export const REATTACHED_EVENT = "gateway_reattached";
/**
 * Yielded last after a re-attach: the run's detail from GetWorkflowRun (`data`: `status`, `outputs`, …), which Dify's
 * streaming guide says to trust over a re-attached stream.
 */
export const RUN_CONFIRMED_EVENT = "gateway_run_confirmed";

export interface Reattach {
  /** WatchRun on the run with `include_state_snapshot` and the stream's own user. */
  watch(workflowRunId: string): DifyEventStream;
  getRun(workflowRunId: string): Promise<DifyDict>;
  /** At most this many re-attaches per stream (0: none, the hand-off error is thrown). */
  maxReattaches: number;
  signal: AbortSignal | undefined;
}

/** The backoff when the gateway sent no RetryInfo: 250 ms, doubling, at most 5 s. */
const BASE_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5_000;

/**
 * A workflow or Chatflow stream that survives a gateway's drain: on UNAVAILABLE SHUTTING_DOWN naming the run
 * (`workflowRunId`), it waits as RetryInfo says, re-attaches, drops the replayed node events the caller already
 * saw (same event and node execution), passes on the rest, and ends with the run's detail.
 */
export async function* reattaching(first: DifyEventStream, r: Reattach): DifyEventStream {
  const seen = new Set<string>();
  let runId: string | undefined;
  let stream = first;
  let reattaches = 0;
  for (;;) {
    try {
      for await (const event of stream) {
        if (typeof event.workflow_run_id === "string") runId ??= event.workflow_run_id;
        const key = replayKey(event);
        if (key !== undefined) {
          if (seen.has(key)) continue;
          seen.add(key);
        }
        yield event;
      }
      break;
    } catch (err) {
      const target = reattachTarget(err, runId, reattaches > 0);
      if (target === undefined || reattaches >= r.maxReattaches) throw err;
      reattaches++;
      await sleep(Math.max((err as AppInvokeError).retryDelayMs ?? 0, backoff(reattaches)), r.signal);
      runId = target;
      yield { event: REATTACHED_EVENT, workflow_run_id: target, reattach: reattaches, chunks_may_be_missing: true };
      stream = r.watch(target);
    }
  }
  if (reattaches > 0 && runId !== undefined) yield { event: RUN_CONFIRMED_EVENT, workflow_run_id: runId, data: await r.getRun(runId) };
}

/**
 * The run to re-attach to, or undefined when the failure is not one to follow. The first stream follows only a
 * drain that named its run (any other UNAVAILABLE may have stopped it); a WatchRun, which never starts or stops
 * anything, is retried on any UNAVAILABLE (the next replica may not be reachable yet).
 */
function reattachTarget(err: unknown, runId: string | undefined, watching: boolean): string | undefined {
  if (!(err instanceof AppInvokeError) || err.code !== status.UNAVAILABLE) return undefined;
  const named = err.reason === "SHUTTING_DOWN" ? err.metadata.workflowRunId : undefined;
  return named || (watching ? runId : undefined);
}

/**
 * What identifies an event a snapshot replays: the workflow's start, and each node, iteration and loop event by its
 * execution id (and its round). Text chunks and the run's end are never dropped.
 */
function replayKey(event: DifyDict): string | undefined {
  const name = String(event.event);
  if (name === "workflow_started") return `${name}:${String(event.workflow_run_id)}`;
  if (!/^(node|iteration|loop)_/.test(name)) return undefined;
  const data = (event.data ?? {}) as DifyDict;
  if (typeof data.id !== "string") return undefined;
  return [name, data.id, data.index ?? "", data.retry_index ?? ""].join(":");
}

function backoff(attempt: number): number {
  return Math.min(BASE_BACKOFF_MS * 2 ** (attempt - 1), MAX_BACKOFF_MS);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
