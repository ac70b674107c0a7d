import { createParser, type EventSourceMessage, type EventSourceParser } from "eventsource-parser";
import { DifyStreamError } from "../dify/errors.js";
import { redactStrings, redactText } from "../util/redact.js";

const LINE_OVERHEAD = "data: \r\n".length;
/**
 * What one event may take on the wire beyond its data: its `data: ` prefix and line end, and an
 * `event:`/`id:` line, and a few comment lines: ~12 lines of framing at LINE_COST each.
 */
const EVENT_FRAMING_SLACK = 1024;
/**
 * What each line of an unfinished event costs in memory beyond its characters: eventsource-parser joins
 * an event's `data:` lines into one string piece by piece (V8 cons strings). Measured through the gateway:
 * 6 events of one-character lines refused at 4 MiB of wire still raised peak RSS by 260 MiB (~75 bytes a
 * line) until lines were charged this; before any line bound, one such event cost ~165 MiB.
 */
const LINE_COST = 64;
/** A task_id in an event's first bytes: Dify's ids are UUIDs; anything else is not taken. */
const TASK_ID_IN_TEXT = /"task_id"\s*:\s*"([0-9A-Za-z_-]{1,64})"/;
/** How much of a chunk's end is kept to find a task_id split across chunks. */
const TASK_ID_CARRY = 128;

/** One Dify stream event: the JSON of a `data:` line. Its name is inside, in `event`. */
export type DifyEvent = Record<string, unknown> & { event: string };

/**
 * Decodes Dify's SSE body into event dicts, in order, one chunk at a time.
 *
 * Dify puts the event name inside the JSON and sends keep-alives as a bare
 * `event: ping` line with no data; eventsource-parser dispatches nothing for
 * those, which is exactly what we want. Bytes go through a streaming
 * TextDecoder so a multi-byte character split across chunks survives; bytes
 * that are not UTF-8 fail the stream as malformed instead of becoming U+FFFD.
 * `secrets` (the app key, the caller's token) are replaced wherever they appear in an event.
 *
 * Push-style (`push(chunk)` returns that chunk's events) rather than an async
 * generator, so the run's event loop has one `for await` layer less: every
 * async-generator hop costs each event a few promise resolutions. Measured on
 * the run's loop: 5.2 → 3.0 µs per event at one event per chunk, 3.7 → 2.3 at four.
 */
export class SseDecoder {
  readonly #decoder = new TextDecoder("utf-8", { fatal: true });
  /** The streaming decoder holds bytes of an unfinished character, or has not yet decoded any text (its BOM). */
  #streaming = true;
  readonly #parser: EventSourceParser;
  #ready: DifyEvent[] = [];
  #failure: DifyStreamError | undefined;
  /** Characters of the unfinished event so far, framing included (see EVENT_FRAMING_SLACK). */
  #eventChars = 0;
  /** Whether the text so far ends with a line terminator, and with which: a blank line may straddle chunks. */
  #lastChar = "";
  #sniffCarry = "";
  /**
   * The first `"task_id": "…"` seen in the raw text, even inside an event that failed to decode
   * (too large, malformed): enough to stop a run whose first event we refuse.
   */
  taskIdHint: string | undefined;
  /** The app key, and the caller's token: Dify echoes request details in error text, and neither may travel on. */
  readonly #secrets: readonly string[];

