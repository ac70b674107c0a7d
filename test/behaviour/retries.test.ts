import { randomUUID } from "node:crypto";
import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, collect, details, unary } from "../helpers/grpc.js";
import { type InProcessStack, startInProcessStack, TOKEN } from "../helpers/in-process.js";

/*
 * Retries before a run starts, against simulator faults that pass (`times`): retried exactly when Dify cannot have
 * started the run, never after a 200 or an event. Faults with `times: 1` would succeed on a second attempt, so a
 * call that fails anyway proves it was not retried. Each call's `_sim` carries its own `key`.
 */

let s: InProcessStack;
beforeAll(async () => {
  // A budget of one retry per request, so the tests here never meet it; the storm below has its own gateway.
  s = await startInProcessStack({ upstream: { retry: { maxAttempts: 3, budgetRatio: 1 } } });
});
afterAll(async () => {
  await s?.stop();
});

const fault = (directives: Record<string, unknown>) => ({ _sim: { key: randomUUID(), ...directives } });
const failed = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (err: ServiceError) => err,
  );

function completion(stack: InProcessStack, inputs: Record<string, unknown>, deadlineMs?: number) {
  return unary(
    stack.c.completion.completionInvoke,
    stack.c.completion,
    { appId: stack.appId("completion"), inputs: { query: "retry", ...inputs }, files: [], user: "u" },
    stack.md(),
    deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs },
  );
}

/** The call's one log line, found by the request's `_sim` key in what Dify received. */
function lastCallLine(stack: InProcessStack) {
  return stack.gw
    .logs()
    .filter((l) => /^call (finished|failed)/.test(String(l.msg)))
    .at(-1);
}

