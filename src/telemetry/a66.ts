import type { A66Sink } from "../metrics/metrics.js";
import type { Instruments } from "./otel.js";

/** The gRFC A66 server metrics as OpenTelemetry names them (the Prometheus ones are their exported form). */
export function a66Sink(instruments: Instruments): A66Sink {
  return {
    started(grpcMethod) {
      instruments.callStarted.add(1, { "grpc.method": grpcMethod });
    },
    finished(grpcMethod, grpcStatus, seconds, sentBytes, receivedBytes) {
      const attributes = { "grpc.method": grpcMethod, "grpc.status": grpcStatus };
      instruments.callDuration.record(seconds, attributes);
      instruments.sentBytes.record(sentBytes, attributes);
      instruments.receivedBytes.record(receivedBytes, attributes);
    },
  };
}
