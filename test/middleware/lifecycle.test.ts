import { describe, expect, it } from "vitest";
import type { GatewayError } from "../../src/grpc/gateway-error.js";
import { Lifecycle } from "../../src/middleware/lifecycle.js";

class FakeCall {
  reason: GatewayError | undefined;
  constructor(
    private readonly lifecycle: Lifecycle,
    /** Ends on its own after this long; a terminated call answers after `answerMs`. */
    endsAfterMs: number,
    private readonly answerMs = 10,
  ) {
    lifecycle.enter(this);
    setTimeout(() => this.end(), endsAfterMs);
  }
  terminate(reason: GatewayError): void {
    this.reason = reason;
    setTimeout(() => this.end(), this.answerMs);
  }
  end(): void {
    this.lifecycle.leave(this);
  }
}

describe("Lifecycle.drain", () => {
  it("returns as soon as the last call ends within the grace", async () => {
    const lc = new Lifecycle();
    const calls = [new FakeCall(lc, 20), new FakeCall(lc, 60)];
    const t0 = performance.now();
    expect(await lc.drain(1_000, 100)).toEqual({ terminated: 0 });
    expect(performance.now() - t0).toBeLessThan(500);
    expect(calls.every((c) => c.reason === undefined)).toBe(true);
    expect(lc.draining).toBe(true);
  });

  it("terminates the calls still running at the end of the grace with UNAVAILABLE and a retry hint", async () => {
    const lc = new Lifecycle();
    const quick = new FakeCall(lc, 10);
    const slow = new FakeCall(lc, 10_000);
    expect(await lc.drain(100, 200)).toEqual({ terminated: 1 });
    expect(quick.reason).toBeUndefined();
    expect(slow.reason?.code).toBe(14);
    expect(slow.reason?.details).toMatchObject({ reason: "SHUTTING_DOWN", retryDelayMs: 1_000 });
    expect(lc.active).toBe(0);
  });

  it("does not wait past the settle time for a call that never answers", async () => {
    const lc = new Lifecycle();
    new FakeCall(lc, 10_000, 10_000);
    const t0 = performance.now();
    expect(await lc.drain(50, 100)).toEqual({ terminated: 1 });
    expect(performance.now() - t0).toBeLessThan(1_000);
  });
});
