import type { InputFile } from "../../generated/dify/app/v1/common.js";
import { MAX_INPUTS_DEPTH } from "../../src/invoke/inputs.js";

/**
 * JSON equality, the "exactly" of the round trip: same own keys (`__proto__` included), same strings
 * code unit for code unit, same numbers, where -0 equals 0 because JSON.stringify writes -0 as 0.
 * `nanEqual` is for the protobuf round trip, where a double keeps NaN.
 */
export function sameJson(a: unknown, b: unknown, nanEqual = false): boolean {
  if (typeof a === "number" && typeof b === "number") return a === b || (nanEqual && Number.isNaN(a) && Number.isNaN(b));
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.hasOwn(b, k) && sameJson((a as Record<string, unknown>)[k], rb[k], nanEqual));
}

export function depthOf(v: unknown): number {
  if (v === null || typeof v !== "object") return 0;
  let max = 0;
  for (const x of Object.values(v)) max = Math.max(max, depthOf(x));
  return 1 + max;
}

export function hasNonFinite(v: unknown): boolean {
  if (typeof v === "number") return !Number.isFinite(v);
  return v !== null && typeof v === "object" && Object.values(v).some(hasNonFinite);
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** What each string becomes on the protobuf wire: UTF-8, so a lone surrogate arrives as U+FFFD. */
export function wellFormed(v: unknown): unknown {
  if (typeof v === "string") return v.replace(LONE_SURROGATE, "\ufffd");
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(wellFormed);
  const o: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v))
    Object.defineProperty(o, wellFormed(k) as string, { value: wellFormed(x), enumerable: true, configurable: true, writable: true });
  return o;
}

/**
 * Resolves a field-violation path like `inputs.a[3]["odd key"]` in `inputs`; a segment ending in
 * "…" matches a longer key by its prefix (long keys are cut in paths). Undefined when it names nothing.
 */
export function resolvePath(inputs: unknown, path: string): unknown[] {
  if (!path.startsWith("inputs")) return [];
  let candidates: unknown[] = [inputs];
  let rest = path.slice("inputs".length);
  while (rest.length > 0) {
    let seg: string | number;
    const dot = /^\.([A-Za-z_][A-Za-z0-9_…]*)/.exec(rest);
    const idx = /^\[(\d+)\]/.exec(rest);
    if (dot) [seg, rest] = [dot[1] as string, rest.slice(dot[0].length)];
    else if (idx) [seg, rest] = [Number(idx[1]), rest.slice(idx[0].length)];
    else if (rest.startsWith('["')) {
      // The JSON string literal ends at the first `"]` that parses.
      let end = rest.indexOf('"]', 2);
      let parsed: string | undefined;
      while (end !== -1 && parsed === undefined) {
        try {
          parsed = JSON.parse(rest.slice(1, end + 1)) as string;
        } catch {
          end = rest.indexOf('"]', end + 1);
        }
      }
      if (parsed === undefined) return [];
      [seg, rest] = [parsed, rest.slice(end + 2)];
    } else return [];
    candidates = candidates.flatMap((c) => step(c, seg));
  }
  return candidates;
}

function step(c: unknown, seg: string | number): unknown[] {
  if (c === null || typeof c !== "object") return [];
  if (typeof seg === "number") return Array.isArray(c) && seg < c.length ? [c[seg]] : [];
  if (Array.isArray(c)) return [];
  const o = c as Record<string, unknown>;
  if (Object.hasOwn(o, seg)) return [o[seg]];
  if (seg.endsWith("…"))
    return Object.keys(o)
      .filter((k) => k.length > 64 && k.startsWith(seg.slice(0, -1)))
      .map((k) => o[k]);
  return [];
}

export interface RequestShape {
  appId: string;
  inputs: Record<string, unknown>;
  files: InputFile[];
  user: string;
  query: string;
  conversationId: string;
}

const FILE_TYPES = ["image", "document", "audio", "video", "custom"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Which fields of this request are wrong, from the API's rules rather than the validator's code. */
export function violations(req: RequestShape, chat: boolean): { fields: Set<string>; inputsTooDeep: boolean; inputsNonFinite: boolean } {
  const fields = new Set<string>();
  if (req.appId.trim() === "" || req.appId.length > 256) fields.add("app_id");
  req.files.forEach((f, i) => {
    if (!FILE_TYPES.includes(f.type)) fields.add(`files[${i}].type`);
    if (f.transferMethod !== "remote_url" && f.transferMethod !== "local_file") fields.add(`files[${i}].transfer_method`);
    if (f.transferMethod === "remote_url" && f.url === "") fields.add(`files[${i}].url`);
    if (f.transferMethod === "local_file" && f.uploadFileId === "") fields.add(`files[${i}].upload_file_id`);
  });
  if (chat && req.query.trim() === "") fields.add("query");
  if (chat && req.conversationId !== "" && !UUID.test(req.conversationId)) fields.add("conversation_id");
  return { fields, inputsTooDeep: depthOf(req.inputs) > MAX_INPUTS_DEPTH, inputsNonFinite: hasNonFinite(req.inputs) };
}
