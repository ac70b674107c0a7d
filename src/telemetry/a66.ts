import type { Attributes } from "@opentelemetry/api";
import type { A66Sink } from "../metrics/metrics.js";
import type { Instruments } from "./otel.js";

/** The gRFC A66 server metrics as OpenTelemetry names them (the Prometheus ones are their exported form). */
export function a66Sink(instruments: Instruments): A66Sink {
  // One attribute object per method and per method × status, built once (the SDK reads attributes and never keeps
  // the object). Bounded: grpc-js answers an unregistered path UNIMPLEMENTED before any interceptor runs, so the
  // methods are the registered ones, and the statuses are a closed set.
  const started = new Map<string, Attributes>();
  const finished = new Map<string, Map<string, Attributes>>();
  return {
    started(grpcMethod) {
      let attributes = started.get(grpcMethod);
      if (!attributes) started.set(grpcMethod, (attributes = { "grpc.method": grpcMethod }));
      instruments.callStarted.add(1, attributes);
    },
    finished(grpcMethod, grpcStatus, seconds, sentBytes, receivedBytes) {
      let byStatus = finished.get(grpcMethod);
      if (!byStatus) finished.set(grpcMethod, (byStatus = new Map()));
      let attributes = byStatus.get(grpcStatus);
      if (!attributes) byStatus.set(grpcStatus, (attributes = { "grpc.method": grpcMethod, "grpc.status": grpcStatus }));
      instruments.callDuration.record(seconds, attributes);
      instruments.sentBytes.record(sentBytes, attributes);
      instruments.receivedBytes.record(receivedBytes, attributes);
    },
  };
}
