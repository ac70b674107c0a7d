import type { Socket } from "node:net";
import { Readable } from "node:stream";
import type { buildConnector as BuildConnector } from "undici";
import { compact } from "./sse-body.js";
import { buildConnector } from "./undici.js";

/*
 * What a paused SSE response keeps in the gateway. undici's HTTP/1 parser, paused mid-read (StreamedResponse's
 * queue is full), puts the rest of that read back with `socket.unshift(rest)`, and the `socket.read()` that
 * handed it the read had already asked the socket for the next one. So a stalled stream's socket held two
 * libuv reads: the one put back (a view, pinning the whole 64 KiB read or the larger buffer `read()`
 * concatenated) and the next 64 KiB read that arrived after the pause. Heap snapshot, 200 slow streams: 128 KiB
 * per stream, two thirds of the stream's buffers (docs/PERFORMANCE.md, "Slow-reader memory, 2026-12-06").
 *
 * The connector below puts back a copy of just the unparsed bytes when they are a small part of their buffer,
 * and stops the socket's reading as Node stops it when a read fills the socket's buffer (`readStop`, in
 * `onStreamRead`): what Dify sent next stays in the kernel until the parser is resumed and reads again. The
 * socket's high-water mark is one byte, so that Node's read-ahead (`maybeReadMore`, which reads while the
 * buffer holds less than the mark) does not start it again while anything is put back. A resumed parser reads
 * as before: `socket.read()` finds the buffer below the mark and starts the socket.
 *
 * Plain-TCP sockets also read at most 8 KiB at a time (`onread`, Node's documented option for a buffer of the
 * caller's choosing) instead of libuv's 64 KiB, each read copied out at its exact size. With a slow reader every
 * resume lets one read in, so the read size bounds what a paused stream holds, and the body queue's mark can be
 * as small (STREAM_BODY_HIGH_WATER_MARK). 1,000 slow readers: peak RSS ~390 -> ~260 MiB; 4 KiB reads saved
 * nothing more; callgrind instructions per relayed event of a fast stream unchanged within their ±5 % spread
 * (docs/PERFORMANCE.md, "Slow readers, small socket reads"). TLS sockets keep Node's reads: `tls.connect` has no
 * such option (its records are at most 16 KiB anyway).
 */

/** What Node's net.Socket keeps for this (not a public API; checked before use, see `stopReading`). */
interface SocketInternals {
  _handle?: { reading?: boolean; readStop?: () => number } | null;
  _readableState?: { reading?: boolean };
}

const SOCKET_HIGH_WATER_MARK = 1;
/** The most one read of a plain-TCP Dify socket takes from the kernel. */
export const SOCKET_READ_SIZE = 8 * 1024;

/**
 * Every plain-TCP Dify socket reads into this one buffer: Node calls `copyOut` synchronously for each read, and
 * it copies the bytes out before the next read can start, so sharing it is safe and costs 8 KiB in all.
 */
const readBuffer = Buffer.allocUnsafeSlow(SOCKET_READ_SIZE);

/**
 * Hands a read to the socket as Node itself would (`push`, and its result stops the reading), as a Buffer of its
 * own exact size: not from Node's pool, whose 8 KiB slabs a queued chunk would pin. Node calls it as a method of
 * the socket.
 */
function copyOut(this: Socket, nread: number, buffer: Uint8Array): boolean {
  const chunk = Buffer.allocUnsafeSlow(nread);
  chunk.set(buffer.subarray(0, nread));
  return this.push(chunk);
}

/** The rest put back, copied when it is a small part of a large read (under half of it). */
function compactRest(chunk: unknown): unknown {
  return Buffer.isBuffer(chunk) ? compact(chunk, 2) : chunk;
}

/** The socket stops reading, in the state Node leaves it in when a read filled its buffer. */
function stopReading(socket: Socket): void {
  const s = socket as unknown as SocketInternals;
  const handle = s._handle;
  const state = s._readableState;
  if (!handle || typeof handle.readStop !== "function" || handle.reading !== true || !state || state.reading !== true) return;
  handle.reading = false;
  // An error is left to the next read, which restarts the handle and reports it.
  handle.readStop();
  state.reading = false;
}

function holdLess(socket: Socket): void {
  socket.unshift = function unshift(this: Socket, chunk: unknown, encoding?: BufferEncoding) {
    Readable.prototype.unshift.call(this, compactRest(chunk), encoding);
    if (this.readableLength > 0) stopReading(this);
  };
}

/** undici's connector for Dify, with `options` as Agent's `connect` takes them, holding less per paused response. */
export function difyConnector(options: BuildConnector.BuildOptions): BuildConnector.connector {
  const withMark = { ...options, highWaterMark: SOCKET_HIGH_WATER_MARK };
  const connectTls = buildConnector(withMark as unknown as BuildConnector.BuildOptions);
  const connectTcp = buildConnector({
    ...withMark,
    onread: { buffer: readBuffer, callback: copyOut },
  } as unknown as BuildConnector.BuildOptions);
  return (opts, callback) =>
    (opts.protocol === "https:" ? connectTls : connectTcp)(opts, (err, socket) => {
      if (socket) holdLess(socket as Socket);
      // biome-ignore lint/suspicious/noExplicitAny: undici's callback is overloaded on err/socket.
      (callback as any)(err, socket);
    });
}
