import { RUN_SUMMARY, UNNAMED_RUN } from "../core/run-summary.js";
import type { Admission, CallLimiter, Refusal } from "../limits/limiter.js";
import { refusalError } from "../limits/refusals.js";
import type { GatewayMetrics } from "../metrics/metrics.js";
import type { ServerMiddleware } from "./types.js";

/** A caller no credential named (auth not wired in front): all such calls share one rate. */
const UNNAMED_CALLER = "unnamed";

/**
 * The workspace's concurrency, request rate and token budget, and the caller's request rate: in process, or
 * shared by the replicas through Redis. The slot is held from before the first upstream request until the
 * handler is done (or, when its caller left before any event named the run, until the run is stopped or given
 * up: `UNNAMED_RUN`), and the run's Dify tokens are counted when it ends. A bad request or an unknown app is
 * refused as such first (the handler's checks), so it neither takes a slot nor reads as a limit.
 */
export function workspaceLimits(limiter: CallLimiter, metrics: GatewayMetrics): ServerMiddleware {
  return async function* limitsMiddleware(call, context) {
    call.method.checkRequest?.(call.request, context);
    const workspace = context.workspace;
    if (!workspace) return yield* call.next(call.request, context);
    const caller = context.caller ?? UNNAMED_CALLER;
    const decided = limiter.admit(workspace, caller);
    // The in-process limiter answers synchronously: no await, no extra tick on the hot path without Redis.
    const admission: Admission | Refusal = decided instanceof Promise ? await decided : decided;
    if (admission.refused) {
      if (admission.refused === "concurrency") metrics.concurrencyRejections.inc({ workspace: workspace.id });
      metrics.limitRejections.inc({ workspace: workspace.id, limit: admission.refused });
      throw refusalError(admission, workspace, caller);
    }
    try {
      return yield* call.next(call.request, context);
    } finally {
      // Counted for the budget here; dify_gateway_tokens_total counts the same usage for dashboards.
      const tokens = context.values.get(RUN_SUMMARY)?.usage?.totalTokens ?? 0;
      const unnamed = context.values.get(UNNAMED_RUN);
      if (unnamed) void unnamed.then(() => admission.release(tokens));
      else admission.release(tokens);
    }
  };
}
