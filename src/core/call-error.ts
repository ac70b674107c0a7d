import { GatewayError } from "../grpc/gateway-error.js";
import { toGatewayError } from "../translate/errors.js";

/**
 * The status a call ends with, from what its handler threw. Once the call's signal aborted, its
 * reason is the truth (cancel, deadline, drain), whatever the abort made the Dify client throw.
 */
export function callError(err: unknown, signal: AbortSignal): GatewayError {
  return toGatewayError(signal.aborted ? signal.reason : err);
}

/** A failure that is a bug of ours rather than an answer we meant to give. */
export function isUnexpected(err: unknown, error: GatewayError): boolean {
  return error.details.reason === "INTERNAL" && !(err instanceof GatewayError);
}
