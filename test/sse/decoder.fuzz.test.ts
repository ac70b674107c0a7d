import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DifyStreamError } from "../../src/dify/errors.js";
import { type DifyEvent, decodeSse } from "../../src/sse/decoder.js";

/**
 * The SSE decoder, fuzzed: random Dify event sequences framed as Dify frames them, cut at random
 * byte offsets (inside multi-byte UTF-8 too), plus garbage. fast-check prints seed and counterexample.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const BIG = 1 << 20;

const unit = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) },
  {
    weight: 3,
    arbitrary: fc
      .integer({ min: 0x80, max: 0x10ffff })
      .filter((c) => c < 0xd800 || c > 0xdfff)
      .map((c) => String.fromCodePoint(c)),
  },
  { weight: 1, arbitrary: fc.constantFrom("é", "日", "🚀", "𝄞", "\u2028", "\n", "\r", "\0", '"', "\\", "\ud800") },
);
const text = fc.string({ unit, maxLength: 30 });
const { value: json } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
    text,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(text, tie("value"), { maxKeys: 4, noNullPrototype: true }),
  ),
}));
const NAMES = [
  "message",
  "agent_message",
  "message_end",
  "workflow_started",
  "node_started",
  "node_finished",
  "workflow_finished",
  "text_chunk",
  "error",
  "tts_message",
];
const event = fc
  .tuple(
    fc.oneof(fc.constantFrom(...NAMES), text),
    fc.dictionary(
      text.filter((k) => k !== "event" && k !== "__proto__"),
      json,
      { maxKeys: 5, noNullPrototype: true },
    ),
  )
  .map(([name, fields]) => ({ ...fields, event: name }) as DifyEvent);

/** Dify's framing of one event, with the noise a stream may carry before it. */
const framing = fc.record({
  eol: fc.constantFrom("\n", "\r\n"),
  pingsBefore: fc.nat(2),
  comment: fc.option(fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 20 }), {
    nil: undefined,
  }),
  space: fc.boolean(),
});

function frame(events: DifyEvent[], framings: { eol: string; pingsBefore: number; comment: string | undefined; space: boolean }[]): Buffer {
  const parts = events.map((ev, i) => {
    const f = framings[i % framings.length] as (typeof framings)[number];
    const noise = `event: ping${f.eol}${f.eol}`.repeat(f.pingsBefore) + (f.comment !== undefined ? `:${f.comment}${f.eol}` : "");
    return `${noise}data:${f.space ? " " : ""}${JSON.stringify(ev)}${f.eol}${f.eol}`;
  });
  return Buffer.from(parts.join(""), "utf8");
}

/** Cut points, as fractions of the length so they fit any buffer. */
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });

async function* chunked(buf: Buffer, fractions: number[]): AsyncGenerator<Uint8Array> {
  const points = [...new Set(fractions.map((f) => Math.floor(f * buf.length)))].sort((a, b) => a - b);
  let at = 0;
  for (const p of [...points, buf.length]) {
    // A fresh copy per chunk, as a socket delivers them.
    yield Uint8Array.from(buf.subarray(at, p));
    at = p;
  }
}

