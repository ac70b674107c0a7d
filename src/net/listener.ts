import {
  type Http2Server,
  type Http2Session,
  constants as h2,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { type ConnectionInjector, type Deadline, type Server, type ServerCredentials, status } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { MAX_DURATION_MS } from "../config/schema.js";
import { deadlineReached } from "../grpc/call-scope.js";

/**
 * Why we own the TCP listener instead of grpc-js's bindAsync (all measured on grpc-js 1.14):
 * - a socket that never sends the HTTP/2 preface held ~31 KB and one fd forever, and
 *   maxConnectionIdleMs never applied to it (3,000 silent sockets stayed open);
 * - grpc-js has no cap on connections; net.Server.maxConnections is one line here;
 * - drain through the injector works on an ephemeral port too.
 */
export interface ListenerLimits {
  /** A connection whose client has not sent its HTTP/2 SETTINGS (after the preface) within this is destroyed. */
  readonly prefaceTimeoutMs: number;
  /** Connections open at once; the kernel accepts more, Node closes them at once. */
  readonly maxConnections: number;
}

export interface Listener {
  readonly port: number;
  /** GOAWAY on every connection; after `graceMs` the rest are cut. The socket keeps accepting, so probes see NOT_SERVING. */
  drain(graceMs: number): void;
  /** Stops accepting and destroys the connections that never became HTTP/2 sessions; grpc-js's shutdown ends the sessions. */
  close(): Promise<void>;
}

/** "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" */
const PREFACE_BYTES = 24;

interface Http2ServerFactory {
  createHttp2Server(credentials: ServerCredentials): Http2Server;
}

/**
 * Listens on `host:port` and hands each accepted socket to grpc-js. grpc-js
 * gives no hook on its HTTP/2 streams, so `createHttp2Server` (an internal
 * method, present in 1.14) is wrapped to see each stream before grpc-js does:
 * test/e2e/transport-attacks.test.ts fails if that stops working.
 */
export async function listen(
  server: Server,
  listenAddress: string,
  credentials: ServerCredentials,
  limits: ListenerLimits,
  log: Logger,
): Promise<Listener> {
  const connections = new Set<Socket>();
  /** Raw sockets by peer address, so a session (plain or TLS) finds the socket whose preface timer it clears. */
  const awaitingPreface = new Map<string, NodeJS.Timeout>();
  const factory = server as unknown as Http2ServerFactory;
  if (typeof factory.createHttp2Server !== "function")
    throw new Error("@grpc/grpc-js no longer has Server.createHttp2Server: the listener needs updating for this version");
  const create = factory.createHttp2Server.bind(server);
  factory.createHttp2Server = (creds) => {
    const http2Server = create(creds);
    http2Server.prependListener("session", (session: ServerHttp2Session) => {
      // The client's SETTINGS frame follows its preface: from then on the session's own limits (idle, age, keepalive) apply.
      session.once("remoteSettings", () => {
        const key = peerKey(session.socket);
        clearTimeout(awaitingPreface.get(key));
        awaitingPreface.delete(key);
      });
    });
    http2Server.prependListener(
      "stream",
      (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
        keepDuplicateAuthorization(headers, rawHeaders);
        linkStream(stream, headers);
        resetOnceAnswered(stream);
        closeOnResetFlood(stream, log);
      },
    );
    return http2Server;
  };
  let injector: ConnectionInjector;
  try {
    injector = server.createConnectionInjector(credentials);
  } finally {
    factory.createHttp2Server = create;
  }

  const netServer: NetServer = createServer({ noDelay: true }, (socket) => {
    connections.add(socket);
    const key = peerKey(socket);
    const timer = setTimeout(() => {
      awaitingPreface.delete(key);
      log.debug({ peer: key, prefaceTimeoutMs: limits.prefaceTimeoutMs }, "connection closed: no HTTP/2 preface in time");
      socket.destroy();
    }, limits.prefaceTimeoutMs);
    awaitingPreface.set(key, timer);
    socket.once("close", () => {
      clearTimeout(timer);
      if (awaitingPreface.get(key) === timer) awaitingPreface.delete(key);
      connections.delete(socket);
    });
    injector.injectConnection(socket);
  });
  netServer.maxConnections = limits.maxConnections;
  const { host, port } = splitHostPort(listenAddress);
  await new Promise<void>((resolve, reject) => {
    netServer.once("error", reject);
    netServer.listen(port, host, () => {
      netServer.off("error", reject);
      resolve();
    });
  });
  netServer.on("error", (err) => log.error({ err }, "listener error"));
  return {
    port: (netServer.address() as { port: number }).port,
    drain: (graceMs) => injector.drain(graceMs),
    close: async () => {
      for (const [key, timer] of awaitingPreface) {
        clearTimeout(timer);
        awaitingPreface.delete(key);
      }
      for (const socket of connections) if (!socket.destroyed && socket.bytesRead < PREFACE_BYTES) socket.destroy();
      // Not awaited: net.Server's callback waits for every connection, and a TLS handshake in progress would hold the exit.
      netServer.close();
    },
  };
}

function peerKey(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  return `${socket.remoteAddress}:${socket.remotePort}`;
}

function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(":");
  return { host: address.slice(0, i).replace(/^\[(.*)\]$/, "$1"), port: Number(address.slice(i + 1)) };
}