  constructor(
    private readonly maxEventBytes: number,
    secrets: readonly string[] = [],
  ) {
    this.#secrets = secrets.filter((s) => s !== "");
    this.#parser = createParser({
      onEvent: (msg) => {
        if (!this.#failure) {
          try {
            this.#ready.push(this.#parseEvent(msg));
          } catch (err) {
            this.#failure = err as DifyStreamError;
          }
        }
      },
      // A `retry:` that is not a number is ignored, as the SSE spec says (a proxy's, never Dify's). Any other
      // field Dify never sends: most likely an event line that lost its `data:` prefix, which ignoring, as the spec
      // would, drops without a word; failing names the line.
      onError: (err) => {
        if (err.type === "invalid-retry") return;
        this.#failure ??=
          err.type === "max-buffer-size-exceeded"
            ? new DifyStreamError("event_too_large", `an upstream event exceeds ${maxEventBytes} bytes`)
            : new DifyStreamError("malformed", `malformed SSE line from Dify: ${truncate(this.#redact(err.line ?? err.message))}`);
      },
      // UTF-16 units, not bytes: never more than the UTF-8 bytes, so a memory bound; #parseEvent checks bytes.
      // The buffer also holds the unfinished line's `data: ` and a CR: without the slack, an event just
      // under the limit failed or passed depending on where a chunk ended.
      maxBufferSize: maxEventBytes + LINE_OVERHEAD,
    });
  }

  /**
   * The events this chunk completes, in order. When the stream broke
   * (malformed, too large), these are the events before the break, and
   * `failure` says why: the caller forwards them, then throws it.
   * A partial line left at the end is a cut connection, not an event: the
   * caller sees the stream end without its terminal event.
   */
  push(chunk: Uint8Array): readonly DifyEvent[] {
    if (this.taskIdHint === undefined) this.#sniff(chunk);
    if (this.#failure) return NONE;
    let text: string;
    try {
      if (!this.#streaming && endsOnWholeCharacter(chunk)) text = WHOLE_CHUNKS.decode(chunk);
      else {
        text = this.#decoder.decode(chunk, { stream: true });
        this.#streaming = text.length === 0 || !endsOnWholeCharacter(chunk);
      }
    } catch {
      this.#failure = new DifyStreamError("malformed", "Dify sent bytes that are not UTF-8");
      return NONE;
    }
    if (!this.#withinEventBound(text)) {
      this.#failure = new DifyStreamError("event_too_large", `an upstream event exceeds ${this.maxEventBytes} bytes`);
      return NONE;
    }
    if (text.length > 0) this.endsInCR = text.charCodeAt(text.length - 1) === 13;
    this.#parser.feed(text);
    if (this.#ready.length === 0) return NONE;
    const events = this.#ready;
    this.#ready = [];
    return events;
  }

  /**
   * The text so far ends with a CR. SSE lets a lone CR end a line, but the parser waits for the next character to
   * know whether an LF follows: at the stream's end none will, and `push(LF)` then ends the line, and with it an
   * event whose blank line was that CR.
   */
  endsInCR = false;

  /** Why the stream is broken, if it is; no event follows it. */
  get failure(): DifyStreamError | undefined {
    return this.#failure;
  }

  /**
   * Counts the unfinished event's characters plus LINE_COST per line, resetting at each blank line;
   * false once over the bound.
   */
  #withinEventBound(text: string): boolean {
    let boundary = text.lastIndexOf("\n\n");
    // The other pairs only matter after Dify's usual one: a backward scan of the whole chunk for each pair it never
    // holds was 3.3 % of the gateway's instructions per relayed event (callgrind, String::LastIndexOf).
    for (const pair of OTHER_BLANK_LINE_PAIRS)
      if (text.indexOf(pair, boundary + 1) !== -1) boundary = Math.max(boundary, text.lastIndexOf(pair));
    let from = 0;
    if (boundary >= 0) {
      from = boundary + 2;
      this.#eventChars = 0;
    } else if (isBlankLineAcross(this.#lastChar, text)) {
      from = 1;
      this.#eventChars = 0;
    }
    this.#eventChars += text.length - from + LINE_COST * (count(text, "\n", from) + count(text, "\r", from));
    if (text.length > 0) this.#lastChar = text[text.length - 1]!;
    return this.#eventChars <= this.maxEventBytes + EVENT_FRAMING_SLACK;
  }

  #sniff(chunk: Uint8Array): void {
    // latin1: a task_id is ASCII, and a multi-byte character split across chunks must not throw here.
    const text = this.#sniffCarry + Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("latin1");
    const found = TASK_ID_IN_TEXT.exec(text);
    if (found) this.taskIdHint = found[1];
    else this.#sniffCarry = text.slice(-TASK_ID_CARRY);
  }

  // Dify has echoed request details in error text; the secrets must not travel on to callers or logs.
  #redact(text: string): string {
    return this.#secrets.length === 0 ? text : redactText(text, this.#secrets);
  }

  #parseEvent(msg: EventSourceMessage): DifyEvent {
    // A UTF-16 unit is at most 3 UTF-8 bytes: count bytes only when it could matter.
    const { length } = msg.data;
    if (length > this.maxEventBytes || (length * 3 > this.maxEventBytes && Buffer.byteLength(msg.data, "utf8") > this.maxEventBytes))
      throw new DifyStreamError("event_too_large", `an upstream event exceeds ${this.maxEventBytes} bytes`);
    const data = this.#redact(msg.data);
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      throw new DifyStreamError("malformed", `Dify sent a data line that is not JSON: ${truncate(data)}`);
    }
    // The key can also arrive \u-escaped, which the text-level redaction cannot see: redact the decoded strings too.
    if (this.#secrets.length > 0 && data.includes("\\u")) value = redactStrings(value, this.#secrets);
    if (typeof value !== "object" || value === null || typeof (value as { event?: unknown }).event !== "string") {
      throw new DifyStreamError("malformed", `Dify sent an event without an "event" name: ${truncate(data)}`);
    }
    return value as DifyEvent;
  }
}

