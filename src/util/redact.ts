/** `text` with each of `secrets` replaced by `[redacted]`. */
export function redactText(text: string, secrets: readonly string[]): string {
  for (const secret of secrets) if (secret !== "" && text.includes(secret)) text = text.split(secret).join("[redacted]");
  return text;
}

/** `value` with `secrets` replaced in every string, keys included. */
export function redactStrings(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === "string") return redactText(value, secrets);
  if (Array.isArray(value)) return value.map((v) => redactStrings(v, secrets));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    Object.defineProperty(out, redactText(k, secrets), {
      value: redactStrings(v, secrets),
      enumerable: true,
      configurable: true,
      writable: true,
    });
  }
  return out;
}
