import type { MethodDefinition } from "@grpc/grpc-js";
import type { CallContext } from "../core/context.js";
import type { CallHandler } from "../middleware/types.js";

/**
 * One RPC as the server registers it: its generated method definition (path, codecs, streaming) and
 * its transport-free handler. A unary handler returns its response; a server-streaming one yields its messages in
 * batches (see `streamRoute`). A client-streaming handler's request is an `AsyncIterable` of the call's messages
 * and it returns its response.
 */
export interface Route<Req = unknown, Res = unknown> {
  readonly definition: MethodDefinition<Req, Res>;
  readonly handler: CallHandler<Req, Res>;
  /** The handler's request checks, for middleware that must refuse bad requests first (see MethodInfo). */
  readonly checkRequest?: (request: Req, context: CallContext) => void;
  /** Client-streaming routes: the app_id the call's log line names, read from its first message. */
  readonly appIdOf?: (first: unknown) => string | undefined;
}

/** Erases a route's message types for the registration list; the adapter only passes messages through. */
export function route<Req, Res>(r: Route<Req, Res>): Route {
  return r as unknown as Route;
}

/**
 * A server-streaming RPC: its handler yields arrays of messages, written in order. A run yields every event Dify
 * has already sent as one batch, so the middleware chain's generator hops are paid once per batch rather than once
 * per event: ~10 % fewer instructions and CPU per relayed event (docs/PERFORMANCE.md, "Batches of events").
 * Each array is handed over for good: the adapter empties it once written (`streamingHandler` says why), so a
 * handler never yields an array it keeps or shares.
 */
export interface StreamRoute<Req, Res> {
  readonly definition: MethodDefinition<Req, Res> & { readonly responseStream: true };
  readonly handler: CallHandler<Req, readonly Res[]>;
  readonly checkRequest?: (request: Req, context: CallContext) => void;
}

export function streamRoute<Req, Res>(r: StreamRoute<Req, Res>): Route {
  return r as unknown as Route;
}

/** A client-streaming RPC: its handler reads the call's messages as an async iterable and returns the response. */
export interface ClientStreamRoute<Req, Res> {
  readonly definition: MethodDefinition<Req, Res> & { readonly requestStream: true };
  readonly handler: CallHandler<AsyncIterable<Req>, Res>;
  /** The app_id the call's log line names, read from the first message. */
  readonly appIdOf?: (first: Req) => string | undefined;
}

export function clientStreamRoute<Req, Res>(r: ClientStreamRoute<Req, Res>): Route {
  return r as unknown as Route;
}
