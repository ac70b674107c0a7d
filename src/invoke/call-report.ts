import { status } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { AppMode } from "../config/schema.js";
import type { GatewayError } from "../grpc/gateway-error.js";
import type { GatewayMetrics } from "../metrics/metrics.js";
import type { RunKind } from "./termination.js";
import type { UpstreamRun } from "./upstream-run.js";

export interface CallOutcome {
  method: string;
  interface: RunKind;
  /** The app's mode, once known. */
  mode: AppMode | undefined;
  workspace: string | undefined;
  /** Undefined for OK. */
  error: GatewayError | undefined;
  /** The client cancelled or its deadline passed before we answered. */
  clientLeft: boolean;
  durationMs: number;
  ttfeMs: number | undefined;
  run: UpstreamRun | undefined;
}

/** The one log line of a finished call, and its upstream metrics. */
export function reportCall(o: CallOutcome, log: Logger, metrics: GatewayMetrics): void {
  const code = o.error?.code ?? status.OK;
  const run = o.run;
  log.info(
    {
      grpcCode: status[code],
      durationMs: round(o.durationMs),
      ttfeMs: o.ttfeMs === undefined ? undefined : round(o.ttfeMs),
      taskId: run?.tracker.taskId,
      stopCalled: run?.stopCalled || undefined,
      reason: o.error?.details.reason,
      upstreamStatus: o.error?.details.metadata?.upstreamStatus,
      upstreamCode: o.error?.details.metadata?.upstreamCode || undefined,
    },
    o.error ? `call failed: ${o.error.message}` : "call finished",
  );

  if (o.clientLeft) metrics.cancellations.inc({ grpc_method: o.method.slice(1), reason: status[code] ?? String(code) });
  if (!run?.startedAt || !o.workspace) return;
  const labels = { mode: o.mode ?? o.interface, workspace: o.workspace, outcome: status[code] ?? String(code) };
  metrics.upstreamDuration.observe(labels, (performance.now() - run.startedAt) / 1000);
  if (o.ttfeMs !== undefined) metrics.upstreamFirstEvent.observe(labels, o.ttfeMs / 1000);
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
