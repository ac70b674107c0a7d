import { Metadata, type StatusObject, status } from "@grpc/grpc-js";
import { BadRequest, ErrorInfo, QuotaFailure, RetryInfo } from "../../generated/google/rpc/error_details.js";
import { Status } from "../../generated/google/rpc/status.js";

export const GATEWAY_DOMAIN = "dify-grpc-gateway";
export const UPSTREAM_DOMAIN = "dify";

export interface ErrorDetails {
  /** UPPER_SNAKE_CASE, as google.rpc.ErrorInfo wants it. */
  reason: string;
  domain?: string;
  /** lowerCamelCase keys. */
  metadata?: Record<string, string>;
  retryDelayMs?: number;
  fieldViolations?: { field: string; description: string }[];
  quotaViolation?: { subject: string; description: string };
}

/** A failure with its gRPC code and the google.rpc details the caller receives. */
export class GatewayError extends Error {
  constructor(
    readonly code: status,
    message: string,
    readonly details: ErrorDetails,
  ) {
    super(message);
    this.name = "GatewayError";
  }

  /** The grpc-js status, with a google.rpc.Status in `grpc-status-details-bin`. */
  toStatus(): Partial<StatusObject> & { code: status; details: string; metadata: Metadata } {
    const metadata = new Metadata();
    metadata.set("grpc-status-details-bin", Buffer.from(Status.encode(this.toRpcStatus()).finish()));
    return { code: this.code, details: this.message, metadata };
  }

  toRpcStatus(): Status {
    const d = this.details;
    const details = [
      packAny(
        "google.rpc.ErrorInfo",
        ErrorInfo.encode({ reason: d.reason, domain: d.domain ?? GATEWAY_DOMAIN, metadata: d.metadata ?? {} }).finish(),
      ),
    ];
    if (d.retryDelayMs !== undefined) {
      const seconds = Math.floor(d.retryDelayMs / 1000);
      const nanos = (d.retryDelayMs % 1000) * 1_000_000;
      details.push(packAny("google.rpc.RetryInfo", RetryInfo.encode({ retryDelay: { seconds, nanos } }).finish()));
    }
    if (d.fieldViolations)
      details.push(
        packAny("google.rpc.BadRequest", BadRequest.encode(BadRequest.fromPartial({ fieldViolations: d.fieldViolations })).finish()),
      );
    if (d.quotaViolation)
      details.push(
        packAny("google.rpc.QuotaFailure", QuotaFailure.encode(QuotaFailure.fromPartial({ violations: [d.quotaViolation] })).finish()),
      );
    return { code: this.code, message: this.message, details };
  }
}

function packAny(typeName: string, value: Uint8Array) {
  return { typeUrl: `type.googleapis.com/${typeName}`, value: Buffer.from(value) };
}

export function invalidArgument(field: string, description: string): GatewayError {
  return new GatewayError(status.INVALID_ARGUMENT, `${field}: ${description}`, {
    reason: "INVALID_REQUEST",
    metadata: { field },
    fieldViolations: [{ field, description }],
  });
}

/** The same answer for an app that exists elsewhere and one that exists nowhere. */
export function appNotFound(appId: string): GatewayError {
  return new GatewayError(status.NOT_FOUND, `app ${JSON.stringify(appId)} not found`, { reason: "APP_NOT_FOUND", metadata: { appId } });
}

/** The caller's credentials were missing or matched no workspace; `message` is the same either way. */
export function unauthenticated(message: string): GatewayError {
  return new GatewayError(status.UNAUTHENTICATED, message, { reason: "UNAUTHENTICATED" });
}

/** A configured token past its `expiresAt`; only its holder can get this answer. */
export function tokenExpired(): GatewayError {
  return new GatewayError(status.UNAUTHENTICATED, "the token has expired: ask the gateway's operator for a new one", {
    reason: "TOKEN_EXPIRED",
  });
}
