import { type ClientHttp2Session, type ClientHttp2Stream, connect, type IncomingHttpHeaders } from "node:http2";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

/** A raw HTTP/2 client for hostile calls a gRPC library would never make (headers without a message, garbage bytes). */
export function h2(address: string): ClientHttp2Session {
  const session = connect(`http://${address}`);
  session.on("error", () => {});
  return session;
}

export interface RawCall {
  stream: ClientHttp2Stream;
  /** Response headers, or the trailers of a trailers-only response. */
  headers: Promise<IncomingHttpHeaders>;
  trailers: Promise<IncomingHttpHeaders | undefined>;
  /** Resolves with the RST_STREAM code when the server (or we) close the stream. */
  closed: Promise<number>;
}

/** Opens a gRPC call by hand; the request side stays open unless `body` is given (then sent with END_STREAM). */
export function rawCall(session: ClientHttp2Session, path: string, metadata: Record<string, string>, body?: Buffer): RawCall {
  const stream = session.request(
    { ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...metadata },
    { endStream: false },
  );
  stream.on("error", () => {});
  // Rejects if the stream closes unanswered, so a test waiting on it fails with the reason, not at its timeout.
  const headers = new Promise<IncomingHttpHeaders>((resolve, reject) => {
    stream.once("response", resolve);
    stream.once("close", () => reject(new Error(`the stream closed without response headers (RST_STREAM code ${stream.rstCode})`)));
  });
  headers.catch(() => {}); // a caller that never looks at the headers is not an unhandled rejection
  const trailers = new Promise<IncomingHttpHeaders | undefined>((resolve) => {
    stream.once("trailers", resolve);
    stream.once("close", () => resolve(undefined));
  });
  const closed = new Promise<number>((resolve) => stream.once("close", () => resolve(stream.rstCode ?? -1)));
  stream.resume();
  if (body) stream.end(body);
  return { stream, headers, trailers, closed };
}

/** A gRPC length-prefixed message frame around `payload`. */
export function grpcFrame(payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** The grpc-status of a call, from its trailers or its trailers-only headers. */
export async function grpcStatus(call: RawCall): Promise<{ code: number; headers: IncomingHttpHeaders }> {
  const headers = await call.headers;
  const all = headers["grpc-status"] !== undefined ? headers : ((await call.trailers) ?? {});
  return { code: Number(all["grpc-status"]), headers: all };
}

/**
 * A TCP proxy that appends `extra` headers (HPACK literals, never indexed, so the
 * encoder's table stays in step) to every HEADERS frame the client sends. Node's
 * HTTP/2 client refuses to send a second `authorization` header; this sends one anyway.
 */
export async function headerInjectingProxy(target: string, extra: [string, string][]): Promise<{ address: string; close(): void }> {
  const block = Buffer.concat(extra.map(([name, value]) => Buffer.concat([Buffer.from([0x10]), hpackString(name), hpackString(value)])));
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const [host, port] = target.split(":");
    const upstream = tcpConnect(Number(port), host!);
    sockets.add(client).add(upstream);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    upstream.pipe(client);
    let pending = Buffer.alloc(0);
    let prefaceLeft = 24;
    client.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (prefaceLeft > 0) {
        const n = Math.min(prefaceLeft, pending.length);
        upstream.write(pending.subarray(0, n));
        pending = pending.subarray(n);
        prefaceLeft -= n;
      }
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        const frame = pending.subarray(0, 9 + length);
        pending = pending.subarray(9 + length);
        upstream.write(frame[3] === 0x1 ? withExtraHeaders(frame, block) : frame);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${(server.address() as { port: number }).port}`,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;

function withExtraHeaders(frame: Buffer, block: Buffer): Buffer {
  const flags = frame[4]!;
  if (!(flags & END_HEADERS) || flags & PADDED) throw new Error("the proxy handles unpadded HEADERS frames with END_HEADERS only");
  const payload = frame.subarray(9);
  const out = Buffer.concat([frame.subarray(0, 9), payload, block]);
  out.writeUIntBE(payload.length + block.length, 0, 3);
  void PRIORITY; // a priority prefix stays in front of the block, so appending is still right
  return out;
}

function hpackString(s: string): Buffer {
  const bytes = Buffer.from(s, "latin1");
  if (bytes.length >= 127) throw new Error("the proxy encodes short header strings only");
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}