const NONE: readonly DifyEvent[] = [];

/**
 * Why two decoders: Node's TextDecoder leaves its fast path (decodeUTF8) for good once called with
 * `{ stream: true }` and goes through ICU's converter, which was ~3 % of the gateway's instructions per relayed
 * event (callgrind, ucnv_toUnicode_UTF8). A chunk that ends on a whole character, with nothing carried from the
 * one before, needs no stream state, so it goes through this one, never called in stream mode and so stateless:
 * one for the process, no cost per call. `ignoreBOM`: each of its calls would otherwise strip a BOM as if a stream
 * started there; only the body's start may lose one, and each stream's own decoder takes every chunk until it has
 * decoded some text.
 */
const WHOLE_CHUNKS = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Two line terminators in a row, other than CRLF, are a blank line, which ends an event: these and `\n\n`. */
const OTHER_BLANK_LINE_PAIRS = ["\r\r", "\n\r"];

/**
 * Whether `bytes` ends with a complete UTF-8 sequence (an empty chunk does). False when unsure (a stray
 * continuation byte, an invalid lead byte): the streaming decoder then decides, and fails what is malformed.
 */
function endsOnWholeCharacter(bytes: Uint8Array): boolean {
  const end = bytes.length;
  if (end === 0) return true;
  if (bytes[end - 1]! < 0x80) return true;
  // The last lead byte, at most 4 bytes back; continuation bytes are 10xxxxxx.
  for (let at = end - 1; at >= 0 && at >= end - 4; at--) {
    const b = bytes[at]!;
    if ((b & 0xc0) === 0x80) continue;
    const need = b >= 0xf0 ? (b < 0xf8 ? 4 : 0) : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 0;
    return need !== 0 && end - at === need;
  }
  return false;
}

function count(text: string, char: string, from: number): number {
  let n = 0;
  for (let at = text.indexOf(char, from); at !== -1; at = text.indexOf(char, at + 1)) n++;
  return n;
}

function isBlankLineAcross(last: string, text: string): boolean {
  const first = text[0];
  if (first !== "\n" && first !== "\r") return false;
  if (last === "\n") return true;
  return last === "\r" && first === "\r";
}

/** The same decoding over a whole body. */
export async function* decodeSse(
  chunks: AsyncIterable<Uint8Array>,
  maxEventBytes: number,
  secrets: readonly string[] = [],
): AsyncGenerator<DifyEvent> {
  const decoder = new SseDecoder(maxEventBytes, secrets);
  for await (const chunk of chunks) {
    yield* decoder.push(chunk);
    const failure = decoder.failure;
    if (failure) throw failure;
  }
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
