/** Failures talking to Dify, before they are translated into gRPC statuses. */

/** Dify answered with an HTTP error before any stream started. */
export class DifyHttpError extends Error {
  constructor(
    readonly httpStatus: number,
    /** Dify's `code`, or "" when the body was not Dify's error envelope (e.g. a proxy page). */
    readonly difyCode: string,
    message: string,
    /** Seconds from a Retry-After header, when one was sent. */
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(message);
    this.name = "DifyHttpError";
  }
}

/** Dify could not be reached or the connection broke. */
export class DifyUnreachableError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = "DifyUnreachableError";
  }
}

export type StreamFault = "idle_timeout" | "incomplete" | "malformed" | "event_too_large";

/** The SSE stream misbehaved after it started. */
export class DifyStreamError extends Error {
  constructor(
    readonly fault: StreamFault,
    message: string,
  ) {
    super(message);
    this.name = "DifyStreamError";
  }
}