async function run(buf: Buffer, fractions: number[], max = BIG, secret?: string): Promise<{ events: DifyEvent[]; error: unknown }> {
  const events: DifyEvent[] = [];
  try {
    for await (const ev of decodeSse(chunked(buf, fractions), max, secret === undefined ? [] : [secret])) events.push(ev);
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
}

describe("decodeSse, fuzzed", () => {
  it(`decodes random Dify streams cut at random byte offsets into the same events, in order (${RUNS} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(event, { maxLength: 8 }),
        fc.array(framing, { minLength: 1, maxLength: 3 }),
        cuts,
        async (events, framings, fractions) => {
          const { events: got, error } = await run(frame(events, framings), fractions);
          expect(error).toBeUndefined();
          expect(got).toEqual(events);
        },
      ),
      { numRuns: RUNS },
    );
  }, 120_000);

  it(`bounds an event by its UTF-8 bytes, not its characters (${RUNS} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(event, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), cuts, async (ev, where, fractions) => {
        const data = JSON.stringify(ev);
        const bytes = Buffer.byteLength(data);
        const wire = Buffer.from(`data: ${data}\n\n`);
        // A limit anywhere below the byte size (most of all between the character and the byte count) rejects it…
        const limit = Math.floor(where * bytes);
        expect(await run(wire, fractions, limit)).toMatchObject({ events: [], error: { fault: "event_too_large" } });
        // …and the exact byte size lets it through.
        expect(await run(wire, fractions, bytes)).toEqual({ events: [ev], error: undefined });
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  it(`garbage, invalid UTF-8 and lines without data: end in a DifyStreamError or well-formed events, never another exception (${RUNS} cases)`, async () => {
    const INVALID_UTF8 = [[0xff], [0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]];
    const damage = fc.oneof(
      fc.record({
        kind: fc.constant("bytes" as const),
        at: fc.double({ min: 0, max: 1, noNaN: true }),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
      }),
      fc.record({
        kind: fc.constant("utf8" as const),
        at: fc.double({ min: 0, max: 1, noNaN: true }),
        seq: fc.constantFrom(...INVALID_UTF8),
      }),
      fc.record({
        kind: fc.constant("line" as const),
        at: fc.nat(),
        line: text.filter((l) => l !== "" && !/^(data|event|id|retry)(:|$)|^[:\ufeff]|[\r\n]/.test(l)),
      }),
    );
    let failures = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 5 }), framing, damage, cuts, async (events, f, d, fractions) => {
        let wire = frame(events, [f]);
        let mustFail = false;
        if (d.kind === "line") {
          // A whole line that is not an SSE field, between two events: Dify's documented "line without data:".
          const at = d.at % events.length;
          const lines = [frame(events.slice(0, at), [f]), Buffer.from(`${d.line}${f.eol}${f.eol}`), frame(events.slice(at), [f])];
          wire = Buffer.concat(lines);
          mustFail = true;
        } else {
          const at = Math.floor(d.at * wire.length);
          const inserted = d.kind === "bytes" ? Buffer.from(d.bytes) : Buffer.from(d.seq);
          wire = Buffer.concat([wire.subarray(0, at), inserted, wire.subarray(at)]);
          // Invalid UTF-8 followed by a line end can never decode (a cut-off sequence at the very end is a cut connection).
          mustFail = d.kind === "utf8" && at < wire.length - inserted.length;
        }
        const { events: got, error } = await run(wire, fractions);
        if (error !== undefined) {
          expect(error).toBeInstanceOf(DifyStreamError);
          expect(["malformed", "event_too_large"]).toContain((error as DifyStreamError).fault);
          failures++;
        } else expect(mustFail, "damage went unnoticed").toBe(false);
        for (const ev of got) expect(typeof ev.event).toBe("string");
      }),
      { numRuns: RUNS },
    );
    expect(failures).toBeGreaterThan(RUNS / 2);
  }, 120_000);

  it(`never lets the app key through, however the chunks cut it (${RUNS} cases)`, async () => {
    const secret = fc.stringMatching(/^app-[A-Za-z0-9]{16,32}$/);
    await fc.assert(
      fc.asyncProperty(
        secret,
        fc.array(event, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), text), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        cuts,
        async (key, events, leaks, badTail, fractions) => {
          // Put the key into random string fields of random events, and maybe into a malformed line at the end.
          const leaky = events.map((ev) => ({ ...ev }));
          for (const [i, around] of leaks) {
            const ev = leaky[i % leaky.length] as DifyEvent;
            ev[`k${i % 3}`] = `${around}${key}${around}`;
          }
          let wire = frame(leaky, [{ eol: "\n", pingsBefore: 0, comment: undefined, space: true }]);
          if (badTail) wire = Buffer.concat([wire, Buffer.from(`data: {"event": "error", "message": "bad key ${key}\n\n`)]);
          const { events: got, error } = await run(wire, fractions, BIG, key);
          expect(got).toEqual(leaky.map((ev) => JSON.parse(JSON.stringify(ev).split(key).join("[redacted]")) as DifyEvent));
          for (const ev of got) expect(JSON.stringify(ev)).not.toContain(key);
          if (badTail) {
            expect(error).toBeInstanceOf(DifyStreamError);
            expect((error as Error).message).not.toContain(key);
          } else expect(error).toBeUndefined();
        },
      ),
      { numRuns: RUNS },
    );
  }, 120_000);
});
