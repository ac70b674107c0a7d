import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { gcra, RATE_PERIOD_MS } from "../../src/limits/gcra.js";

/** Runs requests at the given times through one GCRA key; returns the times admitted. */
function admitted(times: number[], perMinute: number): number[] {
  let tat: number | undefined;
  const out: number[] = [];
  for (const now of times) {
    const step = gcra(tat, now, perMinute);
    if (step.waitMs > 0) continue;
    tat = step.nextTat;
    out.push(now);
  }
  return out;
}

describe("GCRA", () => {
  it("admits at most a burst of perMinute plus the sustained rate in any window, whatever the arrival times", () => {
    // GCRA's bound: a window of W ms holds at most (W + 60 s) / (60 s / perMinute) admitted requests, so at most
    // perMinute in any instant's burst and 2 × perMinute - 1 in any sliding minute (README documents this).
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.integer({ min: 0, max: 5 * RATE_PERIOD_MS }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 0, max: 2 * RATE_PERIOD_MS }),
        (perMinute, raw, window) => {
          const times = [...raw].sort((a, b) => a - b);
          const ok = admitted(times, perMinute);
          const interval = RATE_PERIOD_MS / perMinute;
          for (const start of ok) {
            const inWindow = ok.filter((t) => t >= start && t <= start + window).length;
            expect(inWindow).toBeLessThanOrEqual(Math.floor((window + RATE_PERIOD_MS) / interval + 1e-9));
          }
        },
      ),
    );
  });

  it("admits a whole burst of perMinute at once and names the wait for the next", () => {
    const ok = admitted(Array(25).fill(0), 10);
    expect(ok).toHaveLength(10);
    let tat: number | undefined;
    for (let i = 0; i < 10; i++) tat = gcra(tat, 0, 10).nextTat;
    expect(gcra(tat, 0, 10).waitMs).toBe(6_000);
    expect(gcra(tat, 6_000, 10).waitMs).toBe(0);
  });

  it("a waiting caller that retries after the named wait is admitted", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 600 }), fc.integer({ min: 0, max: 10 ** 9 }), (perMinute, start) => {
        let tat: number | undefined;
        let now = start;
        for (let i = 0; i < perMinute; i++) tat = gcra(tat, now, perMinute).nextTat;
        const wait = gcra(tat, now, perMinute).waitMs;
        if (wait === 0) return;
        now += wait;
        expect(gcra(tat, now, perMinute).waitMs).toBe(0);
      }),
    );
  });
});
