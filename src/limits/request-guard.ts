import { type Metadata, status } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { deadlineReached } from "../grpc/call-scope.js";
import type { Gate, GateCall, GateFactory } from "../grpc/gates.js";
import { GatewayError } from "../grpc/gateway-error.js";
import { STREAM_ID_HEADER, sentStatusCode } from "../net/listener.js";

/**
 * What happens to a call before its request message reaches a handler:
 * - a call whose message does not arrive within `firstMessageTimeoutMs` of its
 *   headers ends with DEADLINE_EXCEEDED, so a client cannot park calls for free;
 * - a call that ends before a handler ran (its message failed to decode, was too
 *   large, or the client left first) still leaves its one log line, which no
 *   handler would write: grpc-js answers those by itself, past every gate.
 * It sits just inside the metrics gate, so every status another gate or a
 * handler sends passes through it and is not logged twice.
 */
export function requestGuardGate(settings: () => { firstMessageTimeoutMs: number }, log: Logger): GateFactory {
  return () => new RequestGuard(settings, log);
}

class RequestGuard implements Gate {
  private streamId: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private received = false;
  private answered = false;

  constructor(
    private readonly settings: () => { firstMessageTimeoutMs: number },
    private readonly log: Logger,
  ) {}

  onMetadata(metadata: Metadata, call: GateCall): undefined {
    this.streamId = metadata.get(STREAM_ID_HEADER)[0]?.toString();
    metadata.remove(STREAM_ID_HEADER);
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
    this.received = true;
    this.stopTimer();
  }

  onHalfClose(): void {
    this.stopTimer();
  }

  onCancel(call: GateCall): void {
    this.stopTimer();
    if (!this.received && !this.answered) {
      this.answered = true;
      const code = sentStatusCode(this.streamId) ?? (deadlineReached(call.getDeadline()) ? status.DEADLINE_EXCEEDED : status.CANCELLED);
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
  return new GatewayError(status.DEADLINE_EXCEEDED, `no request message arrived within ${timeoutMs} ms of the call's headers`, {
    reason: "REQUEST_MESSAGE_TIMEOUT",
    metadata: { firstMessageTimeoutMs: String(timeoutMs) },
  });
}
