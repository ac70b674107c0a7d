import type { ServerWritableStream } from "@grpc/grpc-js";

/**
 * The most messages one call keeps waiting in grpc-js's buffer (its Writable's own mark is 16). A caller that
 * reads slowly holds the gateway's writes behind its HTTP/2 window, so this, times the message size, is what its
 * stream holds on the gRPC side: with 1 KiB events, 16 messages were ~15 KiB of each slow reader's buffers
 * (docs/PERFORMANCE.md, "Slow readers, small socket reads").
 */
export const MAX_QUEUED_MESSAGES = 4;

/**
 * Writes one message, honouring backpressure: undefined when grpc-js took it at once, otherwise the wait for
 * 'drain', or, once MAX_QUEUED_MESSAGES wait, for this message to be written. The wait is raced against the
 * call's signal because grpc-js never drains a cancelled call (docs/dify-upstream.md, "gRPC side"). No promise
 * in the common case: the adapter's loop writes every event, and an async function's promise and await per event
 * were measurable there (docs/PERFORMANCE.md, "CPU per event, second pass").
 */
export function writeOrWait<T>(call: ServerWritableStream<unknown, T>, message: T, signal: AbortSignal): Promise<void> | undefined {
  signal.throwIfAborted();
  if (call.writableLength >= MAX_QUEUED_MESSAGES - 1) return written(call, message, signal);
  if (call.write(message)) return undefined;
  return drained(call, signal);
}

/** Writes `message` and waits until grpc-js has passed it on (so none wait before it), or the call fails. */
function written<T>(call: ServerWritableStream<unknown, T>, message: T, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort);
    call.write(message, (err?: Error | null) => {
      signal.removeEventListener("abort", onAbort);
      if (err) reject(signal.aborted ? signal.reason : err);
      else resolve();
    });
  });
}

/**
 * 'drain', or the call's 'error' or the signal's abort (its reason), as `events.once(call, "drain", { signal })`
 * with its error mapped; hand-written because `once`'s generic abort handling (an AbortSignal listener through
 * `addAbortListener`) cost more than the rest of the wait, about once per 16 messages of a fast stream.
 */
function drained(call: ServerWritableStream<unknown, unknown>, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const settle = () => {
      call.removeListener("drain", onDrain);
      call.removeListener("error", onError);
      signal.removeEventListener("abort", onAbort);
    };
    const onDrain = () => {
      settle();
      resolve();
    };
    const onError = (err: unknown) => {
      settle();
      reject(signal.aborted ? signal.reason : err);
    };
    const onAbort = () => {
      settle();
      reject(signal.reason);
    };
    call.on("drain", onDrain);
    call.on("error", onError);
    signal.addEventListener("abort", onAbort);
  });
}
