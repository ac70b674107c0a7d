import type { ServerWritableStream } from "@grpc/grpc-js";

/**
 * About how many bytes one call keeps waiting in grpc-js's buffer, whose Writable counts messages, not bytes (its
 * mark is 16). A caller that reads slowly holds the gateway's writes behind its HTTP/2 window, so this is what its
 * stream holds on the gRPC side: 16 events of 1 KiB were ~15 KiB of each slow reader's buffers. Counted as the
 * messages queued times the size of the one being written, so a stream of small deltas keeps grpc-js's 16 rather
 * than waiting every few messages for nothing; docs/PERFORMANCE.md, "Slow readers, small socket reads".
 */
export const MAX_QUEUED_BYTES = 4 * 1024;

/**
 * Writes one message, honouring backpressure: undefined when grpc-js took it at once, otherwise the wait for
 * 'drain', or, once about MAX_QUEUED_BYTES wait, for this message to be written. The wait is raced against the
 * call's signal because grpc-js never drains a cancelled call (docs/dify-upstream.md, "gRPC side"). No promise in
 * the common case: the adapter's loop writes every event, and an async function's promise and await per event
 * were measurable there (docs/PERFORMANCE.md, "CPU per event, second pass").
 */
export function writeOrWait(
  call: ServerWritableStream<unknown, Uint8Array>,
  message: Uint8Array,
  signal: AbortSignal,
): Promise<void> | undefined {
  signal.throwIfAborted();
  if (call.writableLength * message.byteLength >= MAX_QUEUED_BYTES) return written(call, message, signal);
  if (call.write(message)) return undefined;
  return drained(call, signal);
}

/** Writes `message` and waits until grpc-js has passed it on (so none wait before it), or the call fails. */
function written(call: ServerWritableStream<unknown, Uint8Array>, message: Uint8Array, signal: AbortSignal): Promise<void> {
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
