/**
 * GCRA (the generic cell rate algorithm), one number per key: the theoretical arrival time (TAT) of the next
 * request. `perMinute` requests may come at once, then one every 60 s / perMinute. The Lua script of the Redis
 * limiter (redis-scripts.ts) computes the same thing inside Redis; this is the in-process twin and its reference.
 */
export const RATE_PERIOD_MS = 60_000;

export interface GcraStep {
  /** The TAT to store when the request is admitted. */
  readonly nextTat: number;
  /** 0 when admitted, else how long until a request would be. */
  readonly waitMs: number;
}

/** `tat` is the stored TAT (undefined for a key never seen or expired). */
export function gcra(tat: number | undefined, now: number, perMinute: number): GcraStep {
  const interval = RATE_PERIOD_MS / perMinute;
  const nextTat = Math.max(tat ?? now, now) + interval;
  const over = nextTat - now - RATE_PERIOD_MS;
  return { nextTat, waitMs: over > 0 ? Math.ceil(over) : 0 };
}

export const DAY_MS = 86_400_000;

/** The UTC day `now` falls in, the budget's period. */
export function dayOf(now: number): number {
  return Math.floor(now / DAY_MS);
}

/** How long until the next UTC day, when a spent budget is whole again. */
export function untilNextDay(now: number): number {
  return (dayOf(now) + 1) * DAY_MS - now;
}
