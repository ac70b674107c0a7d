import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import type { Workspace } from "../../src/config/config.js";
import { RUN_SUMMARY, type RunSummary } from "../../src/core/run-summary.js";
import { invalidArgument } from "../../src/grpc/gateway-error.js";
import { DAY_MS } from "../../src/limits/gcra.js";
import { LocalLimiter } from "../../src/limits/local-limiter.js";
import { GatewayMetrics } from "../../src/metrics/metrics.js";
import { workspaceLimits } from "../../src/middleware/limits.js";
import { fakeContext, workspace } from "../core/fakes.js";
import { fakeNext, run, STREAM, UNARY } from "./fake-next.js";

const ws = workspace([], 1, "ws-busy");

async function rejections(metrics: GatewayMetrics, limit = "concurrency"): Promise<number> {
  const metric = await metrics.limitRejections.get();
  return metric.values.find((v) => v.labels.workspace === "ws-busy" && v.labels.limit === limit)?.value ?? 0;
}

function limited(overrides: Partial<Workspace>): Workspace {
  return { ...workspace([], 100, "ws-busy"), ...overrides };
}

/** A context whose call was made with `caller`'s credential and whose run used `tokens`. */
function callBy(w: Workspace, caller: string, tokens?: number) {
  const ctx = fakeContext(w);
  const context = { ...ctx.context, caller };
  if (tokens !== undefined) context.values.set(RUN_SUMMARY, { usage: { totalTokens: tokens } } as unknown as RunSummary);
  return context;
}

