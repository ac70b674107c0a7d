import { createServer } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Secret } from "../../src/config/secret.js";
import { DifyClient } from "../../src/dify/client.js";
import { DifyUnreachableError } from "../../src/dify/errors.js";
import {
  BUDGET_MIN_RETRIES,
  BUDGET_WINDOW_MS,
  backoffMs,
  httpRetryReason,
  isConnectFailure,
  RetryBudget,
  type RetrySettings,
  retryAfterMs,
} from "../../src/dify/retry.js";

const SETTINGS: RetrySettings = { maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 1_000, budgetRatio: 0.1, maxRetryAfterMs: 5_000 };

describe("RetryBudget", () => {
  it("allows ratio × requests + the minimum over the window, whatever the order of requests and retries", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 500 }), fc.double({ min: 0, max: 1, noNaN: true }), (ops, ratio) => {
        const budget = new RetryBudget(() => 0);
        let requests = 0;
        let granted = 0;
        for (const isRequest of ops) {
          if (isRequest) {
            budget.recordRequest();
            requests++;
          } else if (budget.tryRetry(ratio)) granted++;
          expect(granted).toBeLessThanOrEqual(Math.floor(ratio * requests) + BUDGET_MIN_RETRIES);
        }
      }),
    );
  });

  it("forgets what is older than the window", () => {
    let now = 0;
    const budget = new RetryBudget(() => now);
    for (let i = 0; i < BUDGET_MIN_RETRIES; i++) expect(budget.tryRetry(0)).toBe(true);
    expect(budget.tryRetry(0)).toBe(false);
    now += BUDGET_WINDOW_MS / 2;
    expect(budget.tryRetry(0)).toBe(false);
    now += BUDGET_WINDOW_MS;
    expect(budget.tryRetry(0)).toBe(true);
  });
});

describe("backoff and Retry-After", () => {
  it("backoff is jittered within [0, min(max, initial × 2^(n-1)))", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (retry, r) => {
        const ms = backoffMs(retry, SETTINGS, () => r);
        expect(ms).toBeGreaterThanOrEqual(0);
        expect(ms).toBeLessThan(Math.min(SETTINGS.maxBackoffMs, SETTINGS.initialBackoffMs * 2 ** (retry - 1)));
      }),
    );
  });

  it("Retry-After reads delta-seconds and HTTP-dates", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(retryAfterMs("1", now)).toBe(1_000);
    expect(retryAfterMs(["2"], now)).toBe(2_000);
    expect(retryAfterMs("Thu, 01 Jan 2026 00:00:03 GMT", now)).toBe(3_000);
    for (const bad of [undefined, "", "-1", "soon"]) expect(retryAfterMs(bad, now)).toBeUndefined();
  });
});

describe("what is retryable", () => {
  it("only HTTP answers given before a run: 502, 503, 504, and Dify's 429 too_many_requests", () => {
    expect([502, 503, 504].map((s) => httpRetryReason(s, ""))).toEqual(["http_502", "http_503", "http_504"]);
    expect(httpRetryReason(429, "too_many_requests")).toBe("too_many_requests");
    for (const [s, code] of [
      [429, "rate_limit_error"],
      [429, ""],
      [500, "internal_server_error"],
      [400, "invalid_param"],
      [401, "unauthorized"],
    ] as const)
      expect(httpRetryReason(s, code)).toBeUndefined();
  });

  it("only connections never made: not resets or socket errors, which may follow a written request", () => {
    expect(isConnectFailure({ code: "ECONNREFUSED", syscall: "connect" })).toBe(true);
    expect(isConnectFailure({ code: "EAI_AGAIN", syscall: "getaddrinfo" })).toBe(true);
    expect(isConnectFailure({ code: "UND_ERR_CONNECT_TIMEOUT" })).toBe(true);
    expect(isConnectFailure({ code: "ETIMEDOUT", syscall: "connect" })).toBe(true);
    for (const err of [
      { code: "ECONNRESET", syscall: "read" },
      { code: "UND_ERR_SOCKET" },
      { code: "EPIPE", syscall: "write" },
      { code: "ENOTFOUND", syscall: "getaddrinfo" },
      { code: "ETIMEDOUT", syscall: "read" },
      new Error("other"),
      undefined,
    ])
      expect(isConnectFailure(err)).toBe(false);
  });
});

describe("DifyClient against a refused connection", () => {
  async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as { port: number };
    await new Promise((r) => server.close(r));
    return port;
  }

  it("retries ECONNREFUSED up to maxAttempts, then throws the unreachable error", async () => {
    const port = await closedPort();
    const reasons: string[] = [];
    const client = new DifyClient({
      connectTimeoutMs: 1_000,
      retry: { settings: () => ({ ...SETTINGS, initialBackoffMs: 1, maxBackoffMs: 5, budgetRatio: 1 }), onRetry: (r) => reasons.push(r) },
    });
    const attempts: number[] = [];
    const target = { baseUrl: `http://127.0.0.1:${port}/v1`, key: new Secret("k") };
    const failure = await client
      .openStream(target, "/chat-messages", {}, new AbortController().signal, { onAttempt: (n) => attempts.push(n) })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(DifyUnreachableError);
    expect((failure as Error).message).toBe("Dify is unreachable: ECONNREFUSED");
    expect(attempts).toEqual([1, 2, 3]);
    expect(reasons).toEqual(["connect_error", "connect_error"]);
    await client.close();
  });

  it("without retry hooks (the doctor's probe), tries once", async () => {
    const port = await closedPort();
    const client = new DifyClient({ connectTimeoutMs: 1_000 });
    const attempts: number[] = [];
    const target = { baseUrl: `http://127.0.0.1:${port}/v1`, key: new Secret("k") };
    await client.getJson(target, "/info", new AbortController().signal, { onAttempt: (n) => attempts.push(n) }).catch(() => {});
    expect(attempts).toEqual([1]);
    await client.close();
  });
});
