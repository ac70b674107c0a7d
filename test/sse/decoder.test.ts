import { describe, expect, it } from "vitest";
import { DifyStreamError } from "../../src/dify/errors.js";
import { type DifyEvent, decodeSse } from "../../src/sse/decoder.js";

const EVENTS: DifyEvent[] = [
  { event: "workflow_started", task_id: "t1", workflow_run_id: "r1", data: { id: "r1", inputs: { q: "naïve café" } } },
  { event: "message", task_id: "t1", message_id: "m1", conversation_id: "c1", answer: "Grüße 🚀 ", created_at: 1705407629 },
  { event: "message", task_id: "t1", message_id: "m1", conversation_id: "c1", answer: "日本語のテキスト", created_at: 1705407629 },
  { event: "message_end", task_id: "t1", message_id: "m1", metadata: { usage: { total_price: "0.0001", latency: 0.5 } } },
];

/** Framed exactly as Dify frames it: a bare ping first, compact JSON, pings between events. */
const WIRE = Buffer.from(
  `event: ping\n\n${EVENTS.map((e, i) => `data: ${JSON.stringify(e)}\n\n${i === 1 ? "event: ping\n\n" : ""}`).join("")}`,
  "utf8",
);

async function* chunked(buf: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (const cut of [...cuts, buf.length]) {
    yield buf.subarray(at, cut);
    at = cut;
  }
}

async function decodeAll(chunks: AsyncIterable<Uint8Array>, max = 1 << 20): Promise<DifyEvent[]> {
  const out: DifyEvent[] = [];
  for await (const ev of decodeSse(chunks, max)) out.push(ev);
  return out;
}

