import { status } from "@grpc/grpc-js";
import { DifyHttpError, DifyStreamError, DifyUnreachableError } from "../dify/errors.js";
import { GatewayError, UPSTREAM_DOMAIN } from "../grpc/gateway-error.js";

/**
 * Dify error code → gRPC code (docs/dify-upstream.md, "gRPC side"). Not grpc's
 * HTTP→gRPC table: that one is for clients that got no grpc-status at all.
 */
const BY_DIFY_CODE: Readonly<Record<string, status>> = {
  invalid_param: status.INVALID_ARGUMENT,
  bad_request: status.INVALID_ARGUMENT,
  // The same code as the gateway's own upload limit (UPLOAD_TOO_LARGE): a caller handles "too large" once.
  file_too_large: status.RESOURCE_EXHAUSTED,
  unsupported_file_type: status.INVALID_ARGUMENT,
  too_many_files: status.INVALID_ARGUMENT,
  no_file_uploaded: status.INVALID_ARGUMENT,
  filename_not_exists_error: status.INVALID_ARGUMENT,
  // Human input (Dify 1.16): a rejected submit leaves the form open; a submitted or expired form is final.
  invalid_form_data: status.INVALID_ARGUMENT,
  human_input_form_submitted: status.FAILED_PRECONDITION,
  human_input_form_expired: status.FAILED_PRECONDITION,
  app_unavailable: status.FAILED_PRECONDITION,
  not_chat_app: status.FAILED_PRECONDITION,
  not_workflow_app: status.FAILED_PRECONDITION,
  not_completion_app: status.FAILED_PRECONDITION,
  provider_not_initialize: status.FAILED_PRECONDITION,
  provider_quota_exceeded: status.FAILED_PRECONDITION,
  model_currently_not_support: status.FAILED_PRECONDITION,
  completion_request_error: status.FAILED_PRECONDITION,
  conversation_completed: status.FAILED_PRECONDITION,
  agent_not_published: status.FAILED_PRECONDITION,
  // The key that failed is the gateway's own, not the caller's credential.
  unauthorized: status.INTERNAL,
  forbidden: status.PERMISSION_DENIED,
  workflow_version_execution_not_allowed: status.PERMISSION_DENIED,
  not_found: status.NOT_FOUND,
  too_many_requests: status.RESOURCE_EXHAUSTED,
  rate_limit_error: status.RESOURCE_EXHAUSTED,
  internal_server_error: status.INTERNAL,
  unknown: status.INTERNAL,
};

/** For bodies that are not Dify's envelope (a proxy's page) and codes Dify adds later. */
function byHttpStatus(httpStatus: number): status {
  if (httpStatus === 401) return status.INTERNAL;
  if (httpStatus === 403) return status.PERMISSION_DENIED;
  if (httpStatus === 404) return status.NOT_FOUND;
  if (httpStatus === 413) return status.RESOURCE_EXHAUSTED;
  if (httpStatus === 415) return status.INVALID_ARGUMENT;
  if (httpStatus === 429) return status.RESOURCE_EXHAUSTED;
  if (httpStatus === 502 || httpStatus === 503 || httpStatus === 504) return status.UNAVAILABLE;
  if (httpStatus >= 500) return status.INTERNAL;
  if (httpStatus >= 400) return status.FAILED_PRECONDITION;
  return status.UNKNOWN;
}

/** Dify's concurrency limit; backing off helps. */
const DEFAULT_RETRY_DELAY_MS = 1000;

export interface UpstreamFailure {
  httpStatus: number;
  difyCode: string;
  message: string;
  retryAfterSeconds?: number | undefined;
}

/**
 * What a Dify error code looks like (`invalid_param`, `provider_quota_exceeded`). Anything else is not
 * passed on: a code has carried the app key, and ErrorInfo.reason must be a bounded UPPER_SNAKE token.
 */
const DIFY_CODE = /^[a-z][a-z0-9_]{0,63}$/;
/** Dify's message is passed on, but a status must stay small enough for every client to receive. */
const MAX_UPSTREAM_MESSAGE = 1024;

/** Maps an HTTP error before the stream, or an `error` event inside it, to a gRPC error. */
export function upstreamError(
  f: UpstreamFailure,
  overrides: { code?: status; reason?: string; metadata?: Record<string, string> } = {},
): GatewayError {
  const difyCode = DIFY_CODE.test(f.difyCode) ? f.difyCode : "";
  // An `error` event's status is whatever Dify wrote; only a real HTTP status maps.
  const httpStatus = Number.isInteger(f.httpStatus) && f.httpStatus >= 100 && f.httpStatus <= 599 ? f.httpStatus : 500;
  const code = overrides.code ?? (Object.hasOwn(BY_DIFY_CODE, difyCode) ? BY_DIFY_CODE[difyCode] : undefined) ?? byHttpStatus(httpStatus);
  const reason = overrides.reason ?? (difyCode ? difyCode.toUpperCase() : `HTTP_${httpStatus}`);
  const label = difyCode || `HTTP ${httpStatus}`;
  const message = f.message.length > MAX_UPSTREAM_MESSAGE ? `${f.message.slice(0, MAX_UPSTREAM_MESSAGE)}...` : f.message;
  return new GatewayError(code, `Dify ${label}: ${message}`, {
    reason,
    domain: UPSTREAM_DOMAIN,
    metadata: { upstreamStatus: String(httpStatus), upstreamCode: difyCode, ...overrides.metadata },
    retryDelayMs:
      difyCode === "too_many_requests"
        ? f.retryAfterSeconds !== undefined
          ? f.retryAfterSeconds * 1000
          : DEFAULT_RETRY_DELAY_MS
        : undefined,
    quotaViolation: difyCode === "rate_limit_error" ? { subject: "dify:workspace", description: message } : undefined,
  });
}

const STREAM_FAULTS: Readonly<Record<DifyStreamError["fault"], { code: status; reason: string }>> = {
  idle_timeout: { code: status.UNAVAILABLE, reason: "UPSTREAM_IDLE_TIMEOUT" },
  incomplete: { code: status.UNAVAILABLE, reason: "UPSTREAM_STREAM_INCOMPLETE" },
  malformed: { code: status.INTERNAL, reason: "UPSTREAM_MALFORMED_STREAM" },
  event_too_large: { code: status.RESOURCE_EXHAUSTED, reason: "UPSTREAM_EVENT_TOO_LARGE" },
};

/** Anything thrown while serving a call, as the error the caller receives. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof DifyHttpError) return upstreamError(err);
  if (err instanceof DifyStreamError) {
    const { code, reason } = STREAM_FAULTS[err.fault];
    return new GatewayError(code, err.message, { reason, domain: UPSTREAM_DOMAIN });
  }
  if (err instanceof DifyUnreachableError) {
    return new GatewayError(status.UNAVAILABLE, err.message, { reason: "UPSTREAM_UNAVAILABLE", domain: UPSTREAM_DOMAIN });
  }
  // A bug of ours: say so without leaking internals.
  return new GatewayError(status.INTERNAL, "internal gateway error", { reason: "INTERNAL" });
}
