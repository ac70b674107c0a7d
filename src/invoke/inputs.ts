import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { invalidArgument } from "../grpc/gateway-error.js";

/**
 * How deeply `inputs` may nest (the top-level object counts as 1). Dify echoes `inputs` in its
 * events (`workflow_started`, `node_started`, `node_finished`: `data.inputs`), and our own clients
 * must decode those: protobuf's recursion limit (100 nested messages) is reached sooner because
 * each JSON level costs 2-3 message levels in a Struct. Measured on the echoed workflow_started
 * stream message: the TypeScript client (ts-proto) and Debian's python3-protobuf 4.21 (default
 * limit) both decode 31 levels and fail at 32. One level of margin for an event that wraps
 * `inputs` once more. (Was 100: 34-100 levels passed, then broke both clients.)
 */
export const MAX_INPUTS_DEPTH = 30;

/**
 * Longest field path a status echoes. The path is the caller's input: a NaN deep in long non-ASCII keys made
 * 18-90 KB trailers (grpc-message percent-encodes each non-ASCII byte), which gRPC-core clients refuse.
 */
export const MAX_ECHOED_FIELD_CHARS = 200;

/** `path` as a status may echo it: non-ASCII as \u escapes, at most MAX_ECHOED_FIELD_CHARS, "..." when cut. */
export function echoedField(path: string): string {
  // eslint-disable-next-line no-control-regex
  const ascii = /[^\x20-\x7e]/.test(path)
    ? path.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    : path;
  return ascii.length > MAX_ECHOED_FIELD_CHARS ? `${ascii.slice(0, MAX_ECHOED_FIELD_CHARS - 3)}...` : ascii;
}

/** `inputs` that cannot travel as JSON unchanged: the reason, and the path of the first bad value. */
export class InputsRejected extends Error {
  readonly field: string;

  constructor(
    field: string,
    readonly description: string,
  ) {
    const shown = echoedField(field);
    super(`${shown}: ${description}`);
    this.field = shown;
    this.name = "InputsRejected";
  }
}

/**
 * Rejects what JSON cannot carry unchanged: NaN and ±Infinity (JSON.stringify turns them into
 * null) and nesting past MAX_INPUTS_DEPTH. Negative zero is sent as 0, as JSON.stringify writes it.
 */
export function validateInputs(inputs: Record<string, unknown> | undefined): void {
  if (inputs === undefined) return;
  try {
    checkValue(inputs, "inputs", 0);
  } catch (err) {
    if (err instanceof InputsRejected) throw invalidArgument(err.field, err.description);
    throw err;
  }
}

function checkValue(value: unknown, path: string, depth: number): void {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new InputsRejected(path, `must be a finite number (JSON has no ${String(value)})`);
    return;
  }
  if (value === null || typeof value !== "object") return;
  if (depth + 1 > MAX_INPUTS_DEPTH) throw tooDeep();
  if (Array.isArray(value)) value.forEach((v, i) => checkValue(v, `${path}[${i}]`, depth + 1));
  else for (const [k, v] of Object.entries(value)) checkValue(v, `${path}${keyPath(k)}`, depth + 1);
}

function tooDeep(): InputsRejected {
  return new InputsRejected("inputs", `nests deeper than ${MAX_INPUTS_DEPTH} levels`);
}

/** `.name` for plain keys, `["any key"]` otherwise; long keys are cut so the status stays small. */
function keyPath(key: string): string {
  const shown = key.length > 64 ? `${key.slice(0, 64)}…` : key;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(shown) ? `.${shown}` : `[${JSON.stringify(shown)}]`;
}

/**
 * Bounds of one request's `inputs`, below `server.maxReceiveMessageBytes`: a legal 4 MiB request of 269k keys
 * blocked the event loop for up to 665 ms while it was decoded, checked and serialized, and raised another
 * workspace's p99 from 22 ms to ~1.9 s. Decoding stops at the first key past the bound, so a flood costs
 * little more than reading its first 10,000 keys. Dify app inputs are form fields: tens of keys, not thousands.
 */
