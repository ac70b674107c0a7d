import { once } from "node:events";
import { createServer, type Server } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { STREAM_BODY_HIGH_WATER_MARK } from "../../src/dify/client.js";
import { difyConnector, SOCKET_READ_SIZE } from "../../src/dify/socket.js";
import { StreamedResponse } from "../../src/dify/sse-body.js";
import { Agent, buildConnector } from "../../src/dify/undici.js";
import { TestCa } from "../helpers/certs.js";

const EVENT = Buffer.from(`data: {"event":"message","answer":"${"x".repeat(1000)}"}\n\n`);
const EVENTS = 4_000; // ~4 MB: far more than the kernel's socket buffers take in before the writes wait

/** A Dify that writes one chunk per event as fast as the connection takes them (over TLS with `tls`). */
async function fastDify(tls?: { key: Buffer; cert: Buffer }): Promise<Server> {
  const handler = (_req: unknown, res: import("node:http").ServerResponse) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    let i = 0;
    const write = () => {
      while (i < EVENTS) {
        i++;
        if (!res.write(EVENT)) return void res.once("drain", write);
      }
      res.end();
    };
    write();
  };
  const server = tls ? createTlsServer(tls, handler) : createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return server;
}

let server: Server | undefined;
let agent: InstanceType<typeof Agent> | undefined;
afterEach(async () => {
  await agent?.close();
  server?.close();
});

/** Opens one SSE response through an Agent on `connector`, with the gateway's body mark; returns it and its socket. */
async function open(connector: ReturnType<typeof difyConnector>, tls?: { key: Buffer; cert: Buffer }) {
  server = await fastDify(tls);
  const sockets: Socket[] = [];
  agent = new Agent({
    connect: (opts, cb) => connector(opts, (err, s) => (s && sockets.push(s as Socket), (cb as (e: unknown, s: unknown) => void)(err, s))),
  });
  const response = new StreamedResponse(STREAM_BODY_HIGH_WATER_MARK, new AbortController().signal, (err) => err);
  const { port } = server.address() as AddressInfo;
  agent.dispatch({ origin: `${tls ? "https" : "http"}://127.0.0.1:${port}`, path: "/", method: "GET" }, response);
  await response.head;
  return { response, socket: () => sockets[0]! };
}

async function readAll(response: StreamedResponse): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Bytes a socket keeps in its buffer, counted by the buffers' backing stores (what memory they pin). */
function pinned(socket: Socket): number {
  const buffers = (socket as unknown as { _readableState: { buffer: Iterable<Buffer> } })._readableState.buffer;
  const seen = new Set<ArrayBufferLike>();
  let bytes = 0;
  for (const b of buffers) if (!seen.has(b.buffer)) seen.add(b.buffer), (bytes += b.buffer.byteLength);
  return bytes;
}

describe("difyConnector", () => {
  it("a paused response's socket keeps at most the unparsed rest of one (8 KiB) read, and the body arrives whole", async () => {
    const { response, socket } = await open(difyConnector({ timeout: 5_000 }));
    // Nobody reads: the response pauses at its mark; whatever Dify writes next must stay in the kernel.
    await new Promise((r) => setTimeout(r, 300));
    expect(socket().readableLength).toBeGreaterThan(0);
    expect(socket().readableLength).toBeLessThanOrEqual(SOCKET_READ_SIZE);
    expect(pinned(socket())).toBeLessThanOrEqual(SOCKET_READ_SIZE);
    const body = await readAll(response);
    expect(body.length).toBe(EVENT.length * EVENTS);
    expect(body.equals(Buffer.concat(Array.from({ length: EVENTS }, () => EVENT)))).toBe(true);
  });

  it("over TLS too: a paused response's socket keeps at most 64 KiB, and the body arrives whole", async () => {
    const ca = new TestCa();
    const pem = ca.server();
    const { response, socket } = await open(difyConnector({ timeout: 5_000, ca: ca.ca.cert }), { key: pem.key, cert: pem.cert });
    await new Promise((r) => setTimeout(r, 300));
    expect(socket().readableLength).toBeLessThanOrEqual(64 * 1024);
    const body = await readAll(response);
    expect(body.equals(Buffer.concat(Array.from({ length: EVENTS }, () => EVENT)))).toBe(true);
  });

  it("(the control) undici's own connector keeps a read put back and the next one", async () => {
    const { response, socket } = await open(buildConnector({ timeout: 5_000 }));
    await new Promise((r) => setTimeout(r, 300));
    expect(pinned(socket())).toBeGreaterThan(96 * 1024);
    expect((await readAll(response)).length).toBe(EVENT.length * EVENTS);
  });
});
