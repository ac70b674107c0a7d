import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { DescField, DescMessage, DescOneof, FileRegistry } from "@bufbuild/protobuf";
import { GENERATED_DIR } from "../paths.js";

/*
 * Dify's numbers reach integer fields of the typed views (`created_at`, token counts, `index`...) through ts-proto's
 * fromJSON, which takes them with Number(). A fraction (1705407629.25), a value past int64 or a string that is no
 * number then made the generated encoder throw, and the call end INTERNAL: a unary answer Dify had finished was
 * lost, a stream cut, for one field Dify sent off its schema. `raw` always carries the value as Dify sent it; the
 * typed field takes the nearest integer its type holds, or 0 (unset) when there is none.
 *
 * Only a message that failed to encode is fitted, then encoded again: the common case pays nothing. The schema
 * comes from the descriptor set `buf build` wrote, read the first time one is needed (~30 ms, once).
 */

type Serialize<M> = (message: M) => Buffer;

/** `serialize` for the responses of the method at `path`, fitting a message's integer fields when it fails. */
export function fittingIntegers<M>(path: string, serialize: Serialize<M>): Serialize<M> {
  return (message) => {
    try {
      return serialize(message);
    } catch (err) {
      const output = outputOf(path);
      if (output === undefined || !fitMessage(output, message as Record<string, unknown>)) throw err;
      return serialize(message);
    }
  };
}

/** Integer ranges by protobuf scalar type (ScalarType's numbers); the bounds are what the wire encoder accepts. */
const INT64: Range = [-(2 ** 63), 2 ** 63];
const UINT64: Range = [0, 2 ** 64];
const INT32: Range = [-(2 ** 31), 2 ** 31];
const UINT32: Range = [0, 2 ** 32];
/** [lowest, past the highest) */
type Range = readonly [number, number];
const RANGES = new Map<number, Range>([
  [3, INT64], // int64
  [4, UINT64], // uint64
  [5, INT32], // int32
  [6, UINT64], // fixed64
  [7, UINT32], // fixed32
  [13, UINT32], // uint32
  [15, INT32], // sfixed32
  [16, INT64], // sfixed64
  [17, INT32], // sint32
  [18, INT64], // sint64
]);

/** The value an integer field of `range` takes for `value`: its nearest integer, or 0 when it has none in range. */
export function fitInteger(value: unknown, range: Range): number {
  const n = Math.round(typeof value === "number" ? value : Number(value));
  return Number.isFinite(n) && n >= range[0] && n < range[1] ? n : 0;
}

/** Fits every integer field of `message` (a ts-proto object of type `desc`) in place; true if one changed. */
function fitMessage(desc: DescMessage, message: Record<string, unknown>): boolean {
  let changed = false;
  for (const member of desc.members) {
    if (member.kind === "oneof") changed = fitOneof(member, message) || changed;
    else changed = fitField(member, message, member.localName) || changed;
  }
  return changed;
}

/** ts-proto's `oneof=unions-value`: `{ $case: "<field's local name>", value }`. */
function fitOneof(oneof: DescOneof, message: Record<string, unknown>): boolean {
  const union = message[oneof.localName] as { $case: string; value: unknown } | undefined;
  const field = union && oneof.fields.find((f) => f.localName === union.$case);
  return field !== undefined && fitField(field, union as unknown as Record<string, unknown>, "value");
}

function fitField(field: DescField, holder: Record<string, unknown>, key: string): boolean {
  const value = holder[key];
  if (value === undefined || value === null) return false;
  switch (field.fieldKind) {
    case "scalar":
      return fitScalar(field.scalar, holder, key);
    case "message":
      return fitNested(field.message, value);
    case "list": {
      const list = value as unknown[];
      let changed = false;
      for (let i = 0; i < list.length; i++) {
        if (field.listKind === "scalar")
          changed = fitScalar(field.scalar, list as unknown as Record<string, unknown>, String(i)) || changed;
        else if (field.listKind === "message") changed = fitNested(field.message, list[i]) || changed;
      }
      return changed;
    }
    case "map": {
      const map = value as Record<string, unknown>;
      let changed = false;
      for (const k of Object.keys(map)) {
        if (field.mapKind === "scalar") changed = fitScalar(field.scalar, map, k) || changed;
        else if (field.mapKind === "message") changed = fitNested(field.message, map[k]) || changed;
      }
      return changed;
    }
    default:
      return false;
  }
}

function fitScalar(scalar: number, holder: Record<string, unknown>, key: string): boolean {
  const range = RANGES.get(scalar);
  if (range === undefined) return false;
  const fitted = fitInteger(holder[key], range);
  if (Object.is(fitted, holder[key])) return false;
  holder[key] = fitted;
  return true;
}

/** google.protobuf types (Struct's `raw`, wrappers) are plain JSON values in ts-proto: not walked. */
function fitNested(desc: DescMessage, value: unknown): boolean {
  if (desc.typeName.startsWith("google.protobuf.") || typeof value !== "object" || value === null) return false;
  return fitMessage(desc, value as Record<string, unknown>);
}

// Required, not imported: the registry code (~110 KB) loads only once a message needs fitting, not at every start.
let registry: FileRegistry | undefined;
const outputs = new Map<string, DescMessage | undefined>();

/** The response type of the method at `/package.Service/Method`, from the gateway's own descriptor set. */
function outputOf(path: string): DescMessage | undefined {
  if (outputs.has(path)) return outputs.get(path);
  registry ??= loadRegistry();
  const [, serviceName, methodName] = path.split("/");
  const output = registry.getService(serviceName ?? "")?.methods.find((m) => m.name === methodName)?.output;
  outputs.set(path, output);
  return output;
}

function loadRegistry(): FileRegistry {
  const load = createRequire(import.meta.url);
  const protobuf = load("@bufbuild/protobuf") as typeof import("@bufbuild/protobuf");
  const wkt = load("@bufbuild/protobuf/wkt") as typeof import("@bufbuild/protobuf/wkt");
  return protobuf.createFileRegistry(
    protobuf.fromBinary(wkt.FileDescriptorSetSchema, readFileSync(join(GENERATED_DIR, "dify_app_v1.binpb"))),
  );
}
