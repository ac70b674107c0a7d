import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { ConcurrencyLimiter, workspaceConcurrencyLimit } from "../../src/limits/concurrency.js";

describe("ConcurrencyLimiter", () => {
  it("grants up to the limit per key, and each key has its own count", () => {
    const limiter = new ConcurrencyLimiter();
    const a = [limiter.tryAcquire("a", 2), limiter.tryAcquire("a", 2)];
    expect(a.every((r) => r !== undefined)).toBe(true);
    expect(limiter.tryAcquire("a", 2)).toBeUndefined();
    expect(limiter.tryAcquire("b", 2)).toBeDefined();
    expect(limiter.inFlight("a")).toBe(2);
    expect(limiter.inFlight("b")).toBe(1);
  });

  it("frees a slot on release, and a second release of the same slot frees nothing", () => {
    const limiter = new ConcurrencyLimiter();
    const first = limiter.tryAcquire("a", 1)!;
    first();
    first();
    expect(limiter.inFlight("a")).toBe(0);
    const second = limiter.tryAcquire("a", 1);
    expect(second).toBeDefined();
    first();
    expect(limiter.tryAcquire("a", 1)).toBeUndefined();
    second!();
    expect(limiter.inFlight("a")).toBe(0);
  });

  it("applies a changed limit to the next acquire, keeping the slots already held", () => {
    const limiter = new ConcurrencyLimiter();
    const held = [limiter.tryAcquire("a", 3)!, limiter.tryAcquire("a", 3)!, limiter.tryAcquire("a", 3)!];
    expect(limiter.tryAcquire("a", 2)).toBeUndefined();
    held[0]!();
    expect(limiter.tryAcquire("a", 2)).toBeUndefined();
    held[1]!();
    expect(limiter.tryAcquire("a", 2)).toBeDefined();
    expect(limiter.tryAcquire("a", 5)).toBeDefined();
    expect(limiter.inFlight("a")).toBe(3);
  });

  it("reports every count change, down to zero", () => {
    const seen: [string, number][] = [];
    const limiter = new ConcurrencyLimiter((key, n) => seen.push([key, n]));
    const r1 = limiter.tryAcquire("a", 5)!;
    const r2 = limiter.tryAcquire("a", 5)!;
    limiter.tryAcquire("a", 2);
    r1();
    r2();
    r2();
    expect(seen).toEqual([
      ["a", 1],
      ["a", 2],
      ["a", 1],
      ["a", 0],
    ]);
  });
});

describe("workspaceConcurrencyLimit", () => {
  it("is RESOURCE_EXHAUSTED with the workspace and limit, RetryInfo of 1 s and a QuotaFailure", () => {
    const err = workspaceConcurrencyLimit("acme", 3);
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    const rpc = err.toRpcStatus();
    expect(rpc.details.map((d) => d.typeUrl.split("/")[1])).toEqual([
      "google.rpc.ErrorInfo",
      "google.rpc.RetryInfo",
      "google.rpc.QuotaFailure",
    ]);
    expect(err.details).toMatchObject({
      reason: "WORKSPACE_CONCURRENCY_LIMIT",
      metadata: { workspace: "acme", limit: "3" },
      retryDelayMs: 1000,
    });
    expect(err.details.quotaViolation?.subject).toBe("workspace:acme");
  });
});