/**
 * Node's HTTP/2 keeps only the first value of a repeated `authorization`
 * header, so a second one would go unseen. Putting every value back lets the
 * registry's "more than one" rule refuse the call.
 */
function keepDuplicateAuthorization(headers: IncomingHttpHeaders, rawHeaders: string[]): void {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (rawHeaders[i] === "authorization") values.push(rawHeaders[i + 1]!);
  if (values.length > 1) (headers as Record<string, string | string[]>).authorization = values;
}

/**
 * Once our status is out, a client that still holds its side open (it never
 * sent END_STREAM) gets RST_STREAM(NO_ERROR), as RFC 9113 §8.1 allows, so the
 * stream and its call are freed: a rejected call otherwise stayed in memory
 * (~12 KB) for as long as the client liked. The reset waits one turn of the
 * loop: nghttp2 sends a reset before frames still queued, which would drop the
 * trailers.
 */
function resetOnceAnswered(stream: ServerHttp2Stream): void {
  const reset = () => {
    // `state.remoteClose`, not `readableEnded`: grpc-js pauses the stream, so an END_STREAM may have arrived unread.
    if (!stream.closed && !stream.destroyed && stream.state.remoteClose !== 1) stream.close(h2.NGHTTP2_NO_ERROR);
  };
  stream.once("finish", () => {
    const trailersOnly = stream.sentHeaders?.["grpc-status"] !== undefined;
    if (trailersOnly || stream.sentTrailers) setImmediate(reset);
    else stream.once("wantTrailers", () => setImmediate(reset));
  });
}

/**
 * nghttp2's answer to a flood of streams the client resets (CVE-2023-44487, "rapid reset"; by default more than
 * 1,000 at once, then 33 a second) is a GOAWAY, after which it reads nothing more from the socket; Node neither
 * closes the session nor notices the client leave. Such connections stayed open, counted against
 * `server.maxConnections`, until `maxConnectionIdleMs`: a probe filled all 200 with ~33 MB of traffic and kept
 * every new client out (a bare node:http2 server does the same). The same budget here, a little smaller so it runs
 * out first, closes the connection nghttp2 has given up on.
 */
const RESET_BURST = 990;
const RESETS_PER_SECOND = 33;
const resetBudgets = new WeakMap<Http2Session, { tokens: number; at: number; closing: boolean }>();