describe("decodeSse", () => {
  it("decodes Dify's framing: pings dropped, names read from the JSON", async () => {
    expect(await decodeAll(chunked(WIRE, []))).toEqual(EVENTS);
  });

  it("survives a chunk boundary at every byte offset, including inside multi-byte UTF-8", async () => {
    for (let cut = 1; cut < WIRE.length; cut++) {
      expect(await decodeAll(chunked(WIRE, [cut])), `cut at byte ${cut}`).toEqual(EVENTS);
    }
  });

  it("survives a character split after whole-character chunks, and whole chunks after it (two decoders)", async () => {
    const whole = WIRE.indexOf("data: ") + 1;
    for (let cut = whole + 1; cut < WIRE.length; cut++) {
      expect(await decodeAll(chunked(WIRE, [whole, cut, Math.min(cut + 7, WIRE.length)])), `cut at byte ${cut}`).toEqual(EVENTS);
    }
  });

  it("drops a byte-order mark only at the start of the body, never at a later chunk's start", async () => {
    const event = { event: "message", answer: "\uFEFFx" };
    const body = `data: ${JSON.stringify(EVENTS[1])}\n\ndata: ${JSON.stringify(event)}\n\n`;
    const wire = Buffer.from(`\uFEFF${body}`, "utf8");
    const later = wire.indexOf(Buffer.from("\uFEFFx", "utf8"));
    expect(await decodeAll(chunked(wire, [later]))).toEqual([EVENTS[1], event]);
    expect(await decodeAll(chunked(wire, [3, later]))).toEqual([EVENTS[1], event]);
  });

  it("fails bytes that are not UTF-8 in a later chunk that ends on a whole character", async () => {
    const first = Buffer.from(`data: ${JSON.stringify(EVENTS[1])}\n\n`);
    const bad = Buffer.concat([Buffer.from('data: {"event":"message","answer":"'), Buffer.from([0xff, 0x80]), Buffer.from('"}\n\n')]);
    await expect(decodeAll(chunked(Buffer.concat([first, bad]), [first.length]))).rejects.toMatchObject({ fault: "malformed" });
    const stray = Buffer.concat([Buffer.from('data: {"event":"message","answer":"'), Buffer.from([0x80])]);
    await expect(
      decodeAll(chunked(Buffer.concat([first, stray, Buffer.from('"}\n\n')]), [first.length, first.length + stray.length])),
    ).rejects.toMatchObject({
      fault: "malformed",
    });
  });

  it("survives one byte per chunk", async () => {
    const cuts = Array.from({ length: WIRE.length - 1 }, (_, i) => i + 1);
    expect(await decodeAll(chunked(WIRE, cuts))).toEqual(EVENTS);
  });

  it("accepts JSON with spaces, as Dify's docs show it, and CRLF line ends", async () => {
    const wire = Buffer.from('data: {"event": "message", "answer": "a"}\r\n\r\nevent: ping\r\n\r\n');
    expect(await decodeAll(chunked(wire, [5, 30]))).toEqual([{ event: "message", answer: "a" }]);
  });

  it("passes unknown future events through", async () => {
    const wire = Buffer.from('data: {"event":"reasoning_chunk","data":{"reasoning":"hm"}}\n\n');
    expect(await decodeAll(chunked(wire, []))).toEqual([{ event: "reasoning_chunk", data: { reasoning: "hm" } }]);
  });

  it("yields the events before a malformed line, then fails on it", async () => {
    const wire = Buffer.from(`data: ${JSON.stringify(EVENTS[1])}\n\ndata: {not json\n\n`);
    const seen: DifyEvent[] = [];
    const err = await (async () => {
      for await (const ev of decodeSse(chunked(wire, []), 1 << 20)) seen.push(ev);
    })().catch((e: unknown) => e);
    expect(seen).toEqual([EVENTS[1]]);
    expect(err).toBeInstanceOf(DifyStreamError);
    expect((err as DifyStreamError).fault).toBe("malformed");
  });

  it("ignores a retry: field, valid or not, as the SSE spec says", async () => {
    const wire = Buffer.from(`retry: soon\nretry: 3000\ndata: ${JSON.stringify(EVENTS[1])}\n\n`);
    expect(await decodeAll(chunked(wire, []))).toEqual([EVENTS[1]]);
  });

  it("rejects a line without the data: prefix", async () => {
    const wire = Buffer.from(`${JSON.stringify(EVENTS[1])}\n\n`);
    await expect(decodeAll(chunked(wire, []))).rejects.toMatchObject({ fault: "malformed" });
  });

  it("rejects JSON without an event name", async () => {
    await expect(decodeAll(chunked(Buffer.from('data: {"answer":"x"}\n\n'), []))).rejects.toMatchObject({ fault: "malformed" });
  });

  it("rejects an event larger than the limit, also when it arrives in pieces", async () => {
    const big = Buffer.from(`data: ${JSON.stringify({ event: "message", answer: "x".repeat(5000) })}\n\n`);
    await expect(decodeAll(chunked(big, []), 1000)).rejects.toMatchObject({ fault: "event_too_large" });
    await expect(decodeAll(chunked(big, [100, 2000, 4000]), 1000)).rejects.toMatchObject({ fault: "event_too_large" });
  });

  it("ignores a partial event cut off at the end of the stream", async () => {
    const wire = Buffer.from(`data: ${JSON.stringify(EVENTS[1])}\n\ndata: {"event":"mess`);
    expect(await decodeAll(chunked(wire, []))).toEqual([EVENTS[1]]);
  });
});

describe("the app key never passes through", () => {
  const key = "app-leaky-key-7c1e";
  const wire = Buffer.from(`data: {"event":"error","status":401,"message":"bad key ${key}"}\n\ndata: {not json ${key}\n\n`, "utf8");

  it("is redacted from events even when a chunk boundary splits it", async () => {
    const cut = wire.indexOf(key) + 5;
    const seen: DifyEvent[] = [];
    const failure = await (async () => {
      for await (const ev of decodeSse(chunked(wire, [cut]), 1 << 20, [key])) seen.push(ev);
    })().catch((err: unknown) => err);
    expect(seen).toEqual([{ event: "error", status: 401, message: "bad key [redacted]" }]);
    expect(failure).toBeInstanceOf(DifyStreamError);
    expect((failure as Error).message).toContain("[redacted]");
    expect((failure as Error).message).not.toContain(key);
  });
});
