import type { Server, ServerReadableStream, ServerUnaryCall, ServerWritableStream, sendUnaryData } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { callerOf } from "../auth/context.js";
import type { TokenEntry, Workspace } from "../config/config.js";
import { callError } from "../core/call-error.js";
import { type CallContext, createContextValues } from "../core/context.js";
import { shownAppId } from "../core/shown-app-id.js";
import { CallScope } from "../grpc/call-scope.js";
import { writeOrWait } from "../grpc/writer.js";
import { preEncoded, sizeRecording } from "../metrics/gate.js";
import { type CallHandler, type MethodInfo, type ServerMiddleware, withMiddleware } from "../middleware/types.js";
import { traceFrom } from "../tracing/trace-context.js";
import { fittingIntegers } from "../translate/fit-integers.js";
import { deliverable } from "./response-size.js";
import type { Route } from "./route.js";

/*
 * The only place that touches grpc-js call objects (the model is nice-grpc's handleUnaryCall and
 * handleServerStreamingCall): it builds each call's context once, runs the composed handler, and owns
 * encoding, backpressure and the final status. Responses leave encoded for the byte metrics (see
 * metrics/gate.ts).
 */

type Call = ServerUnaryCall<unknown, Buffer> | ServerWritableStream<unknown, Buffer> | ServerReadableStream<unknown, Buffer>;

/** Registers every route on `server`, each with the middleware around its handler. */
export function serveRoutes(
  server: Server,
  routes: readonly Route[],
  log: Logger,
  middleware: ServerMiddleware | undefined,
  maxSendBytes?: number,
): void {
  for (const { definition, handler, checkRequest, appIdOf } of routes) {
    const method: MethodInfo = {
      path: definition.path,
      requestStream: definition.requestStream,
      responseStream: definition.responseStream,
      checkRequest,
    };
    const serialize = fittingIntegers(definition.path, definition.responseSerialize);
    const encode = (message: unknown) => deliverable(serialize(message), maxSendBytes);
    const deserialize = sizeRecording(definition.requestDeserialize);
    if (definition.requestStream && definition.responseStream) throw new Error(`${definition.path}: bidirectional streaming is not served`);
    const registered = definition.requestStream
      ? server.register(
          definition.path,
          clientStreamingHandler(withMiddleware(encoding(handler, encode), method, middleware), log, appIdOf),
          preEncoded,
          deserialize,
          "clientStream",
        )
      : definition.responseStream
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
    void answer(scope, callback, async () => handler(call.request, contextOf(call, scope, log)));
  };
}

/** Runs a call with one answer (unary, client streaming) to its return value, and answers it once. */
async function answer(
  scope: CallScope,
  callback: sendUnaryData<Buffer>,
  start: () => Promise<AsyncGenerator<Buffer, Buffer | void, undefined>>,
): Promise<void> {
  try {
    const calls = await start();
    let next = await calls.next();
    while (!next.done) next = await calls.next();
    if (scope.finish()) callback(null, next.value as Buffer);
  } catch (err) {
    if (scope.finish()) callback(callError(err, scope.signal).toStatus());
  }
}

/**
 * A client-streaming call: the handler's request is the call's messages as an async iterable, read one at a
 * time. grpc-js pauses the HTTP/2 stream after each message until the next one is asked for, and the call's
 * buffer holds one message instead of Node's default sixteen: a handler that stops pulling (its upstream
 * write is not draining) stops the client after about one message of up to `maxReceiveMessageBytes`. The first
 * message is read before the handler runs, so the call's log line can name its app (`appIdOf`).
 */
function clientStreamingHandler(handler: CallHandler<unknown, Buffer>, log: Logger, appIdOf: ((first: unknown) => unknown) | undefined) {
  return (call: ServerReadableStream<unknown, Buffer>, callback: sendUnaryData<Buffer>) => {
    const scope = new CallScope(call);
    holdOneMessage(call);

    const iterator = call.iterator({ destroyOnReturn: false })[Symbol.asyncIterator]() as AsyncIterator<unknown>;
    void answer(scope, callback, async () => {
      const first = await iterator.next();
      const messages = replaying(first, iterator, scope.signal);
      return handler(messages, contextOf(call, scope, log, first.done ? undefined : appIdOf?.(first.value)));
    });
  };
}

/** How long after a client's last message a cancel still counts as one (see `replaying`). */
const CANCEL_AFTER_END_GRACE_MS = 100;

