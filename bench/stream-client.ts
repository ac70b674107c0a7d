/**
 * A client in its own process (grpc-js, but node:http2 for the slow readers: see `slow`), so its CPU never competes with the orchestrator's timers. Messages are
 * counted as raw bytes (only the last one is decoded): decoding every message would make the client, not
 * the server, the bottleneck of the events/s measurement.
 *
 *   stream-client.js fast ADDRESS EVENTS
 *     one warm-up stream, then one measured stream; prints {events, ttfeMs, durationMs, eventsPerSec, lastEvent}
 *   stream-client.js slow ADDRESS STREAMS EVENTS DELAY_MS READ_INTERVAL_MS DURATION_MS
 *     STREAMS concurrent streams of EVENTS deltas that Dify sends DELAY_MS apart, each read one message per READ_INTERVAL_MS; prints a progress line every
 *     500 ms, then cancels them all and prints the final line. With ANSWER_BYTES, Dify's pre-encoded producer
 *     sends the events (deltas of ANSWER_BYTES bytes; simulator/README.md), so one simulator feeds every stream
 *   stream-client.js keep ADDRESS STREAMS DELAY_MS DURATION_MS
 *     STREAMS concurrent streams (pre-encoded producer, one event per DELAY_MS) whose readers keep up; prints a
 *     progress line every 500 ms once every stream has answered, then cancels them all and prints the final line
 */
import { type ClientHttp2Stream, connect, constants } from "node:http2";
import { type ClientReadableStream, credentials, Metadata, makeGenericClientConstructor, type ServiceError } from "@grpc/grpc-js";
import { CompletionInvokeStreamRequest, CompletionInvokeStreamResponse } from "../generated/dify/app/v1/completion.js";
import { grpcFrame, request, type SimExtras, STREAM_PATH, TOKEN } from "./app.js";

type Raw = Buffer;
interface StreamClient {
  stream(req: CompletionInvokeStreamRequest, md: Metadata): ClientReadableStream<Raw>;
  close(): void;
}

