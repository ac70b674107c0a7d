import { createParser, type EventSourceMessage } from "eventsource-parser";
import { DifyStreamError } from "../dify/errors.js";

const LINE_OVERHEAD = "data: \r\n".length;

/** One Dify stream event: the JSON of a `data:` line. Its name is inside, in `event`. */
export type DifyEvent = Record<string, unknown> & { event: string };

/**
 * Decodes Dify's SSE body into event dicts, in order.
 *
 * Dify puts the event name inside the JSON and sends keep-alives as a bare
 * `event: ping` line with no data; eventsource-parser dispatches nothing for
 * those, which is exactly what we want. Bytes go through a streaming
 * TextDecoder so a multi-byte character split across chunks survives; bytes
 * that are not UTF-8 fail the stream as malformed instead of becoming U+FFFD.
 * `secret` (the app key) is replaced wherever it appears in an event.
 */
export async function* decodeSse(chunks: AsyncIterable<Uint8Array>, maxEventBytes: number, secret?: string): AsyncGenerator<DifyEvent> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const ready: DifyEvent[] = [];
  let failure: DifyStreamError | undefined;
  const parser = createParser({
    onEvent: (msg) => {
      if (!failure) {
        try {
          ready.push(parseEvent(msg));
        } catch (err) {
          failure = err as DifyStreamError;
        }
      }
    },
    onError: (err) => {
      failure ??=
        err.type === "max-buffer-size-exceeded"
          ? new DifyStreamError("event_too_large", `an upstream event exceeds ${maxEventBytes} bytes`)
          : new DifyStreamError("malformed", `malformed SSE line from Dify: ${truncate(redact(err.line ?? err.message))}`);
    },
    // UTF-16 units, not bytes: never more than the UTF-8 bytes, so a memory bound; parseEvent checks bytes.
    // The buffer also holds the unfinished line's `data: ` and a CR: without the slack, an event just
    // under the limit failed or passed depending on where a chunk ended.
    maxBufferSize: maxEventBytes + LINE_OVERHEAD,
  });
  for await (const chunk of chunks) {
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      throw new DifyStreamError("malformed", "Dify sent bytes that are not UTF-8");
    }
    parser.feed(text);
    yield* drain();
  }
  // A partial line left at the end is a cut connection, not an event: the
  // caller sees the stream end without its terminal event.

  function* drain(): Generator<DifyEvent> {
    if (ready.length > 0) yield* ready.splice(0);
    if (failure) throw failure;
  }

  // Dify has echoed request details in error text; the app key must not travel on to callers or logs.
  function redact(text: string): string {
    return secret && text.includes(secret) ? text.split(secret).join("[redacted]") : text;
  }

  function parseEvent(msg: EventSourceMessage): DifyEvent {
    if (Buffer.byteLength(msg.data, "utf8") > maxEventBytes) throw new DifyStreamError("event_too_large", `an upstream event exceeds ${maxEventBytes} bytes`);
    const data = redact(msg.data);
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      throw new DifyStreamError("malformed", `Dify sent a data line that is not JSON: ${truncate(data)}`);
    }
    if (typeof value !== "object" || value === null || typeof (value as { event?: unknown }).event !== "string") {
      throw new DifyStreamError("malformed", `Dify sent an event without an "event" name: ${truncate(data)}`);
    }
    return value as DifyEvent;
  }
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
