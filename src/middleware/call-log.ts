import { status } from "@grpc/grpc-js";
import { callError, isUnexpected } from "../core/call-error.js";
import type { CallContext } from "../core/context.js";
import { RUN_SUMMARY, type RunSummary } from "../core/run-summary.js";
import type { GatewayError } from "../grpc/gateway-error.js";
import type { GatewayMetrics } from "../metrics/metrics.js";
import type { ServerMiddleware } from "./types.js";

/**
 * Exactly one log line per call that reached a handler, and its upstream metrics. Outermost, so it also
 * sees calls the other middleware refuse. The error it sees is the status the caller gets: it rethrows
 * that very GatewayError for the adapter to send.
 */
export function callLog(metrics: GatewayMetrics): ServerMiddleware {
  return async function* callLogMiddleware(call, context) {
    let error: GatewayError | undefined;
    let completed = false;
    try {
      const result = yield* call.next(call.request, context);
      completed = true;
      return result;
    } catch (err) {
      error = callError(err, context.signal);
      if (isUnexpected(err, error)) context.log.error({ err }, "unexpected failure while serving a call");
      throw error;
    } finally {
      // A consumer that stopped pulling without an error: only an abort can have stopped it. A handler that completed
      // after its client left (a stream's tail ends quietly) did not answer it either.
      if ((!completed && !error) || (completed && context.clientLeft())) error = callError(undefined, context.signal);
      reportCall(context, error, context.values.get(RUN_SUMMARY), metrics);
    }
  };
}

/** The one log line of a finished call, and its upstream metrics (duration, first event, tokens and price). */
function reportCall(context: CallContext, error: GatewayError | undefined, run: RunSummary | undefined, metrics: GatewayMetrics): void {
  const code = error?.code ?? status.OK;
  const ttfeMs = run?.firstEventAt !== undefined ? run.firstEventAt - context.startedAt : undefined;
  context.log.info(
    {
      grpcCode: status[code],
      durationMs: round(performance.now() - context.startedAt),
      ttfeMs: ttfeMs === undefined ? undefined : round(ttfeMs),
      taskId: run?.taskId,
      stopCalled: run?.stopCalled || undefined,
      // A drain left the run going on on Dify: the caller re-attaches to this id elsewhere.
      handedOff: run?.handedOff || undefined,
      workflowRunId: run?.handedOff ? run.workflowRunId : undefined,
      // How many run requests Dify got: 1 normally, more after retries (connect errors, 502/503/504, 429).
      attempts: run?.attempts || undefined,
      reason: error?.details.reason,
      upstreamStatus: error?.details.metadata?.upstreamStatus,
      upstreamCode: error?.details.metadata?.upstreamCode || undefined,
    },
    error ? `call failed: ${error.message}` : "call finished",
  );

  const outcome = status[code] ?? String(code);
  if (context.token && context.workspace) metrics.tokenCalls.inc({ workspace: context.workspace.id, token: context.token.label, outcome });
  if (context.clientLeft()) metrics.cancellations.inc({ grpc_method: context.method.slice(1), reason: outcome });
  if (!run?.upstreamStartedAt || !context.workspace) return;
  const labels = { mode: run.mode ?? run.kind, workspace: context.workspace.id, outcome };
  metrics.upstreamDuration.observe(labels, (performance.now() - run.upstreamStartedAt) / 1000);
  if (ttfeMs !== undefined) metrics.upstreamFirstEvent.observe(labels, ttfeMs / 1000);
  if (run.usage) metrics.recordUsage({ workspace: context.workspace.id, app: run.appId, mode: labels.mode }, run.usage);
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