/** grpc-js builds the call's Readable with Node's object-mode default of 16 buffered messages; one is enough to stream. */
function holdOneMessage(call: ServerReadableStream<unknown, Buffer>): void {
  const state = (call as unknown as { _readableState?: { highWaterMark: number } })._readableState;
  if (state) state.highWaterMark = 1;
}

/**
 * The call's messages with the first one, already read, put back in front. They end cleanly only when the client
 * half-closed, never when it cancelled: otherwise a handler would take a cut-off upload for a whole one.
 */
async function* replaying(
  first: IteratorResult<unknown>,
  rest: AsyncIterator<unknown>,
  signal: AbortSignal,
): AsyncGenerator<unknown, void, undefined> {
  if (!first.done) {
    yield first.value;
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
  }
  // A grpc-js client that cancels sends END_STREAM and then RST_STREAM (Node's Http2Stream.close ends the writable
  // side first), so the end of its messages can be a cancel that has not arrived yet: measured 9-11 ms apart on
  // loopback under load. The end is believed only after a grace with no cancel.
  await new Promise((resolve) => setTimeout(resolve, CANCEL_AFTER_END_GRACE_MS));
  signal.throwIfAborted();
}

/**
 * Writes each batch the handler yields (see `streamRoute`), message by message, waiting whenever grpc-js asks, and
 * empties it once written: a batch is handed over for good. Node 22's V8 keeps the last result of a `yield*` in each
 * delegating generator's frame (the middleware layers) and ours in `next` while the next batch is awaited, so a slow
 * stream pinned earlier batches' decoded events: 1,000 slow readers peaked at 305-310 MiB, 253-264 with batches
 * emptied; Node 20 the same either way (docs/PERFORMANCE.md, "The container's Node 22").
 */
function streamingHandler(handler: CallHandler<unknown, unknown>, encode: (message: unknown) => Buffer, log: Logger) {
  return (call: ServerWritableStream<unknown, Buffer>) => {
    const scope = new CallScope(call);
    void (async () => {
      try {
        const messages = handler(call.request, contextOf(call, scope, log));
        let next = await messages.next();
        while (!next.done) {
          let failure: unknown;
          const batch = next.value as unknown[];
          let handedOver = 0;
          try {
            for (const message of batch) {
              // No promise to await while grpc-js takes each message at once (see writeOrWait).
              const waiting = writeOrWait(call, encode(message), scope.signal);
              handedOver++;
              if (waiting) await waiting;
            }
          } catch (err) {
            failure = err ?? new Error("write failed");
          }
          // A drain that ended the call while grpc-js still held the batch's last messages for a slow reader: they
          // will be delivered, the client being there, so the handler goes on and learns of the drain on its own.
          // A batch that held the terminal event then ends the call OK rather than "retry elsewhere" for a run that
          // finished (a caller would run it twice).
          if (failure !== undefined && handedOver === batch.length && scope.signal.aborted && !scope.clientLeft) failure = undefined;
          batch.length = 0;
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

function contextOf(call: Call, scope: CallScope, log: Logger, appId: unknown = (call as { request?: unknown }).request): CallContext {
  const startedAt = performance.now();
  const trace = traceFrom(call.metadata);
  const caller = callerOf(call.metadata);
  const workspace = caller?.workspace;
  const method = call.getPath();
  return {
    signal: scope.signal,
    workspace,
    token: caller?.token,
    deadline: deadlineOf(call),
    caller: caller?.id,
    bearer: caller?.bearer,
    trace,
    // One child per call, with everything known up front: pino's child-of-a-child measured ~20 µs per call more.
    log: log.child({
      traceId: trace.traceId,
      spanId: trace.spanId,
      method,
      workspace: workspace?.id,
      tokenName: caller?.token?.label,
      appId: loggable(appId, workspace, caller?.token),
    }),
    method,
    startedAt,
    values: createContextValues(),
    terminate: (reason) => scope.terminate(reason),
    clientLeft: () => scope.clientLeft,
    onClosed: (cb) => scope.onClosed(cb),
  };
}

function deadlineOf(call: Call): number | undefined {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  return Number.isFinite(ms) ? ms : undefined;
}

/** The request's app_id as the log line shows it (`shownAppId`). */
function loggable(request: unknown, workspace: Workspace | undefined, token: TokenEntry | undefined): string | undefined {
  const appId = typeof request === "string" ? request : (request as { appId?: unknown } | undefined)?.appId;
  if (typeof appId !== "string") return undefined;
  return shownAppId(appId, workspace, token);
}