function closeOnResetFlood(stream: ServerHttp2Stream, log: Logger): void {
  // Read now: a closed stream no longer knows its session.
  const session = stream.session;
  stream.once("close", () => {
    if (stream.rstCode !== h2.NGHTTP2_CANCEL || !session || session.destroyed) return;
    const now = performance.now();
    const budget = resetBudgets.get(session) ?? { tokens: RESET_BURST, at: now, closing: false };
    resetBudgets.set(session, budget);
    budget.tokens = Math.min(RESET_BURST, budget.tokens + ((now - budget.at) / 1000) * RESETS_PER_SECOND) - 1;
    budget.at = now;
    if (budget.tokens >= 0 || budget.closing) return;
    budget.closing = true;
    log.info(
      { peer: `${session.socket?.remoteAddress}:${session.socket?.remotePort}` },
      "connection closed: it reset streams faster than HTTP/2 allows",
    );
    // Not from inside this callback: nghttp2 may still be processing the frame that closed the stream, and freeing
    // the session under it trips a native assertion that aborts the process (seen here on Node 20).
    setImmediate(() => session.destroy());
  });
}

/**
 * Interceptors see Metadata, never the HTTP/2 stream; a status grpc-js sends
 * by itself (a request that fails to decode) is visible only on the stream.
 * Each stream gets a process-unique id in a header we set, overwriting any
 * value the client sent, so an interceptor can find its stream.
 */
export const STREAM_ID_HEADER = "x-gateway-stream-id";
const streams = new Map<string, ServerHttp2Stream>();
let lastStreamId = 0;

/** grpc-js takes `grpc-encoding` out of the metadata before any interceptor runs: this copy is what the gates see. */
export const ENCODING_HEADER = "x-gateway-grpc-encoding";

const GRPC_TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 1e-3, n: 1e-6 };

/**
 * grpc-js arms a timer for the call's `grpc-timeout`, and Node fires a timer longer than ~24.8 days at once: a
 * client's 30-day deadline (a long WatchRun) ended its call at once with DEADLINE_EXCEEDED. Such a deadline bounds
 * nothing the gateway could keep, so it is dropped; the client's own deadline still ends the call.
 */
function dropTimerOverflowingDeadline(headers: IncomingHttpHeaders): void {
  const match = GRPC_TIMEOUT.exec(String(headers["grpc-timeout"] ?? ""));
  if (match && Number(match[1]) * (TIMEOUT_UNIT_MS[match[2]!] ?? 0) > MAX_DURATION_MS) delete headers["grpc-timeout"];
}

function linkStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
  dropTimerOverflowingDeadline(headers);
  const id = String(++lastStreamId);
  headers[STREAM_ID_HEADER] = id;
  // Overwritten, or removed: a client's own value of it must not count.
  if (headers["grpc-encoding"] === undefined) delete headers[ENCODING_HEADER];
  else headers[ENCODING_HEADER] = headers["grpc-encoding"];
  streams.set(id, stream);
  // One more turn: grpc-js tells interceptors that a call ended on a later tick than the stream may close.
  stream.once("close", () => setImmediate(() => streams.delete(id)));
}

/**
 * The status a call ended with, as its client saw it: the one sent on its stream (also one grpc-js sent by itself,
 * which passes no interceptor), else DEADLINE_EXCEEDED or CANCELLED for a call the client abandoned.
 */
export function endedWith(id: string | undefined, deadline: Deadline): number {
  return sentStatusCode(id) ?? (deadlineReached(deadline) ? status.DEADLINE_EXCEEDED : status.CANCELLED);
}

/** The gRPC status code our side sent on the call's stream, if any; `id` is the STREAM_ID_HEADER value. */
export function sentStatusCode(id: string | undefined): number | undefined {
  const stream = id === undefined ? undefined : streams.get(id);
  const code = stream?.sentTrailers?.["grpc-status"] ?? stream?.sentHeaders?.["grpc-status"];
  return code === undefined ? undefined : Number(code);
}
