import type { MethodDefinition } from "@grpc/grpc-js";
import type { CallContext } from "../core/context.js";
import type { CallHandler } from "../middleware/types.js";

/**
 * One RPC as the server registers it: its generated method definition (path, codecs, streaming) and
 * its transport-free handler. A unary handler returns its response; a streaming one yields its messages.
 */
export interface Route<Req = unknown, Res = unknown> {
  readonly definition: MethodDefinition<Req, Res>;
  readonly handler: CallHandler<Req, Res>;
  /** The handler's request checks, for middleware that must refuse bad requests first (see MethodInfo). */
  readonly checkRequest?: (request: Req, context: CallContext) => void;
}

/** Erases a route's message types for the registration list; the adapter only passes messages through. */
export function route<Req, Res>(r: Route<Req, Res>): Route {
  return r as unknown as Route;
}
