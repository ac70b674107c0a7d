import { ResponderBuilder, ServerInterceptingCall, type ServerInterceptor, ServerListenerBuilder, status } from "@grpc/grpc-js";
import { deadlineReached } from "../grpc/call-scope.js";
import type { GatewayMetrics } from "./metrics.js";

/*
 * Byte counts for the A66 histograms. grpc-js interceptors only see decoded requests and not-yet-encoded
 * responses, so the wire sizes travel in the one mechanism here: the request decoder remembers each
 * request's size (keyed by the request object grpc-js hands on), and the adapter sends responses already
 * encoded, so the bytes counted are the bytes sent and nothing is encoded twice.
 */
const requestSizes = new WeakMap<object, number>();

/** A request decoder that remembers the wire size of what it decodes, for the metrics interceptor. */
export function sizeRecording<T>(deserialize: (bytes: Buffer) => T): (bytes: Buffer) => T {
  return (bytes) => {
    const request = deserialize(bytes);
    if (typeof request === "object" && request !== null) requestSizes.set(request, bytes.length);
    return request;
  };
}

/** The serializer of a method whose handler sends responses already encoded (see above). */
export const preEncoded = (encoded: Buffer): Buffer => encoded;

/** gRFC A66 server metrics for every call, including the ones auth rejects and the ones the client abandons. */
export function metricsInterceptor(metrics: GatewayMetrics): ServerInterceptor {
  return (method, call) => {
    const started = performance.now();
    const grpcMethod = method.path.slice(1);
    let sent = 0;
    let received = 0;
    let recorded = false;
    const record = (code: status) => {
      if (recorded) return;
      recorded = true;
      const labels = { grpc_method: grpcMethod, grpc_status: status[code] ?? String(code) };
      const seconds = (performance.now() - started) / 1000;
      metrics.callDuration.observe(labels, seconds);
      metrics.sentBytes.observe(labels, sent);
      metrics.receivedBytes.observe(labels, received);
      metrics.a66?.finished(grpcMethod, labels.grpc_status, seconds, sent, received);
    };
    metrics.callStarted.inc({ grpc_method: grpcMethod });
    metrics.a66?.started(grpcMethod);
    const listener = new ServerListenerBuilder()
      .withOnReceiveMessage((message, next) => {
        received += (typeof message === "object" && message !== null && requestSizes.get(message)) || 0;
        next(message);
      })
      // grpc-js calls this after every call, answered or not; a call without a status was abandoned.
      .withOnCancel(() => record(deadlineReached(call.getDeadline()) ? status.DEADLINE_EXCEEDED : status.CANCELLED))
      .build();
    const responder = new ResponderBuilder()
      .withStart((next) => next(listener))
      .withSendMessage((message, next) => {
        if (Buffer.isBuffer(message)) sent += message.length;
        next(message);
      })
      .withSendStatus((st, next) => {
        record(st.code);
        next(st);
      })
      .build();
    return new ServerInterceptingCall(call, responder);
  };
}
