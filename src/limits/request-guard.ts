import { ResponderBuilder, ServerInterceptingCall, type ServerInterceptor, ServerListenerBuilder, status } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { deadlineReached } from "../grpc/call-scope.js";
import { GatewayError } from "../grpc/gateway-error.js";
import { rejectCall } from "../grpc/reject.js";
import { STREAM_ID_HEADER, sentStatusCode } from "../net/listener.js";

/**
 * What happens to a call before its request message reaches a handler:
 * - a call whose message does not arrive within `firstMessageTimeoutMs` of its
 *   headers ends with DEADLINE_EXCEEDED, so a client cannot park calls for free;
 * - a call that ends before a handler ran (its message failed to decode, was too
 *   large, or the client left first) still leaves its one log line, which no
 *   handler would write: grpc-js answers those by itself, past every interceptor.
 * It sits just inside the metrics interceptor, so every status another
 * interceptor or a handler sends passes through it and is not logged twice.
 */
export function requestGuardInterceptor(settings: () => { firstMessageTimeoutMs: number }, log: Logger): ServerInterceptor {
  return (method, call) => {
    let streamId: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    let received = false;
    let answered = false;
    const stopTimer = () => {
      clearTimeout(timer);
      timer = undefined;
    };
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        streamId = metadata.get(STREAM_ID_HEADER)[0]?.toString();
        metadata.remove(STREAM_ID_HEADER);
        const { firstMessageTimeoutMs } = settings();
        timer = setTimeout(() => {
          timer = undefined;
          if (received || answered) return;
          answered = true;
          log.info(
            { method: method.path, peer: call.getPeer(), grpcCode: "DEADLINE_EXCEEDED", firstMessageTimeoutMs },
            "call ended: no request message in time",
          );
          rejectCall(call, noMessage(firstMessageTimeoutMs));
        }, firstMessageTimeoutMs);
        next(metadata);
      })
      .withOnReceiveMessage((message, next) => {
        received = true;
        stopTimer();
        next(message);
      })
      .withOnReceiveHalfClose((next) => {
        stopTimer();
        next();
      })
      .withOnCancel(() => {
        stopTimer();
        if (!received && !answered) {
          answered = true;
          const code = sentStatusCode(streamId) ?? (deadlineReached(call.getDeadline()) ? status.DEADLINE_EXCEEDED : status.CANCELLED);
          log.info(
            { method: method.path, peer: call.getPeer(), grpcCode: status[code] ?? String(code) },
            "call ended before its request reached a handler",
          );
        }
      })
      .build();
    const responder = new ResponderBuilder()
      .withStart((next) => next(listener))
      .withSendStatus((st, next) => {
        answered = true;
        stopTimer();
        next(st);
      })
      .build();
    return new ServerInterceptingCall(call, responder);
  };
}

export function noMessage(timeoutMs: number): GatewayError {
  return new GatewayError(status.DEADLINE_EXCEEDED, `no request message arrived within ${timeoutMs} ms of the call's headers`, {
    reason: "REQUEST_MESSAGE_TIMEOUT",
    metadata: { firstMessageTimeoutMs: String(timeoutMs) },
  });
}