export interface InputsLimits {
  /** Encoded size of the `inputs` Struct. */
  maxBytes: number;
  /** Struct entries plus list items, at all levels. */
  maxKeys: number;
}

export const DEFAULT_INPUTS_LIMITS: InputsLimits = Object.freeze({ maxBytes: 1024 * 1024, maxKeys: 10_000 });

/**
 * Decodes a google.protobuf.Struct into the plain object Dify receives as JSON.
 *
 * Hand-written because ts-proto's generated decoder (measured, v2.18): stops at 100 nested
 * *message* decodes, which is only ~33 levels of Struct nesting, and answers with an error that
 * grpc-js turns into INTERNAL; and it stores map keys with `obj[key] = …`, so a `__proto__` key
 * silently vanishes. Here every key is an own property and the limit is MAX_INPUTS_DEPTH levels.
 */
export function decodeStruct(bytes: Uint8Array, limits: InputsLimits = DEFAULT_INPUTS_LIMITS): Record<string, unknown> {
  if (bytes.length > limits.maxBytes)
    throw new InputsRejected("inputs", `must be at most ${limits.maxBytes} bytes encoded (got ${bytes.length})`);
  const reader = new BinaryReader(bytes) as CountingReader;
  reader.keysLeft = limits.maxKeys;
  reader.maxKeys = limits.maxKeys;
  return readStruct(reader, reader.len, 1);
}

/** The reader carries the key budget, so the recursion needs no extra argument. */
type CountingReader = BinaryReader & { keysLeft: number; maxKeys: number };

function countKey(r: BinaryReader): void {
  const c = r as CountingReader;
  if (--c.keysLeft < 0) throw new InputsRejected("inputs", `must have at most ${c.maxKeys} keys and list items in all`);
}

function readStruct(r: BinaryReader, end: number, depth: number): Record<string, unknown> {
  if (depth > MAX_INPUTS_DEPTH) throw tooDeep();
  const object: Record<string, unknown> = {};
  while (r.pos < end) {
    const [field, wire] = r.tag();
    if (field !== 1 || wire !== WireType.LengthDelimited) {
      r.skip(wire, field);
      continue;
    }
    countKey(r);
    const entryEnd = r.uint32() + r.pos;
    let key = "";
    let value: unknown;
    while (r.pos < entryEnd) {
      const [f, w] = r.tag();
      if (f === 1 && w === WireType.LengthDelimited) key = r.string();
      else if (f === 2 && w === WireType.LengthDelimited) value = readValue(r, r.uint32() + r.pos, depth);
      else r.skip(w, f);
    }
    // An entry without a value is absent, as in the generated decoder; defineProperty keeps `__proto__` a key.
    if (value !== undefined) Object.defineProperty(object, key, { value, enumerable: true, configurable: true, writable: true });
  }
  return object;
}

function readList(r: BinaryReader, end: number, depth: number): unknown[] {
  if (depth > MAX_INPUTS_DEPTH) throw tooDeep();
  const list: unknown[] = [];
  while (r.pos < end) {
    const [field, wire] = r.tag();
    // A Value with no kind set is invalid protobuf; in a list it becomes null, JSON's nearest.
    if (field === 1 && wire === WireType.LengthDelimited) {
      countKey(r);
      list.push(readValue(r, r.uint32() + r.pos, depth) ?? null);
    } else r.skip(wire, field);
  }
  return list;
}

/** `depth` is the depth of the container holding this value. */
function readValue(r: BinaryReader, end: number, depth: number): unknown {
  let value: unknown;
  while (r.pos < end) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.Varint) r.int32(), (value = null);
    else if (field === 2 && wire === WireType.Bit64) value = r.double();
    else if (field === 3 && wire === WireType.LengthDelimited) value = r.string();
    else if (field === 4 && wire === WireType.Varint) value = r.bool();
    else if (field === 5 && wire === WireType.LengthDelimited) value = readStruct(r, r.uint32() + r.pos, depth + 1);
    else if (field === 6 && wire === WireType.LengthDelimited) value = readList(r, r.uint32() + r.pos, depth + 1);
    else r.skip(wire, field);
  }
  return value;
}
