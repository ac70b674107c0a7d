import { type ConcurrencyLimiter, workspaceConcurrencyLimit } from "../limits/concurrency.js";
import type { GatewayMetrics } from "../metrics/metrics.js";
import type { ServerMiddleware } from "./types.js";

/**
 * At most `workspace.maxConcurrentCalls` calls in flight per workspace. The slot is held from before
 * the first upstream request until the call's handler is done. A bad request or an unknown app is
 * refused as such first (the handler's checks), so it neither takes a slot nor reads as a limit.
 */
export function concurrencyLimit(limiter: ConcurrencyLimiter, metrics: GatewayMetrics): ServerMiddleware {
  return async function* concurrencyMiddleware(call, context) {
    call.method.checkRequest?.(call.request, context);
    const workspace = context.workspace;
    if (!workspace) return yield* call.next(call.request, context);
    const release = limiter.tryAcquire(workspace.id, workspace.maxConcurrentCalls);
    if (!release) {
      metrics.concurrencyRejections.inc({ workspace: workspace.id });
      throw workspaceConcurrencyLimit(workspace.id, workspace.maxConcurrentCalls);
    }
    try {
      return yield* call.next(call.request, context);
    } finally {
      release();
    }
  };
}
