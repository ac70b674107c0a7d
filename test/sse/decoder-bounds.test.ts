import { describe, expect, it } from "vitest";
import { DifyStreamError } from "../../src/dify/errors.js";
import { SseDecoder } from "../../src/sse/decoder.js";

const MAX = 64 * 1024;

/** Feeds `wire` in chunks of `size` bytes until the decoder fails; the bytes it took, and the failure. */
function feedUntilFailure(decoder: SseDecoder, wire: Buffer, size: number) {
  let fed = 0;
  while (fed < wire.length && !decoder.failure) {
    decoder.push(wire.subarray(fed, fed + size));
    fed += size;
  }
  return { fed, failure: decoder.failure };
}

describe("SseDecoder bounds one event across its data: lines", () => {
  it("refuses an event of one-character data: lines at about maxEventBytes of wire, not at maxEventBytes of data", () => {
    const lines = Buffer.from("data:x\n".repeat(4 * MAX));
    const { fed, failure } = feedUntilFailure(new SseDecoder(MAX), lines, 16 * 1024);
    expect(failure).toBeInstanceOf(DifyStreamError);
    expect(failure!.fault).toBe("event_too_large");
    // Counting only the data (2 characters a line) read 3.5× more before refusing; each line is now charged
    // what the parser holds for it, so the refusal comes within the first chunks.
    expect(fed).toBeLessThanOrEqual(MAX + 16 * 1024);
  });

  it("still passes an event of one data line just under the bound, and many small events in one chunk", () => {
    const decoder = new SseDecoder(MAX);
    const big = { event: "message", answer: "a".repeat(MAX - 40) };
    const wire = `data: ${JSON.stringify(big)}\r\n\r\n${`data: {"event":"message","answer":"b"}\n\n`.repeat(5_000)}`;
    const events = [];
    for (let at = 0; at < wire.length; at += 7_919) events.push(...decoder.push(Buffer.from(wire.slice(at, at + 7_919))));
    expect(decoder.failure).toBeUndefined();
    expect(events).toHaveLength(5_001);
  });

  it("resets the count at a blank line that straddles two chunks", () => {
    const decoder = new SseDecoder(MAX);
    const event = `data: ${JSON.stringify({ event: "message", answer: "a".repeat(MAX - 40) })}\n`;
    // Each event ends its chunk with one LF; the next chunk begins with the blank line's LF.
    expect(decoder.push(Buffer.from(event))).toHaveLength(0);
    for (let i = 0; i < 3; i++) expect(decoder.push(Buffer.from(`\n${event}`))).toHaveLength(1);
    expect(decoder.failure).toBeUndefined();
  });
});

describe("SseDecoder.taskIdHint", () => {
  it("names the run of a first event too large to decode, from its first bytes", () => {
    const decoder = new SseDecoder(1024);
    const wire = Buffer.from(
      `data: {"event": "message", "task_id": "0f4b6c1e-3a1d-4f5e-9a0b-1c2d3e4f5a6b", "answer": "${"z".repeat(4096)}"}\n\n`,
    );
    expect(decoder.push(wire.subarray(0, 30))).toEqual([]);
    expect(decoder.push(wire.subarray(30))).toEqual([]);
    expect(decoder.failure?.fault).toBe("event_too_large");
    expect(decoder.taskIdHint).toBe("0f4b6c1e-3a1d-4f5e-9a0b-1c2d3e4f5a6b");
  });

  it("does not take a task_id quoted inside a string value", () => {
    const decoder = new SseDecoder(MAX);
    decoder.push(Buffer.from(`data: {"event":"message","answer":"say \\"task_id\\": \\"fake\\""}\n\n`));
    expect(decoder.taskIdHint).toBeUndefined();
  });
});

describe("SseDecoder redaction", () => {
  const KEY = "app-SECRETkey0123456789";
  const escaped = [...KEY].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");

  it("redacts the app key sent \\u-escaped, in values and keys", () => {
    const decoder = new SseDecoder(MAX, [KEY]);
    const [ev] = decoder.push(Buffer.from(`data: {"event":"error","message":"bad key ${escaped}","${escaped}":["x ${escaped}"]}\n\n`));
    expect(JSON.stringify(ev)).not.toContain(KEY);
    expect(ev).toEqual({ event: "error", message: "bad key [redacted]", "[redacted]": ["x [redacted]"] });
  });
});
