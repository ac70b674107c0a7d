import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChatInvokeStreamResponse } from "../../generated/dify/app/v1/chat.js";
import { CompletionInvokeStreamResponse } from "../../generated/dify/app/v1/completion.js";
import { WorkflowInvokeStreamResponse } from "../../generated/dify/app/v1/workflow.js";
import { CHAT, COMPLETION, type InterfaceSpec, WORKFLOW } from "../../src/invoke/interfaces.js";
import type { DifyEvent } from "../../src/sse/decoder.js";
import { type StreamMessage, toStreamMessage } from "../../src/translate/events.js";
import { streamResponseSerializer } from "../../src/translate/stream-encoding.js";
import { json, jsonKey, jsonNumber, jsonText } from "../helpers/json-arbitrary.js";

/**
 * The hand-written `raw` encoder (src/translate/stream-encoding.ts) against the generated one, on events as
 * JSON.parse builds them: a client must not be able to tell which one wrote its stream.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

type Generated = { encode(m: never): { finish(): Uint8Array } };
const TARGETS: [string, InterfaceSpec, Generated][] = [
  ["chat", CHAT, ChatInvokeStreamResponse as never],
  ["completion", COMPLETION, CompletionInvokeStreamResponse as never],
  ["workflow", WORKFLOW, WorkflowInvokeStreamResponse as never],
];

const text = jsonText;
const number = jsonNumber;
const key = jsonKey;
/** The typed views' fields too, so payloads are built and encoded alongside `raw`. */
const typedFields = fc.record(
  { answer: text, message_id: text, task_id: text, data: json, metadata: json, id: text, created_at: number, code: text, text: text },
  { requiredKeys: [] },
);

function eventOf(spec: InterfaceSpec) {
  const names = fc.oneof(fc.constantFrom(...spec.typedEvents, "ping", "some_future_event"), text);
  return fc.tuple(names, fc.dictionary(key, json, { maxKeys: 8 }), typedFields).map(([event, rest, typed]) => {
    // `__proto__` as a key: the generated Struct.wrap assigns it as the prototype (drops it), this encoder keeps it.
    Reflect.deleteProperty(rest, "__proto__");
    // Through JSON text, as the SSE decoder builds events (e.g. -0 becomes 0).
    return JSON.parse(JSON.stringify({ ...rest, ...typed, event })) as DifyEvent;
  });
}

function generated(codec: Generated, message: StreamMessage): Buffer | Error {
  try {
    return Buffer.from(codec.encode(message as never).finish());
  } catch (err) {
    return err as Error;
  }
}

function ours(serialize: (m: StreamMessage) => Buffer, message: StreamMessage): Buffer | Error {
  try {
    return serialize(message);
  } catch (err) {
    return err as Error;
  }
}

describe("stream messages: the raw Struct written straight from the event's JSON", () => {
  for (const [name, spec, codec] of TARGETS) {
    it(`${name}: byte-identical to the generated encoder, one writer reused across messages`, () => {
      const serialize = streamResponseSerializer(spec.streamResponseEncode);
      fc.assert(
        fc.property(eventOf(spec), (ev) => {
          let message: StreamMessage;
          try {
            message = toStreamMessage(ev, spec.typedEvents);
          } catch {
            return; // A typed view that refuses the event fails before either encoder runs.
          }
          const expected = generated(codec, message);
          const actual = ours(serialize, message);
          if (expected instanceof Error) expect(actual).toBeInstanceOf(Error);
          else expect(actual).toEqual(expected);
        }),
        { numRuns: RUNS },
      );
    });
  }

  it("each message is a Buffer of its own: a later message does not overwrite an earlier one still queued", () => {
    const serialize = streamResponseSerializer(CHAT.streamResponseEncode);
    const messages = ["a", "bb", "c".repeat(300)].map((answer) => toStreamMessage({ event: "message", answer }, CHAT.typedEvents));
    const encoded = messages.map((m) => serialize(m));
    encoded.forEach((bytes, i) => {
      expect(Buffer.isBuffer(bytes)).toBe(true);
      expect(bytes).toEqual(generated(ChatInvokeStreamResponse as never, messages[i]!));
    });
  });

  it("a message after a large one, and after a failed encode, is still whole", () => {
    const serialize = streamResponseSerializer(CHAT.streamResponseEncode);
    const small = toStreamMessage({ event: "message", answer: "hi", conversation_id: "c" }, CHAT.typedEvents);
    const large = toStreamMessage({ event: "message", answer: "x".repeat(200_000) }, CHAT.typedEvents);
    const broken = { event: "ping", raw: { event: "ping", n: 1n } as never, payload: undefined };
    expect(serialize(large)).toEqual(generated(ChatInvokeStreamResponse as never, large));
    expect(() => serialize(broken)).toThrow(/Unsupported/);
    expect(serialize(small)).toEqual(generated(ChatInvokeStreamResponse as never, small));
    expect(ChatInvokeStreamResponse.decode(serialize(small)).raw).toEqual({ event: "message", answer: "hi", conversation_id: "c" });
  });
});
