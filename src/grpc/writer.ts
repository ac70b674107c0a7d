import { once } from "node:events";
import type { ServerWritableStream } from "@grpc/grpc-js";

/**
 * Writes one message, honouring backpressure: when grpc-js's buffer is full
 * we wait for 'drain'. The wait is raced against the call's signal because
 * grpc-js never drains a cancelled call (docs/dify-upstream.md, "gRPC side").
 */
export async function writeMessage<T>(call: ServerWritableStream<unknown, T>, message: T, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  if (call.write(message)) return;
  await once(call, "drain", { signal }).catch((err: unknown) => {
    throw signal.aborted ? signal.reason : err;
  });
}
