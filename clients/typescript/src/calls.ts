import { type CallOptions, type Metadata, type ServiceError, status } from "@grpc/grpc-js";
import type { DifyDict, DifyEventStream, StreamStarter, UnaryResponse, UnaryStarter } from "./app-client.js";
import { AppInvokeError } from "./errors.js";

export interface CallControl {
  metadata: Metadata;
  callOptions: Partial<CallOptions>;
  signal: AbortSignal | undefined;
}

/**
 * A unary call: resolves to the response's `raw`, the blocking-mode dict, plus `pause` when the run stopped for
 * human input and `reasoning` when the model's reasoning came separately (keys Dify's dict does not use), in
 * Dify's snake_case like the rest of the dict.
 */
export function unaryResult(start: UnaryStarter, { metadata, callOptions, signal }: CallControl): Promise<DifyDict> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => call.cancel();
    const call = start(metadata, callOptions, (err, res) => {
      signal?.removeEventListener("abort", onAbort);
      if (err) reject(toError(err, signal));
      else resolve(withExtras(res));
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A server stream as an async generator of the messages' `raw` dicts. Lazy like a Python generator:
 * the call starts with the first `next()`. Reading is pulled, so a slow consumer holds the stream
 * back (grpc-js applies HTTP/2 flow control, the gateway then pauses Dify).
 */
export async function* streamEvents(start: StreamStarter, { metadata, callOptions, signal }: CallControl): DifyEventStream {
  signal?.throwIfAborted();
  const call = start(metadata, callOptions);
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
