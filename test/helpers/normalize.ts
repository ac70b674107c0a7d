const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TIME_KEYS = new Set(["created_at", "finished_at"]);
const DURATION_KEYS = new Set(["latency", "elapsed_time"]);

/** Replaces what differs between two runs of the same request (ids, clocks) with placeholders. */
export function normalize(value: unknown, key = ""): unknown {
  if (Array.isArray(value)) return value.map((v) => normalize(v));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v, k)]));
  }
  if (typeof value === "string" && UUID.test(value)) return "<uuid>";
  if (TIME_KEYS.has(key) && typeof value === "number") return "<time>";
  if (DURATION_KEYS.has(key) && typeof value === "number") return "<duration>";
  return value;
}
