import type { Server, ServerUnaryCall, ServerWritableStream, sendUnaryData } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { workspaceOf } from "../auth/context.js";
import { MAX_APP_ID_LENGTH } from "../config/schema.js";
import { callError } from "../core/call-error.js";
import { type CallContext, createContextValues } from "../core/context.js";
import { CallScope } from "../grpc/call-scope.js";
import { writeMessage } from "../grpc/writer.js";
import { preEncoded, sizeRecording } from "../metrics/interceptor.js";
import { type CallHandler, type MethodInfo, type ServerMiddleware, withMiddleware } from "../middleware/types.js";
import { traceFrom } from "../tracing/trace-context.js";
import { deliverable } from "./response-size.js";
import type { Route } from "./route.js";

/*
 * The only place that touches grpc-js call objects (the model is nice-grpc's handleUnaryCall and
 * handleServerStreamingCall): it builds each call's context once, runs the composed handler, and owns
 * encoding, backpressure and the final status. Responses leave encoded for the byte metrics (see
 * metrics/interceptor.ts).
 */

type Call = ServerUnaryCall<unknown, Buffer> | ServerWritableStream<unknown, Buffer>;

/** Registers every route on `server`, each with the middleware around its handler. */
export function serveRoutes(
  server: Server,
  routes: readonly Route[],
  log: Logger,
  middleware: ServerMiddleware | undefined,
  maxSendBytes?: number,
): void {
  for (const { definition, handler, checkRequest } of routes) {
    const method: MethodInfo = { path: definition.path, responseStream: definition.responseStream, checkRequest };
    const encode = (message: unknown) => deliverable(definition.responseSerialize(message), maxSendBytes);
    const deserialize = sizeRecording(definition.requestDeserialize);
    const registered = definition.responseStream
      ? server.register(
          definition.path,
          streamingHandler(withMiddleware(handler, method, middleware), encode, log),
          preEncoded,
          deserialize,
          "serverStream",
        )
      : server.register(
          definition.path,
          unaryHandler(withMiddleware(encoding(handler, encode), method, middleware), log),
          preEncoded,
          deserialize,
          "unary",
        );
    if (!registered) throw new Error(`${definition.path} is registered twice`);
  }
}

/** Encodes a unary response inside the middleware, so a message that cannot be encoded is logged as the call's failure. */
function encoding(handler: CallHandler<unknown, unknown>, encode: (message: unknown) => Buffer): CallHandler<unknown, Buffer> {
  return async function* (request, context) {
    const calls = handler(request, context);
    let next = await calls.next();
    // A unary handler yields nothing: its return value is the response.
    while (!next.done) next = await calls.next();
    return encode(next.value);
  };
}

function unaryHandler(handler: CallHandler<unknown, Buffer>, log: Logger) {
  return (call: ServerUnaryCall<unknown, Buffer>, callback: sendUnaryData<Buffer>) => {
    const scope = new CallScope(call);
    void (async () => {
      try {
        const calls = handler(call.request, contextOf(call, scope, log));
        let next = await calls.next();
        while (!next.done) next = await calls.next();
        if (scope.finish()) callback(null, next.value as Buffer);
      } catch (err) {
        if (scope.finish()) callback(callError(err, scope.signal).toStatus());
      }
    })();
  };
}

function streamingHandler(handler: CallHandler<unknown, unknown>, encode: (message: unknown) => Buffer, log: Logger) {
  return (call: ServerWritableStream<unknown, Buffer>) => {
    const scope = new CallScope(call);
    void (async () => {
      try {
        const messages = handler(call.request, contextOf(call, scope, log));
        let next = await messages.next();
        while (!next.done) {
          let failure: unknown;
          try {
            await writeMessage(call, encode(next.value), scope.signal);
          } catch (err) {
            failure = err ?? new Error("write failed");
          }
          // A failed write (the client left while we waited for it to read, or an encoding bug) is thrown into the
          // handler, so every layer sees it like any other failure: the run is stopped and the call logged once.
          next = failure === undefined ? await messages.next() : await messages.throw(failure);
        }
        if (scope.finish()) call.end();
      } catch (err) {
        if (scope.finish()) call.emit("error", callError(err, scope.signal).toStatus());
      }
    })();
  };
}

function contextOf(call: Call, scope: CallScope, log: Logger): CallContext {
  const startedAt = performance.now();
  const trace = traceFrom(call.metadata);
  const workspace = workspaceOf(call.metadata);
  const method = call.getPath();
  return {
    signal: scope.signal,
    workspace,
    trace,
    // One child per call, with everything known up front: pino's child-of-a-child measured ~20 µs per call more.
    log: log.child({ traceId: trace.traceId, spanId: trace.spanId, method, workspace: workspace?.id, appId: loggable(call.request) }),
    method,
    startedAt,
    values: createContextValues(),
    terminate: (reason) => scope.terminate(reason),
    clientLeft: () => scope.clientLeft,
  };
}

/** The request's app_id as the log line shows it: validation rejects long ones, but their line is written too. */
function loggable(request: unknown): string | undefined {
  const appId = (request as { appId?: unknown } | undefined)?.appId;
  if (typeof appId !== "string") return undefined;
  return appId.length > MAX_APP_ID_LENGTH ? `${appId.slice(0, MAX_APP_ID_LENGTH)}…` : appId;
}
