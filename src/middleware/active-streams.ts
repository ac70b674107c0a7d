import type { GatewayMetrics } from "../metrics/metrics.js";
import type { ServerMiddleware } from "./types.js";

/** The `active streams` gauge: server-streaming calls from their start until their handler is done. */
export function activeStreams(metrics: GatewayMetrics): ServerMiddleware {
  return async function* activeStreamsMiddleware(call, context) {
    if (!call.method.responseStream) return yield* call.next(call.request, context);
    const active = metrics.activeStreams.labels({ grpc_method: call.method.path.slice(1) });
    active.inc();
    try {
      return yield* call.next(call.request, context);
    } finally {
      active.dec();
    }
  };
}
