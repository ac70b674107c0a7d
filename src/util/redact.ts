/** `value` with `secret` replaced in every string, keys included. */
export function redactStrings(value: unknown, secret: string): unknown {
  if (typeof value === "string") return value.includes(secret) ? value.split(secret).join("[redacted]") : value;
  if (Array.isArray(value)) return value.map((v) => redactStrings(v, secret));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const key = k.includes(secret) ? k.split(secret).join("[redacted]") : k;
    Object.defineProperty(out, key, { value: redactStrings(v, secret), enumerable: true, configurable: true, writable: true });
  }
  return out;
}