const Client = makeGenericClientConstructor(
  {
    stream: {
      path: STREAM_PATH,
      requestStream: false,
      responseStream: true,
      requestSerialize: (r: CompletionInvokeStreamRequest) => Buffer.from(CompletionInvokeStreamRequest.encode(r).finish()),
      requestDeserialize: (b: Buffer) => CompletionInvokeStreamRequest.decode(b),
      responseSerialize: (b: Raw) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  },
  "Bench",
);

function client(address: string, channel = 0): StreamClient {
  // Its own subchannel pool: separate channels get separate HTTP/2 connections, as separate plugin pods would.
  return new Client(address, credentials.createInsecure(), {
    "grpc.use_local_subchannel_pool": 1,
    "grpc.bench_channel": channel,
  }) as unknown as StreamClient;
}

function metadata(): Metadata {
  const md = new Metadata();
  md.set("authorization", `Bearer ${TOKEN}`);
  return md;
}

const rssMiB = () => process.memoryUsage().rss / (1024 * 1024);

/** Reads one stream as fast as it comes. */
function timedStream(c: StreamClient, events: number) {
  return new Promise<{ events: number; ttfeMs: number; durationMs: number; eventsPerSec: number; lastEvent: string }>((resolve, reject) => {
    const start = performance.now();
    let first = 0;
    let count = 0;
    let last: Raw | undefined;
    const call = c.stream(request(events), metadata());
    call.on("data", (m: Raw) => {
      if (count++ === 0) first = performance.now();
      last = m;
    });
    call.on("error", reject);
    call.on("end", () => {
      const durationMs = performance.now() - start;
      const lastEvent = last ? CompletionInvokeStreamResponse.decode(last).event : "";
      // Every delta plus message_end, or it was not the run we asked for.
      if (count !== events + 1 || lastEvent !== "message_end")
        reject(new Error(`stream: ${count} messages, last "${lastEvent}", want ${events} deltas + message_end`));
      else
        resolve({
          events: count,
          ttfeMs: first - start,
          durationMs,
          eventsPerSec: count / ((performance.now() - first) / 1000),
          lastEvent,
        });
    });
  });
}

async function fast(address: string, events: number) {
  const c = client(address);
  await timedStream(c, Math.min(events, 100)); // connection, JIT and the server's first-call paths
  const result = await timedStream(c, events);
  c.close();
  return result;
}

/** Opens streams in steps, so Dify's accept queue (511) never overflows when thousands open at once. */
async function rampUp(count: number, open: (i: number) => void): Promise<void> {
  for (let i = 0; i < count; i++) {
    if (i > 0 && i % 250 === 0) await new Promise((r) => setTimeout(r, 50));
    open(i);
  }
}

/** Streams whose readers take every message as it comes: what an open stream costs when nobody lags. */
async function keep(address: string, streams: number, delayMs: number, durationMs: number) {
  const channels = Array.from({ length: Math.ceil(streams / 100) }, (_, i) => client(address, i));
  const calls: ClientReadableStream<Raw>[] = [];
  let delivered = 0;
  let failed = 0;
  let answered = 0;
  const errors = new Set<string>();
  const extras: SimExtras = { producer: "preencoded" };
  await rampUp(streams, (i) => {
    const call = channels[i % channels.length]!.stream(request(1_000_000, delayMs, extras), metadata());
    call.on("data", () => delivered++);
    call.on("error", (err: ServiceError) => {
      if (err.code !== 1 /* CANCELLED: ours, at the end */) {
        failed++;
        errors.add(`${err.code} ${err.details}`);
      }
    });
    call.once("metadata", () => answered++);
    calls.push(call);
  });
  const opening = performance.now();
  while (answered + failed < streams && performance.now() - opening < 120_000) await new Promise((r) => setTimeout(r, 50));
  const started = performance.now();
  const progress = () => ({
    t: Math.round(performance.now() - started),
    streams,
    answered,
    failed,
    errors: [...errors].slice(0, 3),
    sum: delivered,
    rssMiB: Math.round(rssMiB()),
  });
  const ticker = setInterval(() => process.stdout.write(`${JSON.stringify(progress())}\n`), 500);
  await new Promise((r) => setTimeout(r, durationMs));
  clearInterval(ticker);
  const final = { ...progress(), done: true };
  for (const call of calls) call.cancel();
  await new Promise((r) => setTimeout(r, 500));
  channels.forEach((c) => c.close());
  return final;
}

/**
 * Readers that consume one message per interval, on node:http2 directly rather than grpc-js. A grpc-js client
 * keeps reading the HTTP/2 stream into its own memory whatever its consumer does (measured: 20 MB of a paused
 * stream's messages in the client after 1 s), so it never closes the gateway's flow-control window and a
 * "slow" grpc-js reader only measures how fast the gateway can relay. A paused node:http2 stream stops
 * consuming once its 16 KiB buffer is full, so the HTTP/2 window it grants is what it read: a reader as slow
 * as it claims, like a plugin on a slow link or a client with real flow control.
 */
async function slow(
  address: string,
  streams: number,
  events: number,
  delayMs: number,
  intervalMs: number,
  durationMs: number,
  answerBytes?: number,
) {
  const perSession = 100;
  const sessions = Array.from({ length: Math.ceil(streams / perSession) }, () => {
    const session = connect(`http://${address}`);
    session.on("error", () => {});
    // Each stream its own 64 KiB window's worth of the connection's, as grpc clients size theirs.
    session.on("connect", () => session.setLocalWindowSize(perSession * 65_535));
    return session;
  });
  const delivered = new Array<number>(streams).fill(0);
  const calls: ClientHttp2Stream[] = [];
  const timers: NodeJS.Timeout[] = [];
  let failed = 0;
  let ended = 0;
  const errors = new Set<string>();
  let peakRss = 0;
  let answered = 0;
  let closing = false;
  const extras: SimExtras | undefined = answerBytes === undefined ? undefined : { producer: "preencoded", answer_bytes: answerBytes };
  const body = grpcFrame(CompletionInvokeStreamRequest.encode(request(events, delayMs, extras)).finish());
  const fail = (why: string) => {
    failed++;
    errors.add(why);
  };
  await rampUp(streams, (i) => {
    const call = sessions[i % sessions.length]!.request({
      ":method": "POST",
      ":path": STREAM_PATH,
      "content-type": "application/grpc",
      te: "trailers",
      authorization: `Bearer ${TOKEN}`,
    });
    call.end(body);
    call.pause();
    call.once("response", (headers) => {
      answered++;
      // A trailers-only answer is a refusal (grpc-status in the headers).
      if (headers["grpc-status"] !== undefined) fail(`${headers["grpc-status"]} ${headers["grpc-message"] ?? ""}`);
    });
    call.on("trailers", (trailers) => {
      if (!closing && trailers["grpc-status"] !== "0") fail(`${trailers["grpc-status"]} ${trailers["grpc-message"] ?? ""}`);
    });
    call.on("error", (err) => closing || fail(err.message));
    call.on("close", () => closing || ended++);
    calls.push(call);
    // One gRPC message per tick: its 5-byte prefix, then its body, or nothing until both are buffered.
    const readOne = () => {
      const prefix = call.read(5) as Buffer | null;
      if (prefix === null) return;
      const message = call.read(prefix.readUInt32BE(1)) as Buffer | null;
      if (message === null) call.unshift(prefix);
      else delivered[i]!++;
    };
    // Spread the reads over the interval, so the gateway sees a steady pace rather than bursts.
    setTimeout(() => timers.push(setInterval(readOne, intervalMs)), (i * intervalMs) / streams);
  });
  // The clock starts once every stream has its response headers: on a starved machine, opening 1,000 streams
  // can take longer than the measurement itself.
  const opening = performance.now();
  while (answered + failed < streams && performance.now() - opening < 120_000) await new Promise((r) => setTimeout(r, 50));
  const started = performance.now();
  const progress = () => {
    peakRss = Math.max(peakRss, rssMiB());
    const sorted = [...delivered].sort((a, b) => a - b);
    return {
      t: Math.round(performance.now() - started),
      streams,
      failed,
      ended,
      errors: [...errors].slice(0, 3),
      min: sorted[0],
      max: sorted.at(-1),
      sum: sorted.reduce((a, b) => a + b, 0),
      delivered,
      rssMiB: Math.round(rssMiB()),
      peakRssMiB: Math.round(peakRss),
    };
  };
  const ticker = setInterval(() => process.stdout.write(`${JSON.stringify({ ...progress(), delivered: undefined })}\n`), 500);
  await new Promise((r) => setTimeout(r, durationMs));
  clearInterval(ticker);
  const final = progress();
  timers.forEach(clearInterval);
  closing = true;
  for (const call of calls) call.close(constants.NGHTTP2_CANCEL);
  await new Promise((r) => setTimeout(r, 200));
  for (const session of sessions) session.destroy();
  return final;
}

const [mode, address, ...rest] = process.argv.slice(2);
const n = rest.map(Number);
if (!address || n.some((v) => !Number.isFinite(v))) throw new Error("usage: see the header of bench/stream-client.ts");
const result =
  mode === "fast"
    ? await fast(address, n[0]!)
    : mode === "keep"
      ? await keep(address, n[0]!, n[1]!, n[2]!)
      : await slow(address, n[0]!, n[1]!, n[2]!, n[3]!, n[4]!, n[5]);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
