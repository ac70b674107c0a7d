import type { CallContext } from "../core/context.js";
import { REATTACHABLE_RUN } from "../core/hand-off.js";
import type { GatewayError } from "../grpc/gateway-error.js";
import { handedOff, type Lifecycle, shuttingDown, type Terminable } from "./lifecycle.js";
import type { ServerMiddleware } from "./types.js";

/**
 * Refuses new calls once a drain started, and registers each call, until its answer is delivered, so the drain waits
 * for it and can end it when the grace runs out.
 * A call whose run Dify can re-attach (a workflow or Chatflow run an event has named) is ended with that run's id,
 * and the run is handed off rather than stopped.
 */
export function drain(lifecycle: Lifecycle): ServerMiddleware {
  return async function* drainMiddleware(call, context) {
    if (lifecycle.draining) throw shuttingDown();
    const terminable = handingOff(context);
    lifecycle.enter(terminable);
    try {
      return yield* call.next(call.request, context);
    } finally {
      // Not when the handler returns: a slow reader may still be reading the last messages and the status, which a
      // drain must give the grace to arrive (its forced close would cut them while the log said the call finished).
      context.onClosed(() => lifecycle.leave(terminable));
    }
  };
}

function handingOff(context: CallContext): Terminable {
  return {
    terminate(reason: GatewayError) {
      // Read now, once: the status names exactly the run the upstream side then leaves running.
      const run = context.values.get(REATTACHABLE_RUN)?.();
      context.terminate(run ? handedOff(run) : reason);
    },
  };
}
