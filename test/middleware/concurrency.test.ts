import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { invalidArgument } from "../../src/grpc/gateway-error.js";
import { ConcurrencyLimiter } from "../../src/limits/concurrency.js";
import { GatewayMetrics } from "../../src/metrics/metrics.js";
import { concurrencyLimit } from "../../src/middleware/concurrency.js";
import { fakeContext, workspace } from "../core/fakes.js";
import { fakeNext, run, STREAM, UNARY } from "./fake-next.js";

const ws = workspace([], 1, "ws-busy");

async function rejections(metrics: GatewayMetrics): Promise<number> {
  const metric = await metrics.concurrencyRejections.get();
  return metric.values.find((v) => v.labels.workspace === "ws-busy")?.value ?? 0;
}

describe("concurrency limit middleware", () => {
  it("holds the workspace's slot while the handler runs and gives it back after", async () => {
    const limiter = new ConcurrencyLimiter();
    let held = -1;
    const { next } = fakeNext({ messages: ["m"], during: () => (held = limiter.inFlight("ws-busy")) });
    const out = await run(concurrencyLimit(limiter, new GatewayMetrics()), STREAM, next, fakeContext(ws).context);
    expect(out.error).toBeUndefined();
    expect(held).toBe(1);
    expect(limiter.inFlight("ws-busy")).toBe(0);
  });

  it("refuses a call over the limit with RESOURCE_EXHAUSTED, RetryInfo and QuotaFailure, counted, without running it", async () => {
    const limiter = new ConcurrencyLimiter();
    const metrics = new GatewayMetrics();
    const hold = limiter.tryAcquire("ws-busy", 1);
    const { next, calls } = fakeNext({ result: "r" });
    const out = await run(concurrencyLimit(limiter, metrics), UNARY, next, fakeContext(ws).context);
    expect(out.error).toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
      details: {
        reason: "WORKSPACE_CONCURRENCY_LIMIT",
        metadata: { workspace: "ws-busy", limit: "1" },
        retryDelayMs: 1_000,
        quotaViolation: { subject: "workspace:ws-busy" },
      },
    });
    expect(calls).toHaveLength(0);
    expect(await rejections(metrics)).toBe(1);
    hold?.();
  });

  it("refuses a bad request as such, before it takes or is refused a slot", async () => {
    const limiter = new ConcurrencyLimiter();
    const metrics = new GatewayMetrics();
    const hold = limiter.tryAcquire("ws-busy", 1);
    const method = {
      ...UNARY,
      checkRequest: () => {
        throw invalidArgument("query", "is required");
      },
    };
    const out = await run(concurrencyLimit(limiter, metrics), method, fakeNext({ result: "r" }).next, fakeContext(ws).context);
    expect(out.error).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(await rejections(metrics)).toBe(0);
    hold?.();
  });

  it("gives the slot back when the handler fails", async () => {
    const limiter = new ConcurrencyLimiter();
    const out = await run(
      concurrencyLimit(limiter, new GatewayMetrics()),
      UNARY,
      fakeNext({ error: new Error("boom") }).next,
      fakeContext(ws).context,
    );
    expect(out.error).toBeInstanceOf(Error);
    expect(limiter.inFlight("ws-busy")).toBe(0);
  });
});
