import { BinaryWriter } from "@bufbuild/protobuf/wire";

/**
 * google.protobuf.Struct bytes for any object, every own key included, as Python, Go or any
 * protobuf library sends them. (ts-proto's and protobufjs's own encoders lose a `__proto__` key.)
 */
export function encodeStruct(object: Record<string, unknown>, w = new BinaryWriter()): BinaryWriter {
  for (const [k, v] of Object.entries(object)) {
    w.uint32(10).fork().uint32(10).string(k);
    encodeValue(v, w.uint32(18).fork()).join();
    w.join();
  }
  return w;
}

function encodeValue(v: unknown, w: BinaryWriter): BinaryWriter {
  if (v === null) w.uint32(8).int32(0);
  else if (typeof v === "number") w.uint32(17).double(v);
  else if (typeof v === "string") w.uint32(26).string(v);
  else if (typeof v === "boolean") w.uint32(32).bool(v);
  else if (Array.isArray(v)) {
    w.uint32(50).fork();
    for (const x of v) encodeValue(x, w.uint32(10).fork()).join();
    w.join();
  } else if (typeof v === "object") encodeStruct(v as Record<string, unknown>, w.uint32(42).fork()).join();
  return w;
}

/** `inputs` (field 2) as one or two occurrences: a message field sent twice merges. */
export function inputsField(object: Record<string, unknown>, splitAt: number): Uint8Array[] {
  const entries = Object.entries(object);
  const parts = splitAt > 0 && splitAt < entries.length ? [entries.slice(0, splitAt), entries.slice(splitAt)] : [entries];
  return parts.map((part) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of part) Object.defineProperty(o, k, { value: v, enumerable: true, configurable: true, writable: true });
    return new BinaryWriter().uint32(18).bytes(encodeStruct(o).finish()).finish();
  });
}
