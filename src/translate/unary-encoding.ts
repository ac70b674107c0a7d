import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { writeStruct } from "./stream-encoding.js";

/** The generated encoder of a unary response message (`ChatInvokeResponse.encode` and its siblings). */
export type UnaryResponseEncode = (message: UnaryResponse, writer: BinaryWriter) => BinaryWriter;

/** What every unary Invoke response has: Dify's blocking-mode dict as `raw`, beside the typed fields. */
export interface UnaryResponse {
  readonly raw?: Record<string, unknown> | undefined;
}

/** `raw` is field 1 of all three unary responses (dify/app/v1/*.proto), so it is written first, as the generated encoder does. */
const RAW_TAG = (1 << 3) | 2;
/** A writer that grew past this for one answer is dropped, so one huge answer does not stay allocated. */
const KEEP_WRITER_BYTES = 64 * 1024;

/**
 * The serializer of a unary Invoke response: `raw` written straight from the aggregated JSON by the stream path's
 * `writeStruct`, the typed fields by the generated encoder. Why: the generated encoder builds a
 * google.protobuf.Struct object tree (a wrapped `Value` and a `{ key, value }` entry per field, at every level)
 * before writing a byte; for the bench's completion answer that was ~26 µs of ~550 µs per call in a CPU profile
 * (docs/PERFORMANCE.md, "Unary CPU, sixth pass"). test/translate/unary-encoding.test.ts checks byte equality with
 * the generated encoder.
 */
export function unaryResponseSerializer(encodeGenerated: UnaryResponseEncode): (message: UnaryResponse) => Buffer {
  // One writer reused across calls (encoding is synchronous, so calls never interleave): a fresh one grows by
  // doubling, and for the bench's ~5 KB answer its reallocations and copies (`ensureCapacity`) were most of the
  // encoding time in a profile of this serializer.
  let writer = new BinaryWriter();
  return (message) => {
    try {
      if (message.raw !== undefined) {
        writer.uint32(RAW_TAG).fork();
        writeStruct(writer, message.raw);
        writer.join();
      }
      encodeGenerated({ ...message, raw: undefined }, writer);
      const bytes = writer.finish();
      if (bytes.length > KEEP_WRITER_BYTES) writer = new BinaryWriter();
      // `finish` returned a copy of its own: wrap it rather than copy it again.
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    } catch (err) {
      // A failed encode leaves the writer mid-message.
      writer = new BinaryWriter();
      throw err;
    }
  };
}
