import type { CallContext } from "../core/context.js";

/*
 * nice-grpc's `ServerMiddleware` shape, mirrored locally: nice-grpc's `createServer` does not take
 * grpc-js interceptors, which auth, the metadata limit and the A66 metrics need (they run before decoding).
 * Every call is an async generator: a unary call returns its response, a server-streaming call yields its
 * messages in batches (arrays, written in order; `streamRoute`).
 */

/** What middleware may know about the method being called. */
export interface MethodInfo {
  /** The full path, e.g. `/dify.app.v1.ChatService/ChatInvokeStream`. */
  readonly path: string;
  /** The request is an AsyncIterable of the client's messages. */
  readonly requestStream?: boolean;
  readonly responseStream: boolean;
  /**
   * The handler's own request checks (validation, app lookup), for middleware that must refuse a bad
   * request as such before doing anything else. The handler runs them anyway; they are remembered per call.
   */
  readonly checkRequest?: (request: unknown, context: CallContext) => void;
}

export type CallHandler<Req, Res> = (request: Req, context: CallContext) => AsyncGenerator<Res, Res | void, undefined>;

export interface ServerMiddlewareCall<Req, Res> {
  readonly request: Req;
  readonly method: MethodInfo;
  next: CallHandler<Req, Res>;
}

/** A pass-through middleware ends with `return yield* call.next(call.request, context)`: no extra await per batch. */
export type ServerMiddleware = <Req, Res>(
  call: ServerMiddlewareCall<Req, Res>,
  context: CallContext,
) => AsyncGenerator<Res, Res | void, undefined>;

/** `outer` sees every call first and wraps what `inner` does. */
export function composeServerMiddleware(outer: ServerMiddleware, inner: ServerMiddleware): ServerMiddleware {
  return <Req, Res>(call: ServerMiddlewareCall<Req, Res>, context: CallContext) =>
    outer<Req, Res>(
      {
        request: call.request,
        method: call.method,
        next: (request, ctx) => inner<Req, Res>({ request, method: call.method, next: call.next }, ctx),
      },
      context,
    );
}

/** The handler with every middleware around it, the first one outermost. */
export function withMiddleware<Req, Res>(
  handler: CallHandler<Req, Res>,
  method: MethodInfo,
  middleware: ServerMiddleware | undefined,
): CallHandler<Req, Res> {
  if (!middleware) return handler;
  return (request, context) => middleware<Req, Res>({ request, method, next: handler }, context);
}

/** Composes a list, outermost first. */
export function composeAll(middleware: readonly ServerMiddleware[]): ServerMiddleware | undefined {
  return middleware.reduce<ServerMiddleware | undefined>((acc, m) => (acc ? composeServerMiddleware(acc, m) : m), undefined);
}
