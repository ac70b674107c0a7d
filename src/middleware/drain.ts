import { type Lifecycle, shuttingDown } from "./lifecycle.js";
import type { ServerMiddleware } from "./types.js";

/** Refuses new calls once a drain started, and registers each call so the drain can end it when the grace runs out. */
export function drain(lifecycle: Lifecycle): ServerMiddleware {
  return async function* drainMiddleware(call, context) {
    if (lifecycle.draining) throw shuttingDown();
    lifecycle.enter(context);
    try {
      return yield* call.next(call.request, context);
    } finally {
      lifecycle.leave(context);
    }
  };
}
