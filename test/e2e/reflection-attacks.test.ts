import { readFileSync } from "node:fs";
import { type ClientHttp2Session, type ClientHttp2Stream, connect } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Status } from "../../generated/google/rpc/status.js";
import { sha256 } from "../../src/auth/registry.js";
import { MAX_REFLECTION_STREAMS } from "../../src/server/reflection.js";
import { type GatewayProcess, startGatewayProcess } from "../helpers/processes.js";

// Attacks on server reflection, which answers without credentials, against a real gateway process,
// from a raw HTTP/2 client: it can write requests and leave every answer unread, which grpc-js clients hide.

const PATH = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
/** A ServerReflectionRequest with one string field, gRPC-framed (uncompressed, 4-byte length). */
function request(field: number, value: string): Buffer {
  const text = Buffer.from(value);
  const body = Buffer.concat([Buffer.from([(field << 3) | 2, text.length]), text]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}
/** list_services (7): "*", 8 bytes framed; the answer is ~200 bytes. */
const LIST_SERVICES = request(7, "*");
/** file_containing_symbol (4): 30 bytes framed; the answer carries chat.proto and its imports, ~20 KB. */
const FILE_CONTAINING_SYMBOL = request(4, "dify.app.v1.ChatService");
const REQUESTS = 20_000;
/**
 * Growth bound for the gateway's RSS. A paused stream holds grpc-js's 16 buffered answers, 16 requests and one
 * HTTP/2 window of unread requests (64 KiB): well under 1 MiB; the rest is margin for GC timing on a noisy box.
 * Without the pause, the stock handler queues one answer object per request (~1.2 KB each, measured): +24 MB for
 * 20,000 list_services and +105 MB for 200,000, without end; the old hand-written relay queued encoded answers
 * (~440 MiB for 20,000).
 */
const GROWTH_LIMIT_MB = 16;

let gw: GatewayProcess;
const sessions: ClientHttp2Session[] = [];

beforeAll(async () => {
  gw = await startGatewayProcess(
    {
      server: { listen: "127.0.0.1:0" },
      log: { level: "info" },
      workspaces: [
        {
          id: "ws",
          difyBaseUrl: "http://127.0.0.1:9",
          tokens: [{ sha256: sha256("reflection-attack-token-012345").toString("hex") }],
          apps: [{ appId: "a", key: { env: "RA_KEY" }, mode: "chat" }],
        },
      ],
    },
    { RA_KEY: "app-reflection-attack" },
  );
});

afterAll(async () => {
  for (const s of sessions) s.destroy();
  await gw?.proc.stop();
});

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return Number(line?.match(/(\d+)/)?.[1]) / 1024;
}

function open(session: ClientHttp2Session): ClientHttp2Stream {
  return session.request({ ":method": "POST", ":path": PATH, "content-type": "application/grpc", te: "trailers" });
}

/** Writes `count` requests as fast as HTTP/2 flow control lets it, reading nothing; resolves with how many went out. */
function flood(stream: ClientHttp2Stream, message: Buffer, count: number, withinMs: number): Promise<number> {
  stream.pause(); // never read: the answers stay in the gateway's send path, or in flow control
  return new Promise((resolve) => {
    let sent = 0;
    const timer = setTimeout(() => resolve(sent), withinMs);
    const pump = () => {
      while (sent < count) {
        sent++;
        if (!stream.write(message)) return void stream.once("drain", pump);
      }
      clearTimeout(timer);
      resolve(sent);
    };
    pump();
  });
}

/** Number of gRPC length-prefixed messages in a response body. */
function countFrames(body: Buffer): number {
  let count = 0;
  for (let at = 0; at + 5 <= body.length; at += 5 + body.readUInt32BE(at + 1)) count++;
  return count;
}

/** Time for the gateway to answer whatever it read (before the fix it answered all 20,000 within ~2 s). */
/** The headers that carry a stream's gRPC status: its trailers, or its response headers when trailers-only. */
function statusHeaders(stream: ClientHttp2Stream): Promise<Record<string, unknown>> {
  stream.resume();
  return new Promise((resolve) => {
    stream.once("response", (headers) => headers["grpc-status"] !== undefined && resolve(headers));
    stream.once("trailers", resolve);
  });
}
const grpcStatus = async (stream: ClientHttp2Stream) => (await statusHeaders(stream))["grpc-status"];

