/**
 * Warn lines a caller can cause (a call on the wrong service, an app whose key Dify refuses): at most one per key
 * per minute, so a caller repeating a mistake, or an attacker, cannot flood the log; each call still has its own
 * call line with the status. Keys name config entries (workspace, app, kind), so their number is the config's.
 */
const WARN_INTERVAL_MS = 60_000;
/** A bound regardless of what keys are made of: past it, the memory starts over (some warns come again early). */
const MAX_KEYS = 10_000;
const lastWarned = new Map<string, number>();

export function warnDue(key: string, now = performance.now()): boolean {
  const at = lastWarned.get(key);
  if (at !== undefined && now - at < WARN_INTERVAL_MS) return false;
  if (lastWarned.size >= MAX_KEYS) lastWarned.clear();
  lastWarned.set(key, now);
  return true;
}
