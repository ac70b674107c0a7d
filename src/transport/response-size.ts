import { status } from "@grpc/grpc-js";
import { DEFAULT_CLIENT_RECEIVE_BYTES } from "../config/schema.js";
import { GatewayError } from "../grpc/gateway-error.js";

/**
 * An encoded response, or RESOURCE_EXHAUSTED when a default client could not receive it: the call must not
 * be logged OK for an answer the caller's library refuses. The bounds on answers and events keep responses
 * under this; this is the last word for what they do not cover (a workflow's outputs appear twice in its
 * unary response, for one).
 */
export function deliverable(encoded: Buffer, maxBytes = DEFAULT_CLIENT_RECEIVE_BYTES): Buffer {
  if (encoded.length <= maxBytes) return encoded;
  throw new GatewayError(
    status.RESOURCE_EXHAUSTED,
    `the response is ${encoded.length} bytes encoded, over the ${maxBytes} a default gRPC client receives`,
    {
      reason: "RESPONSE_TOO_LARGE",
      metadata: { responseBytes: String(encoded.length), maxBytes: String(maxBytes) },
    },
  );
}
