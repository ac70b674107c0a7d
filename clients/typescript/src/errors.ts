import { type ServiceError, status } from "@grpc/grpc-js";
import { BadRequest, ErrorInfo, RetryInfo } from "../../../generated/google/rpc/error_details.js";
import { Status } from "../../../generated/google/rpc/status.js";

const DETAILS_KEY = "grpc-status-details-bin";

export interface FieldViolation {
  field: string;
  description: string;
}

/**
 * A call the gateway (or Dify behind it) refused or could not finish. The same fields as the Python
 * client's AppInvokeError, in camelCase. `message` is `"<CODE_NAME>: <details>"`.
 */
export class AppInvokeError extends Error {
  override readonly name = "AppInvokeError";
  /** The gRPC status code, e.g. `status.NOT_FOUND` (5). */
  readonly code: status;
  /** Its name, e.g. `"NOT_FOUND"`. */
  readonly codeName: string;
  /** The status message the gateway sent. */
  readonly details: string;
  /**
   * `google.rpc.ErrorInfo.reason`: Dify's code in UPPER_SNAKE_CASE for upstream errors, else the
   * gateway's (e.g. `APP_NOT_FOUND`). Undefined when the failure never reached the gateway.
   */
  readonly reason: string | undefined;
  /** `dify` for errors Dify returned, `dify-grpc-gateway` for the gateway's own. */
  readonly domain: string | undefined;
  /** Dify's own error code (`invalid_param`, `app_unavailable`, …) when Dify returned the error, else the reason. */
  readonly difyCode: string | undefined;
  /** `ErrorInfo.metadata`, e.g. `upstreamStatus`, `upstreamCode`, `field`, `appId`. */
  readonly metadata: Readonly<Record<string, string>>;
  /** How long to wait before retrying (`google.rpc.RetryInfo`), when the gateway says. */
  readonly retryDelayMs: number | undefined;
  /** The fields a `google.rpc.BadRequest` names. */
  readonly fieldViolations: readonly FieldViolation[];

  constructor(
    init: {
      code: status;
      details: string;
      reason?: string | undefined;
      domain?: string | undefined;
      difyCode?: string | undefined;
      metadata?: Record<string, string>;
      retryDelayMs?: number | undefined;
      fieldViolations?: FieldViolation[];
    },
    options?: ErrorOptions,
  ) {
    const codeName = status[init.code] ?? String(init.code);
    super(`${codeName}: ${init.details}`, options);
    this.code = init.code;
    this.codeName = codeName;
    this.details = init.details;
    this.reason = init.reason;
    this.domain = init.domain;
    this.difyCode = init.difyCode;
    this.metadata = Object.freeze({ ...init.metadata });
    this.retryDelayMs = init.retryDelayMs;
    this.fieldViolations = Object.freeze([...(init.fieldViolations ?? [])]);
  }

  /** From the error grpc-js reports, reading the google.rpc.Status in its trailers. */
  static fromServiceError(err: ServiceError): AppInvokeError {
    const rpcStatus = decodeStatus(err);
    const find = <T>(name: string, type: { decode(bytes: Uint8Array): T }): T | undefined => {
      const any = rpcStatus?.details.find((d) => d.typeUrl === `type.googleapis.com/google.rpc.${name}`);
      return any ? type.decode(any.value) : undefined;
    };
    const info = find("ErrorInfo", ErrorInfo);
    const retry = find("RetryInfo", RetryInfo)?.retryDelay;
    const metadata = info?.metadata ?? {};
    return new AppInvokeError(
      {
        code: err.code,
        details: err.details,
        reason: info?.reason,
        domain: info?.domain,
        // upstreamCode is "" for Dify errors without a code (worker errors): fall back to the reason.
        difyCode: metadata.upstreamCode || info?.reason,
        metadata,
        retryDelayMs: retry ? retry.seconds * 1000 + Math.round(retry.nanos / 1e6) : undefined,
        fieldViolations: find("BadRequest", BadRequest)?.fieldViolations.map(({ field, description }) => ({ field, description })),
      },
      { cause: err },
    );
  }
}

function decodeStatus(err: ServiceError): Status | undefined {
  const bin = err.metadata?.get(DETAILS_KEY)[0];
  if (!(bin instanceof Uint8Array)) return undefined;
  try {
    return Status.decode(bin);
  } catch {
    return undefined; // A malformed trailer must not hide the status code we already have.
  }
}
