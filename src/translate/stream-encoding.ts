import { BinaryWriter } from "@bufbuild/protobuf/wire";
import type { StreamMessage } from "./events.js";

/** The generated encoder of a stream response message (`ChatInvokeStreamResponse.encode` and its siblings). */
export type StreamResponseEncode = (message: StreamMessage, writer: BinaryWriter) => BinaryWriter;

/*
 * Why hand-written: the generated encoder turns every `raw` event into a google.protobuf.Struct object tree
 * (`Struct.wrap`, `Object.entries`, a `{ key, value }` entry and a wrapped `Value` per field, at every level)
 * before writing a byte. At 1,000 streams that was ~11 % of what the gateway allocated per relayed event
 * (docs/PERFORMANCE.md, "Issue 18, second pass"). This walks the parsed JSON once and writes the same wire
 * bytes with the stock BinaryWriter: the generated encoder still writes `event` rules and the typed payload.
 * test/translate/stream-encoding.test.ts checks byte equality with the generated encoder on arbitrary JSON.
 */

/** `event` is field 1 and `raw` field 2 of all three stream responses (dify/app/v1/*.proto). */
const EVENT_TAG = (1 << 3) | 2;
const RAW_TAG = (2 << 3) | 2;
/** google.protobuf.Struct: `map<string, Value> fields = 1`; an entry: `key = 1`, `value = 2`. */
const FIELDS_TAG = (1 << 3) | 2;
const KEY_TAG = (1 << 3) | 2;
const VALUE_TAG = (2 << 3) | 2;
/** google.protobuf.Value's oneof `kind`, and ListValue's `repeated Value values = 1`. */
const NULL_TAG = (1 << 3) | 0;
const NUMBER_TAG = (2 << 3) | 1;
const STRING_TAG = (3 << 3) | 2;
const BOOL_TAG = (4 << 3) | 0;
const STRUCT_TAG = (5 << 3) | 2;
const LIST_TAG = (6 << 3) | 2;
const LIST_ITEM_TAG = (1 << 3) | 2;

/** A writer that grew past this for one message is dropped, so one huge message does not stay allocated. */
const KEEP_WRITER_BYTES = 64 * 1024;

/**
 * A serializer that writes each message with `write` into one writer reused across messages (encoding is
 * synchronous, so messages never interleave): a fresh writer grows by doubling, and its reallocations and copies
 * were most of a unary answer's encoding time in a profile (docs/PERFORMANCE.md, "Unary CPU, sixth pass").
 */
export function reusedWriterSerializer<M>(write: (writer: BinaryWriter, message: M) => void): (message: M) => Buffer {
  let writer = new BinaryWriter();
  return (message) => {
    try {
      write(writer, message);
      const bytes = writer.finish();
      if (bytes.length > KEEP_WRITER_BYTES) writer = new BinaryWriter();
      // `finish` returned a copy of its own: wrap it rather than copy it again, as the generated serializer does.
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    } catch (err) {
      // A failed encode leaves the writer mid-message.
      writer = new BinaryWriter();
      throw err;
    }
  };
}

/** The serializer of a stream response: `event` and `raw` written here, the rest by the generated encoder. */
export function streamResponseSerializer(encodeGenerated: StreamResponseEncode): (message: StreamMessage) => Buffer {
  return reusedWriterSerializer((writer, message: StreamMessage) => {
    if (message.event !== "") writer.uint32(EVENT_TAG).string(message.event);
    if (message.raw !== undefined) writeStructField(writer, RAW_TAG, message.raw);
    if (message.payload !== undefined) encodeGenerated({ event: "", raw: undefined as never, payload: message.payload }, writer);
  });
}

/** `object` as a google.protobuf.Struct message field numbered by `tag`. */
export function writeStructField(w: BinaryWriter, tag: number, object: Record<string, unknown>): void {
  w.uint32(tag).fork();
  writeStruct(w, object);
  w.join();
}

/** The wire bytes of `Struct.wrap(object)`, as the generated Struct encoder writes them. */
function writeStruct(w: BinaryWriter, object: Record<string, unknown>): void {
  // for-in lists the same keys in the same order as Object.keys for the plain objects JSON.parse builds.
  for (const key in object) {
    const value = object[key];
    if (value === undefined) continue;
    w.uint32(FIELDS_TAG).fork();
    if (key !== "") w.uint32(KEY_TAG).string(key);
    w.uint32(VALUE_TAG).fork();
    writeValue(w, value);
    w.join().join();
  }
}

function writeValue(w: BinaryWriter, value: unknown): void {
  if (value === null) {
    w.uint32(NULL_TAG).int32(0);
    return;
  }
  switch (typeof value) {
    case "boolean":
      w.uint32(BOOL_TAG).bool(value);
      return;
    case "number":
      w.uint32(NUMBER_TAG).double(value);
      return;
    case "string":
      w.uint32(STRING_TAG).string(value);
      return;
    case "undefined":
      // An empty Value, as Value.wrap(undefined) encodes (only a list can hold one).
      return;
    case "object":
      if (Array.isArray(value)) {
        w.uint32(LIST_TAG).fork();
        for (const item of value) {
          w.uint32(LIST_ITEM_TAG).fork();
          writeValue(w, item);
          w.join();
        }
      } else {
        w.uint32(STRUCT_TAG).fork();
        writeStruct(w, value as Record<string, unknown>);
      }
      w.join();
      return;
    default:
      throw new Error(`Unsupported any value type: ${typeof value}`);
  }
}