const settle = () => new Promise((resolve) => setTimeout(resolve, 3_000));

describe("reflection under attack", () => {
  for (const [name, message] of [
    ["list_services", LIST_SERVICES],
    ["file_containing_symbol", FILE_CONTAINING_SYMBOL],
  ] as const) {
    it(`a stream that sends ${REQUESTS} ${name} requests and never reads: flow control holds the client, RSS stays bounded`, async () => {
      const pid = gw.proc.child.pid!;
      const session = connect(`http://${gw.address}`);
      sessions.push(session);
      const before = rssMb(pid);
      const stream = open(session);
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 50);
      const sent = await flood(stream, message, REQUESTS, 3_000);
      await settle();
      clearInterval(sampler);
      const after = rssMb(pid);
      console.log(
        `reflection attack (${name}): ${sent} of ${REQUESTS} requests written; gateway RSS ${before.toFixed(1)} MB before, peak ${peak.toFixed(1)}, ${after.toFixed(1)} after`,
      );
      // The gateway stopped reading, so the client's writes stalled on HTTP/2 flow control.
      expect(sent).toBeLessThan(REQUESTS);
      expect(peak - before).toBeLessThan(GROWTH_LIMIT_MB);
      session.destroy(); // closes the connection: a reset of this stream would wait behind its unsent requests
    }, 60_000);
  }

  it("paused streams resume: a stream that reads after its flood gets every answer", async () => {
    const session = connect(`http://${gw.address}`);
    sessions.push(session);
    const stream = open(session);
    const sent = await flood(stream, LIST_SERVICES, 2_000, 10_000);
    expect(sent).toBe(2_000);
    stream.end();
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.resume();
    const trailers = await new Promise<Record<string, unknown>>((resolve) => stream.once("trailers", resolve));
    expect(trailers["grpc-status"]).toBe("0");
    expect(countFrames(Buffer.concat(chunks))).toBe(2_000);
  }, 60_000);

  it(`frees a stream's slot however it ends: ${3 * MAX_REFLECTION_STREAMS} streams in turn, then a ${MAX_REFLECTION_STREAMS}-stream batch is served`, async () => {
    const session = connect(`http://${gw.address}`);
    sessions.push(session);
    const ends: ((s: ClientHttp2Stream) => void)[] = [(s) => s.end(), (s) => s.close(), (s) => s.close(0x8)]; // half-close, cancel, RST CANCEL
    for (let i = 0; i < 3 * MAX_REFLECTION_STREAMS; i++) {
      const s = open(session);
      s.write(LIST_SERVICES);
      await new Promise((resolve) => s.once("response", resolve));
      s.resume();
      ends[i % ends.length]!(s);
      await new Promise((resolve) => s.once("close", resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 200)); // the gateway sees the last RST_STREAM
    const batch = Array.from({ length: MAX_REFLECTION_STREAMS }, () => open(session));
    const statuses = await Promise.all(
      batch.map((s) => {
        s.end(LIST_SERVICES);
        s.resume();
        return grpcStatus(s);
      }),
    );
    expect(statuses.every((code) => code === "0")).toBe(true);
  }, 60_000);

  it(`refuses reflection streams beyond ${MAX_REFLECTION_STREAMS} open at once with RESOURCE_EXHAUSTED`, async () => {
    const session = connect(`http://${gw.address}`);
    sessions.push(session);
    const held = Array.from({ length: MAX_REFLECTION_STREAMS }, () => open(session));
    for (const s of held) s.write(LIST_SERVICES);
    await Promise.all(held.map((s) => new Promise((resolve) => s.once("response", resolve))));
    const extra = open(session);
    extra.write(LIST_SERVICES);
    const ended = await statusHeaders(extra);
    expect(ended["grpc-status"]).toBe("8");
    const rpcStatus = Status.decode(Buffer.from(String(ended["grpc-status-details-bin"]), "base64"));
    expect(rpcStatus.details.map((d) => d.typeUrl)).toContain("type.googleapis.com/google.rpc.ErrorInfo");
    for (const s of held) s.close();
    extra.close();
  }, 60_000);
});