async function metric(stack: InProcessStack, name: string, labels: string): Promise<number> {
  const text = await (await fetch(stack.gw.metricsUrl!)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

describe("retried: Dify cannot have started the run", () => {
  it("one 503 then success → OK with 2 attempts, on the log line and in the metric", async () => {
    await s.sim.reset();
    const before = await metric(s, "dify_gateway_upstream_retries_total", 'reason="http_503"');
    const res = (await completion(s, fault({ fault: "http_error", status: 503, times: 1 }))) as { answer: string };
    expect(res.answer).toContain("retry");
    expect(await s.sim.runs()).toHaveLength(2);
    expect(lastCallLine(s)).toMatchObject({ grpcCode: "OK", attempts: 2 });
    expect(await metric(s, "dify_gateway_upstream_retries_total", 'reason="http_503"')).toBe(before + 1);
  });

  it("429 too_many_requests with Retry-After: 1 → OK, after waiting at least 1 s", async () => {
    await s.sim.reset();
    const started = Date.now();
    await completion(s, fault({ fault: "http_error", status: 429, code: "too_many_requests", headers: { "Retry-After": "1" }, times: 1 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    const [first, second] = await s.sim.runs();
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(990);
    expect(lastCallLine(s)).toMatchObject({ grpcCode: "OK", attempts: 2 });
  });

  it("502 and 504 from a proxy, then success", async () => {
    for (const httpStatus of [502, 504]) {
      await completion(s, fault({ fault: "http_error", status: httpStatus, body_text: "<html>bad gateway</html>", times: 2 }));
      expect(lastCallLine(s)).toMatchObject({ grpcCode: "OK", attempts: 3 });
    }
  });

  it("a fault that outlasts maxAttempts: the last attempt's error, after 3 attempts", async () => {
    await s.sim.reset();
    const err = await failed(completion(s, fault({ fault: "http_error", status: 503, body_text: "down" })));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(details(err).errorInfo?.reason).toBe("HTTP_503");
    expect(await s.sim.runs()).toHaveLength(3);
    expect(lastCallLine(s)).toMatchObject({ grpcCode: "UNAVAILABLE", attempts: 3 });
  });
});

describe("never retried: the run may have started", () => {
  it("a 200 stream cut after its first event fails, though a second attempt would have succeeded", async () => {
    await s.sim.reset();
    const req = { appId: s.appId("chat"), query: "q", inputs: fault({ fault: "reset", after: 1, times: 1 }), files: [], user: "u" };
    const stream = await collect(s.c.chat.chatInvokeStream({ ...req, conversationId: "" }, bearer(TOKEN)));
    expect(stream.messages).toHaveLength(1);
    expect(stream.error?.code).toBe(status.UNAVAILABLE);
    expect(await s.sim.runs()).toHaveLength(1);
  });

  it("a connection reset after the request was written (before any response byte)", async () => {
    await s.sim.reset();
    const err = await failed(completion(s, fault({ fault: "reset", after: -1, times: 1 })));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(await s.sim.runs()).toHaveLength(1);
  });

  it("429 rate_limit_error (a plan quota) and 500", async () => {
    await s.sim.reset();
    await failed(completion(s, fault({ fault: "http_error", status: 429, code: "rate_limit_error", times: 1 })));
    await failed(completion(s, fault({ fault: "http_error", status: 500, times: 1 })));
    expect(await s.sim.runs()).toHaveLength(2);
  });

  it("a Retry-After beyond maxRetryAfterMs: the caller gets the 429 and its RetryInfo at once", async () => {
    await s.sim.reset();
    const started = Date.now();
    const err = await failed(
      completion(s, fault({ fault: "http_error", status: 429, code: "too_many_requests", headers: { "Retry-After": "30" }, times: 1 })),
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(details(err).retryInfo?.retryDelay?.seconds).toBe(30);
    expect(await s.sim.runs()).toHaveLength(1);
  });
});

describe("retries stop at the call's deadline", () => {
  it("no retry whose wait would end after the deadline: the call gets Dify's answer before it", async () => {
    await s.sim.reset();
    const started = Date.now();
    const inputs = fault({ fault: "http_error", status: 429, code: "too_many_requests", headers: { "Retry-After": "1" } });
    const err = await failed(completion(s, inputs, 1_500));
    // One wait of 1 s fitted in the 1.5 s deadline; a second would not have.
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(await s.sim.runs()).toHaveLength(2);
    expect(await metric(s, "dify_gateway_upstream_retries_denied_total", 'cause="deadline",reason="too_many_requests"')).toBeGreaterThan(0);
  });

  it("a caller that leaves during the wait ends the retries: Dify gets no further request", async () => {
    await s.sim.reset();
    const inputs = fault({ fault: "http_error", status: 429, code: "too_many_requests", headers: { "Retry-After": "2" } });
    const call = s.c.completion.completionInvokeStream(
      { appId: s.appId("completion"), inputs: { query: "q", ...inputs }, files: [], user: "u" },
      s.md(),
    );
    const done = collect(call);
    await new Promise((r) => setTimeout(r, 300));
    call.cancel();
    expect((await done).error?.code).toBe(status.CANCELLED);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await s.sim.runs()).toHaveLength(1);
  });
});

describe("the retry budget caps retries under a storm", () => {
  let storm: InProcessStack;
  beforeAll(async () => {
    storm = await startInProcessStack({
      upstream: { retry: { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 50, budgetRatio: 0.1 } },
    });
  });
  afterAll(async () => {
    await storm?.stop();
  });

  it("100 calls that all meet a 503: at most 10 % of them plus 3 are retried", async () => {
    const calls = Array.from({ length: 100 }, () =>
      failed(completion(storm, fault({ fault: "http_error", status: 503, body_text: "down" }))),
    );
    const errors = await Promise.all(calls);
    expect(errors.every((e) => e.code === status.UNAVAILABLE)).toBe(true);
    const runs = (await storm.sim.runs()).length;
    const retries = await metric(storm, "dify_gateway_upstream_retries_total", 'reason="http_503"');
    expect(runs).toBe(100 + retries);
    // Without the budget: 200 retries (maxAttempts 3).
    expect(retries).toBeLessThanOrEqual(10 + 3);
    expect(retries).toBeGreaterThanOrEqual(3);
    expect(await metric(storm, "dify_gateway_upstream_retries_denied_total", 'cause="budget",reason="http_503"')).toBeGreaterThan(0);
  });
});
