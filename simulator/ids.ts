import { createHash, randomUUID } from "node:crypto";

export { randomUUID };

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Loose check (any version), like Python's `uuid.UUID(value)` on the canonical form. */
export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

/** A UUID that is a pure function of `seed`, so ids such as an app's workflow id stay stable across restarts. */
export function seededUuid(seed: string): string {
  const hex = createHash("sha256").update(seed).digest("hex");
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Dify timestamps are integer Unix seconds. */
export function unixSeconds(ms: number = Date.now()): number {
  return Math.floor(ms / 1000);
}
