import { ResponderBuilder, ServerInterceptingCall, ServerListenerBuilder, status, type ServerInterceptor, type ServiceDefinition } from "@grpc/grpc-js";
import { deadlineReached } from "../grpc/call-scope.js";
import type { GatewayMetrics } from "./metrics.js";

/** Wire size of each decoded request, keyed by the request object grpc-js hands on. */
const requestSizes = new WeakMap<object, number>();

/**
 * The service as grpc-js should serve it for exact size metrics: requests
 * remember their wire size, and handlers hand over responses already encoded
 * (see `encoder`), so the bytes counted are the bytes sent and nothing is encoded twice.
 */
export function measured(service: ServiceDefinition): ServiceDefinition {
  return Object.fromEntries(
    Object.entries(service).map(([name, method]) => [
      name,
      {
        ...method,
        requestDeserialize: (bytes: Buffer) => {
          const request = method.requestDeserialize(bytes) as object;
          requestSizes.set(request, bytes.length);
          return request;
        },
        responseSerialize: (encoded: Buffer) => encoded,
      },
    ]),
  );
}

/** The encoder of a method's responses, for handlers of a `measured` service. */
export function encoder(service: ServiceDefinition, method: string): (message: object) => Buffer {
  const definition = service[method];
  if (!definition) throw new Error(`no method ${method} in the service`);
  return (message) => definition.responseSerialize(message);
}

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
      metrics.callDuration.observe(labels, (performance.now() - started) / 1000);
      metrics.sentBytes.observe(labels, sent);
      metrics.receivedBytes.observe(labels, received);
    };
    metrics.callStarted.inc({ grpc_method: grpcMethod });
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
