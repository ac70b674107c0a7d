import { GatewayError } from "../grpc/gateway-error.js";

/** ErrorInfo reason of a drain's status; with `metadata.workflowRunId` it hands the run off instead of stopping it. */
export const SHUTTING_DOWN = "SHUTTING_DOWN";

/**
 * Whether `reason` (why the call's signal aborted) is a drain that handed this very run off: the caller was told
 * its `workflowRunId` to re-attach with, so the run must go on on Dify, not be stopped.
 */
export function isHandOffOf(reason: unknown, workflowRunId: string | undefined): boolean {
  return (
    workflowRunId !== undefined &&
    reason instanceof GatewayError &&
    reason.details.reason === SHUTTING_DOWN &&
    reason.details.metadata?.workflowRunId === workflowRunId
  );
}
