import { type Metadata, status } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { isOpenService } from "../auth/gate.js";
import type { Gate, GateCall, GateFactory } from "../grpc/gates.js";
import { GatewayError } from "../grpc/gateway-error.js";
import { ENCODING_HEADER, endedWith, STREAM_ID_HEADER } from "../net/listener.js";

/**
 * What happens to a call before its request reaches a handler:
 * - a call whose request does not arrive within `firstMessageTimeoutMs` of its
 *   headers ends with DEADLINE_EXCEEDED, so a client cannot park calls for free.
 *   grpc-js runs a unary or server-streaming handler only once the client has
 *   ended its side (half-close), so for those the request is the message and
 *   that end: a client that sent its message and never ended its side held the
 *   call, and its decoded message, forever (a probe parked 150 health checks of
 *   4 MB, gzip'd to 4 KB each, and the process ran out of heap). A client-streaming
 *   call (an upload) reaches its handler with its first message;
 * - a call that ends before a handler ran (its message failed to decode, was too
 *   large, or the client left first) still leaves its one log line, which no
 *   handler would write: grpc-js answers those by itself, past every gate.
 * It sits just inside the metrics gate, so every status another gate or a
 * handler sends passes through it and is not logged twice.
 */
export function requestGuardGate(settings: () => { firstMessageTimeoutMs: number }, log: Logger): GateFactory {
  return (method) => new RequestGuard(settings, log, method.requestStream);
}

class RequestGuard implements Gate {
  private streamId: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private received = false;
  private answered = false;

  constructor(
    private readonly settings: () => { firstMessageTimeoutMs: number },
    private readonly log: Logger,
    /** Client streaming: the handler runs at the first message, not at half-close. */
    private readonly requestStream: boolean,
  ) {}

  onMetadata(metadata: Metadata, call: GateCall): GatewayError | undefined {
    this.streamId = metadata.get(STREAM_ID_HEADER)[0]?.toString();
    metadata.remove(STREAM_ID_HEADER);
    const encoding = metadata.get(ENCODING_HEADER)[0]?.toString().slice(0, 32);
    metadata.remove(ENCODING_HEADER);
    // Anyone may call health and reflection, whose requests are small (`withRequestLimit`): a compressed one is
    // inflated by grpc-js up to server.maxReceiveMessageBytes before any limit of ours sees it, so 4 KB on the wire
    // held 4 MB. Refused before its message is read.
    if (encoding !== undefined && encoding !== "identity" && isOpenService(call.path)) {
      this.answered = true;
      this.log.info({ method: call.path, peer: call.getPeer(), grpcCode: "UNIMPLEMENTED", encoding }, "call rejected: compressed request");
      return new GatewayError(status.UNIMPLEMENTED, `${call.path} takes uncompressed requests only (got grpc-encoding ${encoding})`, {
        reason: "COMPRESSED_REQUEST",
      });
    }
    const { firstMessageTimeoutMs } = this.settings();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.received || this.answered) return;
      this.answered = true;
      this.log.info(
        { method: call.path, peer: call.getPeer(), grpcCode: "DEADLINE_EXCEEDED", firstMessageTimeoutMs },
        "call ended: no request message in time",
      );
      call.reject(this, noMessage(firstMessageTimeoutMs));
    }, firstMessageTimeoutMs);
    return undefined;
  }

  onMessage(): void {
    if (!this.requestStream) return;
    this.received = true;
    this.stopTimer();
  }

  onHalfClose(): void {
    this.received = true;
    this.stopTimer();
  }

  onCancel(call: GateCall): void {
    this.stopTimer();
    if (!this.received && !this.answered) {
      this.answered = true;
      const code = endedWith(this.streamId, call.getDeadline());
      this.log.info(
        { method: call.path, peer: call.getPeer(), grpcCode: status[code] ?? String(code) },
        "call ended before its request reached a handler",
      );
    }
  }

  onSendStatus(): void {
    this.answered = true;
    this.stopTimer();
  }

  private stopTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export function noMessage(timeoutMs: number): GatewayError {
  return new GatewayError(
    status.DEADLINE_EXCEEDED,
    `the request (its message and its end) did not arrive within ${timeoutMs} ms of the call's headers`,
    {
      reason: "REQUEST_MESSAGE_TIMEOUT",
      metadata: { firstMessageTimeoutMs: String(timeoutMs) },
    },
  );
}