describe("workspace limits middleware (in process)", () => {
  it("reports calls in flight per workspace in the gauge, read at scrape time; a workspace once busy stays, at 0", async () => {
    const metrics = new GatewayMetrics();
    const limiter = new LocalLimiter((workspace, n) => metrics.setCallsInFlight(workspace, n));
    const gauge = async () =>
      (await metrics.registry.metrics()).split("\n").filter((l) => l.startsWith("dify_gateway_workspace_calls_in_flight{"));
    expect(await gauge()).toEqual([]);
    let during: string[] = [];
    const { next } = fakeNext({ messages: ["m"], during: () => void gauge().then((g) => (during = g)) });
    const first = limiter.concurrency.forceAcquire("ws-busy");
    limiter.concurrency.forceAcquire("ws-other")();
    expect(await gauge()).toEqual([
      'dify_gateway_workspace_calls_in_flight{workspace="ws-busy"} 1',
      'dify_gateway_workspace_calls_in_flight{workspace="ws-other"} 0',
    ]);
    first();
    const out = await run(workspaceLimits(limiter, metrics), STREAM, next, fakeContext(ws).context);
    expect(out.error).toBeUndefined();
    // Read while the call held its slot (the scrape itself settles after the handler's tick).
    expect(during).toEqual([
      'dify_gateway_workspace_calls_in_flight{workspace="ws-busy"} 1',
      'dify_gateway_workspace_calls_in_flight{workspace="ws-other"} 0',
    ]);
    expect(await gauge()).toEqual([
      'dify_gateway_workspace_calls_in_flight{workspace="ws-busy"} 0',
      'dify_gateway_workspace_calls_in_flight{workspace="ws-other"} 0',
    ]);
  });

  it("holds the workspace's slot while the handler runs and gives it back after", async () => {
    const limiter = new LocalLimiter();
    let held = -1;
    const { next } = fakeNext({ messages: ["m"], during: () => (held = limiter.concurrency.inFlight("ws-busy")) });
    const out = await run(workspaceLimits(limiter, new GatewayMetrics()), STREAM, next, fakeContext(ws).context);
    expect(out.error).toBeUndefined();
    expect(held).toBe(1);
    expect(limiter.concurrency.inFlight("ws-busy")).toBe(0);
  });

  it("refuses a call over the limit with RESOURCE_EXHAUSTED, RetryInfo and QuotaFailure, counted, without running it", async () => {
    const limiter = new LocalLimiter();
    const metrics = new GatewayMetrics();
    const hold = limiter.concurrency.tryAcquire("ws-busy", 1);
    const { next, calls } = fakeNext({ result: "r" });
    const out = await run(workspaceLimits(limiter, metrics), UNARY, next, fakeContext(ws).context);
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
    const limiter = new LocalLimiter();
    const metrics = new GatewayMetrics();
    const hold = limiter.concurrency.tryAcquire("ws-busy", 1);
    const method = {
      ...UNARY,
      checkRequest: () => {
        throw invalidArgument("query", "is required");
      },
    };
    const out = await run(workspaceLimits(limiter, metrics), method, fakeNext({ result: "r" }).next, fakeContext(ws).context);
    expect(out.error).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(await rejections(metrics)).toBe(0);
    hold?.();
  });

  it("gives the slot back when the handler fails", async () => {
    const limiter = new LocalLimiter();
    const out = await run(
      workspaceLimits(limiter, new GatewayMetrics()),
      UNARY,
      fakeNext({ error: new Error("boom") }).next,
      fakeContext(ws).context,
    );
    expect(out.error).toBeInstanceOf(Error);
    expect(limiter.concurrency.inFlight("ws-busy")).toBe(0);
  });

  it("lets a workspace start its requestsPerMinute at once, then refuses with WORKSPACE_RATE_LIMIT and when to retry", async () => {
    let now = 1_000_000;
    const limiter = new LocalLimiter(undefined, () => now);
    const metrics = new GatewayMetrics();
    const w = limited({ requestsPerMinute: 3 });
    const mw = workspaceLimits(limiter, metrics);
    for (const caller of ["token:a", "token:b", "token:c"]) {
      expect((await run(mw, UNARY, fakeNext({ result: "r" }).next, callBy(w, caller))).error).toBeUndefined();
    }
    const refused = await run(mw, UNARY, fakeNext({ result: "r" }).next, callBy(w, "token:d"));
    expect(refused.error).toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
      details: { reason: "WORKSPACE_RATE_LIMIT", retryDelayMs: 20_000, quotaViolation: { subject: "workspace:ws-busy" } },
    });
    expect(await rejections(metrics, "workspace_rate")).toBe(1);
    now += 20_000;
    expect((await run(mw, UNARY, fakeNext({ result: "r" }).next, callBy(w, "token:d"))).error).toBeUndefined();
  });

  it("limits each caller alone with TOKEN_RATE_LIMIT: one token's burst leaves another's rate whole", async () => {
    const now = 5_000_000;
    const limiter = new LocalLimiter(undefined, () => now);
    const metrics = new GatewayMetrics();
    const w = limited({ requestsPerMinutePerToken: 2 });
    const mw = workspaceLimits(limiter, metrics);
    const codes = [];
    for (const caller of ["token:a", "token:a", "token:a", "token:b", "token:b"]) {
      const out = await run(mw, UNARY, fakeNext({ result: "r" }).next, callBy(w, caller));
      codes.push((out.error as { details?: { reason: string } } | undefined)?.details?.reason ?? "OK");
    }
    expect(codes).toEqual(["OK", "OK", "TOKEN_RATE_LIMIT", "OK", "OK"]);
    expect(await rejections(metrics, "token_rate")).toBe(1);
  });

  it("counts the runs' Dify tokens and refuses with WORKSPACE_TOKEN_BUDGET before the handler runs, until the UTC day rolls", async () => {
    let now = 10 * DAY_MS + 1_000;
    const limiter = new LocalLimiter(undefined, () => now);
    const metrics = new GatewayMetrics();
    const w = limited({ tokensPerDay: 100 });
    const mw = workspaceLimits(limiter, metrics);
    expect((await run(mw, UNARY, fakeNext({ result: "r" }).next, callBy(w, "token:a", 60))).error).toBeUndefined();
    expect((await run(mw, UNARY, fakeNext({ result: "r" }).next, callBy(w, "token:a", 60))).error).toBeUndefined();
    const { next, calls } = fakeNext({ result: "r" });
    const refused = await run(mw, UNARY, next, callBy(w, "token:a"));
    expect(calls).toHaveLength(0);
    expect(refused.error).toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
      details: { reason: "WORKSPACE_TOKEN_BUDGET", retryDelayMs: DAY_MS - 1_000, quotaViolation: { subject: "workspace:ws-busy" } },
    });
    expect(await rejections(metrics, "token_budget")).toBe(1);
    now = 11 * DAY_MS;
    expect((await run(mw, UNARY, fakeNext({ result: "r" }).next, callBy(w, "token:a"))).error).toBeUndefined();
  });

  it("charges no rate to a call another limit refused", async () => {
    const now = 7_000_000;
    const limiter = new LocalLimiter(undefined, () => now);
    const w = limited({ maxConcurrentCalls: 1, requestsPerMinute: 2 });
    const mw = workspaceLimits(limiter, new GatewayMetrics());
    const hold = limiter.concurrency.tryAcquire("ws-busy", 1);
    for (let i = 0; i < 5; i++) await run(mw, UNARY, fakeNext({ result: "r" }).next, callBy(w, "token:a"));
    hold?.();
    const outs = [];
    for (let i = 0; i < 3; i++) outs.push((await run(mw, UNARY, fakeNext({ result: "r" }).next, callBy(w, "token:a"))).error);
    expect(outs.map((e) => (e as { details?: { reason: string } } | undefined)?.details?.reason ?? "OK")).toEqual([
      "OK",
      "OK",
      "WORKSPACE_RATE_LIMIT",
    ]);
  });
});
