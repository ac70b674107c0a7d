import { type CallOptions, type ClientUnaryCall, type Metadata, type ServiceError, status } from "@grpc/grpc-js";
import type { DifyDict, DifyEventStream, StreamStarter, UnaryResponse, UnaryStarter } from "./app-client.js";
import { AppInvokeError } from "./errors.js";

export interface CallControl {
  metadata: Metadata;
  callOptions: Partial<CallOptions>;
  signal: AbortSignal | undefined;
  /** The client's calls in flight, which close() cancels. */
  calls: ActiveCalls;
}

/** What close() needs of a call in flight. */
interface Cancellable {
  cancel(): void;
}

/**
 * The calls of one client still running (unary, streams, uploads, watches): close() cancels them, and a call
 * started after close() throws instead of reaching a closed channel.
 */
export class ActiveCalls {
  readonly #calls = new Set<Cancellable>();
  #closed = false;

  /** Throws once the client is closed: called before a call starts. */
  checkOpen(): void {
    if (this.#closed) throw new Error("the client is closed: close() was called, create a new client for more calls");
  }

  /** Tracks a call until the returned function is called (when it ended). */
  add(call: Cancellable): () => void {
    this.#calls.add(call);
    return () => {
      this.#calls.delete(call);
    };
  }

  /** Cancels every call in flight: each ends with CANCELLED, and the gateway stops its Dify run. */
  close(): void {
    this.#closed = true;
    const calls = [...this.#calls];
    this.#calls.clear();
    for (const call of calls) call.cancel();
  }
}

/** A unary call as grpc-js starts it, with the callback it calls once. */
export type UnaryStart<R> = (
  md: Metadata,
  options: Partial<CallOptions>,
  cb: (err: ServiceError | null, res: R) => void,
) => ClientUnaryCall;

/**
 * A unary call as a Promise. Nothing here can throw inside grpc-js's callback: what the callback does is settle
 * the promise (a throw there would be uncaught, and end the caller's process).
 */
export function unary<R, T = R>(
  start: UnaryStart<R>,
  { metadata, callOptions, signal, calls }: CallControl,
  map: (res: R) => T = (res) => res as unknown as T,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    calls.checkOpen();
    let call: ClientUnaryCall | undefined;
    const onAbort = () => call?.cancel();
    signal?.addEventListener("abort", onAbort, { once: true });
    let untrack: () => void = () => {};
    try {
      call = start(metadata, callOptions, (err, res) => {
        try {
          untrack();
          signal?.removeEventListener("abort", onAbort);
          if (err) reject(toError(err, signal));
          else resolve(map(res));
        } catch (e) {
          reject(e);
        }
      });
    } catch (err) {
      signal?.removeEventListener("abort", onAbort);
      throw err;
    }
    untrack = calls.add(call);
  });
}

/**
 * A unary call: resolves to the response's `raw`, the blocking-mode dict, plus `pause` when the run stopped for
 * human input and `reasoning` when the model's reasoning came separately (keys Dify's dict does not use), in
 * Dify's snake_case like the rest of the dict.
 */
export function unaryResult(start: UnaryStarter, control: CallControl): Promise<DifyDict> {
  return unary<UnaryResponse, DifyDict>(start, control, withExtras);
}

/**
 * A server stream as an async generator of the messages' `raw` dicts. Lazy like a Python generator:
 * the call starts with the first `next()`. Reading is pulled, so a slow consumer holds the stream
 * back (grpc-js applies HTTP/2 flow control, the gateway then pauses Dify).
 */
export async function* streamEvents(start: StreamStarter, { metadata, callOptions, signal, calls }: CallControl): DifyEventStream {
  if (signal?.aborted) throw signal.reason;
  calls.checkOpen();
  const call = start(metadata, callOptions);
  const untrack = calls.add(call);
  // Once the loop below has stopped listening, the CANCELLED status our own cancel() causes would
  // otherwise be an unhandled 'error' event.
  call.on("error", () => {});
  const onAbort = () => call.cancel();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const message of call) yield (message as { raw?: DifyDict }).raw ?? {};
  } catch (err) {
    throw toError(err, signal);
  } finally {
    untrack();
    signal?.removeEventListener("abort", onAbort);
    // A consumer that stops early (break, return(), a throw in its loop body) lands here with the
    // call still open: cancelling makes the gateway stop the Dify run. After the end, a no-op.
    call.cancel();
  }
}

export function toError(err: unknown, signal: AbortSignal | undefined): unknown {
  // Anything else (a closed channel, say) is not a call status: pass it on as it is.
  if (!isServiceError(err)) return err;
  // Our abort: report it the way fetch() does, with the signal's reason.
  if (signal?.aborted && err.code === status.CANCELLED) return signal.reason;
  return AppInvokeError.fromServiceError(err);
}

function isServiceError(err: unknown): err is ServiceError {
  return (
    err instanceof Error &&
    typeof (err as Partial<ServiceError>).code === "number" &&
    typeof (err as Partial<ServiceError>).details === "string"
  );
}

function withExtras(res: UnaryResponse): DifyDict {
  const dict: DifyDict = { ...res.raw };
  if (res.pause)
    dict.pause = {
      workflow_run_id: res.pause.workflowRunId,
      forms: res.pause.forms.map((f) => ({
        form_token: f.formToken,
        node_id: f.nodeId,
        node_title: f.nodeTitle,
        form_content: f.formContent,
        actions: f.actions.map((a) => ({ id: a.id, title: a.title })),
        expiration_time: f.expirationTime,
      })),
    };
  if (res.reasoning) dict.reasoning = res.reasoning;
  return dict;
}
