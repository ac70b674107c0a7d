import type { BinaryWriter } from "@bufbuild/protobuf/wire";
import { reusedWriterSerializer, writeStructField } from "./stream-encoding.js";

/** The generated encoder of a unary response message (`ChatInvokeResponse.encode` and its siblings). */
export type UnaryResponseEncode = (message: UnaryResponse, writer: BinaryWriter) => BinaryWriter;

/** What every unary Invoke response has: Dify's blocking-mode dict as `raw`, beside the typed fields. */
export interface UnaryResponse {
  readonly raw?: Record<string, unknown> | undefined;
}

/** `raw` is field 1 of all three unary responses (dify/app/v1/*.proto), so it is written first, as the generated encoder does. */
const RAW_TAG = (1 << 3) | 2;

/**
 * The serializer of a unary Invoke response: `raw` written straight from the aggregated JSON by the stream path's
 * `writeStructField`, the typed fields by the generated encoder. Why: the generated encoder builds a
 * google.protobuf.Struct object tree (a wrapped `Value` and a `{ key, value }` entry per field, at every level)
 * before writing a byte; for the bench's completion answer that was ~26 µs of ~550 µs per call in a CPU profile
 * (docs/PERFORMANCE.md, "Unary CPU, sixth pass"). test/translate/unary-encoding.test.ts checks byte equality with
 * the generated encoder.
 */
export function unaryResponseSerializer(encodeGenerated: UnaryResponseEncode): (message: UnaryResponse) => Buffer {
  return reusedWriterSerializer((writer, message: UnaryResponse) => {
    if (message.raw !== undefined) writeStructField(writer, RAW_TAG, message.raw);
    encodeGenerated({ ...message, raw: undefined }, writer);
  });
}
