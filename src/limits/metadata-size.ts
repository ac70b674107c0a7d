import { type Metadata, status } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Gate, GateFactory } from "../grpc/gates.js";
import { GatewayError } from "../grpc/gateway-error.js";

/** Per-entry overhead in HTTP/2's header list size (RFC 7540 §6.5.2), which gRPC's metadata limits use too. */
const ENTRY_OVERHEAD = 32;

/**
 * Refuses calls whose metadata is larger than `maxBytes`, before any later
 * gate or handler looks at it. grpc-js has no `grpc.max_metadata_size`
 * (grpc-node#2050): it would ignore the option silently, and only Node's HTTP/2
 * layer bounds header blocks (64 KiB). So the limit is enforced here, per call.
 * No per-call state: one gate serves every call.
 */
export function metadataLimitGate(maxBytes: number, log: Logger): GateFactory {
  const gate: Gate = {
    onMetadata(metadata, call) {
      const size = metadataSize(metadata);
      if (size <= maxBytes) return undefined;
      // Sizes only: a header this large may well carry a credential.
      log.info(
        { method: call.path, peer: call.getPeer(), grpcCode: "RESOURCE_EXHAUSTED", metadataBytes: size, maxMetadataBytes: maxBytes },
        "call rejected: metadata too large",
      );
      return metadataTooLarge(size, maxBytes);
    },
  };
  return () => gate;
}

/** Name + value + 32 per entry, binary values base64-encoded as on the wire. */
export function metadataSize(metadata: Metadata): number {
  let size = 0;
  for (const [key, value] of Object.entries(metadata.toHttp2Headers())) {
    for (const v of Array.isArray(value) ? value : [value]) size += Buffer.byteLength(key) + Buffer.byteLength(String(v)) + ENTRY_OVERHEAD;
  }
  return size;
}

export function metadataTooLarge(size: number, limit: number): GatewayError {
  return new GatewayError(status.RESOURCE_EXHAUSTED, `request metadata is ${size} bytes, more than the gateway's limit of ${limit}`, {
    reason: "METADATA_TOO_LARGE",
    metadata: { metadataBytes: String(size), limit: String(limit) },
  });
}
