import { type ServerReadableStream, type ServerUnaryCall, type ServerWritableStream, status } from "@grpc/grpc-js";
import { GatewayError } from "./gateway-error.js";

/** Why a call ended before its handler did. */
export class CallAborted extends GatewayError {}

/**
 * Bridges a grpc-js call's cancellation to an AbortSignal.
 *
 * grpc-js 1.14 emits 'cancelled' on every call when its HTTP/2 stream
 * closes, also after a successful response; only a cancel that arrives
 * before we finished is a real one.
 */
export class CallScope {
  readonly #controller = new AbortController();
  #finished = false;
  #clientLeft = false;
  #closed = false;
  #onClosed: (() => void) | undefined;

  constructor(
    private readonly call:
      | ServerUnaryCall<unknown, unknown>
      | ServerWritableStream<unknown, unknown>
      | ServerReadableStream<unknown, unknown>,
  ) {
    (call as ServerUnaryCall<unknown, unknown>).once("cancelled", () => {
      this.#closed = true;
      this.#onClosed?.();
      if (this.#finished) return;
      this.#finished = true;
      this.#clientLeft = true;
      this.#controller.abort(this.#cancelReason());
    });
  }

  /** Ends the call from our side (shutdown): the client is still there and gets `reason` as the status. */
  terminate(reason: GatewayError): void {
    if (!this.#finished) this.#controller.abort(reason);
  }

  /**
   * Calls `cb` once the call's HTTP/2 stream has closed: its answer delivered (the client read it all) or the stream
   * torn down. Until then what was written waits in grpc-js's and HTTP/2's buffers for the client to read it.
   */
  onClosed(cb: () => void): void {
    if (this.#closed) cb();
    else {
      const before = this.#onClosed;
      this.#onClosed = before ? () => (before(), cb()) : cb;
    }
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** True once the client cancelled or its deadline passed before we answered (not a drain's termination). */
  get clientLeft(): boolean {
    return this.#clientLeft;
  }

  /** Marks the call answered; false when the client had already gone. */
  finish(): boolean {
    if (this.#finished) return false;
    this.#finished = true;
    return true;
  }

  #cancelReason(): CallAborted {
    return deadlineReached(this.call.getDeadline())
      ? new CallAborted(status.DEADLINE_EXCEEDED, "deadline exceeded", { reason: "DEADLINE_EXCEEDED" })
      : new CallAborted(status.CANCELLED, "cancelled by the client", { reason: "CANCELLED" });
  }
}

/**
 * How early a client's cancel may reach us and still be its deadline. The client's clock starts when it sends,
 * ours when the headers arrive, so the client's deadline RST_STREAM lands before our deadline by that delay (a
 * deadline test under load logged CANCELLED at 600.5 ms of a 600 ms deadline). A real cancel this close to the
 * deadline is reported as DEADLINE_EXCEEDED, which is what it would have become anyway.
 */
export const DEADLINE_SKEW_MS = 100;

/** Whether a call that ended without an answer ended because its deadline passed (else the client cancelled). */
export function deadlineReached(deadline: Date | number): boolean {
  const ms = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  return Number.isFinite(ms) && ms <= Date.now() + DEADLINE_SKEW_MS;
}
