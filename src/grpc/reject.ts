import type { ServerInterceptingCallInterface } from "@grpc/grpc-js";
import type { GatewayError } from "./gateway-error.js";

/**
 * How every grpc-js interceptor refuses a call: with the error's status and its google.rpc details
 * (`grpc-status-details-bin`), like every status a handler sends.
 */
export function rejectCall(call: ServerInterceptingCallInterface, error: GatewayError): void {
  call.sendStatus(error.toStatus());
}
