import type { Attributes } from "@opentelemetry/api";
import type { A66Sink } from "../metrics/metrics.js";
import type { Instruments } from "./otel.js";

const MAX_SERIES = 4096;

/** The gRFC A66 server metrics as OpenTelemetry names them (the Prometheus ones are their exported form). */
export function a66Sink(instruments: Instruments): A66Sink {
  // One attribute object per method and per method × status, built once (the SDK reads attributes and never keeps
  // the object). Methods are the registered ones and statuses a closed set; the cap is a second bound.
  const started = new Map<string, Attributes>();
  const finished = new Map<string, Map<string, Attributes>>();
  return {
    started(grpcMethod) {
      let attributes = started.get(grpcMethod);
      if (!attributes) {
        attributes = { "grpc.method": grpcMethod };
        if (started.size < MAX_SERIES) started.set(grpcMethod, attributes);
      }
      instruments.callStarted.add(1, attributes);
    },
    finished(grpcMethod, grpcStatus, seconds, sentBytes, receivedBytes) {
      let byStatus = finished.get(grpcMethod);
      if (!byStatus) {
        byStatus = new Map();
        if (finished.size < MAX_SERIES) finished.set(grpcMethod, byStatus);
      }
      let attributes = byStatus.get(grpcStatus);
      if (!attributes) byStatus.set(grpcStatus, (attributes = { "grpc.method": grpcMethod, "grpc.status": grpcStatus }));
      instruments.callDuration.record(seconds, attributes);
      instruments.sentBytes.record(sentBytes, attributes);
      instruments.receivedBytes.record(receivedBytes, attributes);
    },
  };
}
