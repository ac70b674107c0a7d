import { type ServiceError, status } from "@grpc/grpc-js";
import { request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEMO_APPS } from "../../simulator/index.js";
import { sha256 } from "../../src/auth/registry.js";
import { bearer, clients, collect, details, unary } from "../helpers/grpc.js";
import { type InProcessGateway, type InProcessSimulator, startInProcessGateway, startInProcessSimulator } from "../helpers/in-process.js";
import { eventually } from "../helpers/processes.js";
import { RedisServer } from "../helpers/redis.js";

/*
 * Limits shared by replicas through a real redis-server: three gateways in this process, one simulator, one
 * Redis. (The replica killed with calls in flight needs processes: shared-limits-kill.test.ts.)
 */

const chat = DEMO_APPS.find((a) => a.mode === "chat")!;
const TOKENS = ["tok-shared-a-4f3e2d1c", "tok-shared-b-9a8b7c6d"];
const WS = "ws-shared";

let redis: RedisServer;
let sim: InProcessSimulator;
let gateways: { gw: InProcessGateway; c: ReturnType<typeof clients> }[] = [];
let prefix = 0;

beforeAll(async () => {
  redis = await RedisServer.start();
  sim = await startInProcessSimulator();
});
afterEach(async () => {
  for (const { gw, c } of gateways) {
    c.close();
    await gw.close();
  }
  gateways = [];
  if (!(await redis.command("PING").catch(() => ""))) await redis.start();
});
afterAll(async () => {
  await sim?.close();
  await redis?.stop();
});

/** `count` gateways sharing Redis, each with the same limits; every test gets its own key prefix (no leftovers). */
async function replicas(count: number, limits: Record<string, unknown>, redisSettings: Record<string, unknown> = {}) {
  const keyPrefix = `t${++prefix}:`;
  for (let i = 0; i < count; i++) {
    const gw = await startInProcessGateway(
      {
        server: { listen: "127.0.0.1:0" },
        limits: { ...limits, redis: { url: redis.url, keyPrefix, ...redisSettings } },
        workspaces: [
          {
            id: WS,
            difyBaseUrl: sim.url,
            tokens: TOKENS.map((t) => ({ sha256: sha256(t).toString("hex") })),
            apps: [{ appId: chat.appId, key: { env: "CHAT_KEY" }, mode: "chat" }],
          },
        ],
      },
      { CHAT_KEY: chat.key },
    );
    gateways.push({ gw, c: clients(gw.address) });
  }
  return { keyPrefix, inFlight: async () => Number((await redis.command("ZCARD", `${keyPrefix}{${WS}}:leases`)).slice(1)) };
}

/** A chat stream of `events` deltas `delayMs` apart; `first` resolves at its first message or its end. */
function stream(replica: number, events = 100, delayMs = 50) {
  const { c } = gateways[replica]!;
  const call = c.chat.chatInvokeStream(
    { appId: chat.appId, query: "shared", inputs: { _sim: { events, delay_ms: delayMs } }, files: [], user: "u", conversationId: "" },
    bearer(TOKENS[0]!),
  );
  let started!: () => void;
  const first = new Promise<void>((r) => (started = r));
  const done = collect(call, () => started()).finally(() => started());
  return { call, first, done };
}

function ask(replica: number, token = TOKENS[0]!) {
  const { c } = gateways[replica] ?? {};
  if (!c) return Promise.resolve({ err: undefined });
  return unary(
    c.chat.chatInvoke,
    c.chat,
    { appId: chat.appId, query: "shared", inputs: {}, files: [], user: "u", conversationId: "" },
    bearer(token),
  ).then(
    () => ({ err: undefined }),
    (err: ServiceError) => ({ err }),
  );
}

const reason = (err: ServiceError | undefined) => (err ? details(err).errorInfo?.reason : "OK");

async function metric(replica: number, line: string): Promise<number | undefined> {
  const text = await (await request(gateways[replica]!.gw.metricsUrl!)).body.text();
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.split(" ").at(-1));
}

/** Streams started at once; returns those admitted (still running) and the refusals' reasons. */
async function flood(perReplica: number[]) {
  const all = perReplica.flatMap((n, replica) => Array.from({ length: n }, () => stream(replica)));
  await Promise.all(all.map((s) => s.first));
  const settled = await Promise.all(
    all.map((s) => Promise.race([s.done, new Promise<undefined>((r) => setTimeout(() => r(undefined), 300))])),
  );
  const running = all.filter((_, i) => settled[i] === undefined);
  const refused = settled.filter((r) => r?.error).map((r) => reason(r!.error));
  return { running, refused, all };
}

describe("concurrency shared by three replicas", () => {
  const N = 3;

  it(`3N concurrent streams spread over 3 replicas: exactly N in flight, 2N refused, and the count right again after`, async () => {
    const { inFlight } = await replicas(3, { maxConcurrentCallsPerWorkspace: N });
    const first = await flood([N, N, N]);
    expect(first.running).toHaveLength(N);
    expect(first.refused).toEqual(Array(2 * N).fill("WORKSPACE_CONCURRENCY_LIMIT"));
    expect(await inFlight()).toBe(N);
    const perReplica = await Promise.all(
      [0, 1, 2].map((r) => metric(r, `dify_gateway_limit_rejections_total{workspace="${WS}",limit="concurrency"}`)),
    );
    expect(perReplica.reduce<number>((sum, n) => sum + (n ?? 0), 0)).toBe(2 * N);

    for (const s of first.running) s.call.cancel();
    await Promise.all(first.all.map((s) => s.done));
    await eventually(async () => expect(await inFlight()).toBe(0));

    // Released slots are whole again: the next flood gets N once more, wherever the calls land.
    const second = await flood([0, 2 * N, N]);
    expect(second.running).toHaveLength(N);
    expect(second.refused).toHaveLength(2 * N);
    for (const s of second.running) s.call.cancel();
    await Promise.all(second.all.map((s) => s.done));
    await eventually(async () => expect(await inFlight()).toBe(0));
  });
});

/** Script calls Redis has run so far (the limiter's scripts go as EVALSHA, or EVAL the first time). */
async function scriptCalls(): Promise<number> {
  const info = await redis.command("INFO", "commandstats");
  return [...info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

describe("calls that start together on one replica", () => {
  it("are admitted in order by shared script calls: exactly N of 4N in flight, fewer script calls than calls", async () => {
    const N = 3;
    const { inFlight } = await replicas(1, { maxConcurrentCallsPerWorkspace: N });
    const before = await scriptCalls();
    const burst = await flood([4 * N]);
    expect(burst.running).toHaveLength(N);
    expect(burst.refused).toEqual(Array(3 * N).fill("WORKSPACE_CONCURRENCY_LIMIT"));
    expect(await inFlight()).toBe(N);
    for (const s of burst.running) s.call.cancel();
    await Promise.all(burst.all.map((s) => s.done));
    await eventually(async () => expect(await inFlight()).toBe(0));
    // One script call per call and per release would be 4N + N.
    const used = (await scriptCalls()) - before;
    expect(used).toBeLessThan(4 * N);
  });
});

describe("request rate shared by three replicas", () => {
  it("a workspace limited to R calls per minute gets R across the replicas, then WORKSPACE_RATE_LIMIT with RetryInfo", async () => {
    const R = 6;
    await replicas(3, { requestsPerMinutePerWorkspace: R });
    const outcomes = await Promise.all(Array.from({ length: 3 * R }, (_, i) => ask(i % 3)));
    const ok = outcomes.filter((o) => !o.err).length;
    expect(Math.abs(ok - R)).toBeLessThanOrEqual(1);
    const refused = outcomes.filter((o) => o.err).map((o) => o.err!);
    for (const err of refused) {
      expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
      const d = details(err);
      expect(d.errorInfo?.reason).toBe("WORKSPACE_RATE_LIMIT");
      // One call every 60 s / R = 10 s once the burst is spent.
      expect(Number(d.retryInfo?.retryDelay?.seconds ?? 0)).toBeGreaterThan(0);
      expect(Number(d.retryInfo?.retryDelay?.seconds ?? 99)).toBeLessThanOrEqual(10);
      expect(d.quotaFailure?.violations[0]?.subject).toBe(`workspace:${WS}`);
    }
  });

  it("each token has its own rate across the replicas: one token's refusals leave the other's calls whole", async () => {
    const R = 3;
    await replicas(3, { requestsPerMinutePerToken: R });
    const a = await Promise.all(Array.from({ length: 3 * R }, (_, i) => ask(i % 3, TOKENS[0])));
    const b = await Promise.all(Array.from({ length: R }, (_, i) => ask(i % 3, TOKENS[1])));
    expect(Math.abs(a.filter((o) => !o.err).length - R)).toBeLessThanOrEqual(1);
    expect(new Set(a.filter((o) => o.err).map((o) => reason(o.err)))).toEqual(new Set(["TOKEN_RATE_LIMIT"]));
    expect(b.map((o) => reason(o.err))).toEqual(Array(R).fill("OK"));
  });
});

describe("token budget shared by the replicas", () => {
  it("once the simulator's usage reaches the day's budget, the next call on any replica is refused before Dify sees it", async () => {
    await replicas(2, { tokensPerDayPerWorkspace: 1 });
    await sim.reset();
    expect(reason((await ask(0)).err)).toBe("OK");
    const { err } = await ask(1);
    expect(err?.code).toBe(status.RESOURCE_EXHAUSTED);
    const d = details(err!);
    expect(d.errorInfo?.reason).toBe("WORKSPACE_TOKEN_BUDGET");
    expect(d.quotaFailure?.violations[0]).toMatchObject({ subject: `workspace:${WS}` });
    // Until midnight UTC.
    expect(Number(d.retryInfo?.retryDelay?.seconds)).toBeGreaterThan(0);
    expect(Number(d.retryInfo?.retryDelay?.seconds)).toBeLessThanOrEqual(86_400);
    expect(await sim.runs()).toHaveLength(1);
    expect(await metric(1, `dify_gateway_limit_rejections_total{workspace="${WS}",limit="token_budget"}`)).toBe(1);
  });
});

describe("Redis that refuses the gateway's credentials", () => {
  it("says so, naming what to check, rather than that Redis is unreachable", async () => {
    const gw = await startInProcessGateway(
      {
        server: { listen: "127.0.0.1:0" },
        limits: { redis: { url: redis.url.replace("redis://", "redis://nobody@"), password: { env: "REDIS_PW" }, commandTimeoutMs: 300 } },
        workspaces: [
          {
            id: WS,
            difyBaseUrl: sim.url,
            tokens: TOKENS.map((t) => ({ sha256: sha256(t).toString("hex") })),
            apps: [{ appId: chat.appId, key: { env: "CHAT_KEY" }, mode: "chat" }],
          },
        ],
      },
      { CHAT_KEY: chat.key, REDIS_PW: "not-the-password-7f3e" },
    );
    try {
      const warned = gw.logs().filter((l) => l.level === 40 && String(l.msg).startsWith("Redis (limits.redis)"));
      expect(warned.length).toBeGreaterThanOrEqual(1);
      expect(String(warned[0]!.msg)).toContain("refused the gateway: check limits.redis.password, the URL's user and its ACL");
      expect(gw.output()).not.toContain("not-the-password-7f3e");
    } finally {
      await gw.close();
    }
  });
});

describe("Redis that stalls", () => {
  it("an admit given up on while Redis stalled takes no slot once it wakes: the workspace is whole again at once", async () => {
    const { inFlight } = await replicas(2, { maxConcurrentCallsPerWorkspace: 2 }, { onUnavailable: "open", commandTimeoutMs: 200 });
    expect(reason((await ask(0)).err)).toBe("OK");
    redis.pause(true);
    try {
      // Given up on after commandTimeoutMs: served with in-process limits, its admit script still queued in Redis.
      expect(reason((await ask(0)).err)).toBe("OK");
      expect(reason((await ask(1)).err)).toBe("OK");
    } finally {
      redis.pause(false);
    }
    await eventually(async () => expect(await inFlight()).toBe(0), 3_000);
    await eventually(async () => {
      await ask(0);
      expect(await metric(0, "dify_gateway_limiter_redis_up")).toBe(1);
    });
    // Both slots free for new calls, long before the 15 s lease a stray admit would have held.
    const shared = await flood([1, 1]);
    expect(shared.running).toHaveLength(2);
    for (const s of shared.running) s.call.cancel();
    await Promise.all(shared.all.map((s) => s.done));
  });
});

describe("Redis killed mid-load", () => {
  it("open: the replicas keep serving with in-process limits and say so, and share the limit again once Redis is back", async () => {
    await replicas(2, { maxConcurrentCallsPerWorkspace: 2 }, { onUnavailable: "open", commandTimeoutMs: 300 });
    let stop = false;
    const served: string[] = [];
    const load = (async () => {
      for (let i = 0; !stop; i++) served.push(reason((await ask(i % 2)).err) ?? "?");
    })();
    await eventually(async () => expect(served.length).toBeGreaterThan(5));
    await redis.kill();
    const atKill = served.length;
    await eventually(async () => expect(served.length).toBeGreaterThan(atKill + 20), 15_000);
    stop = true;
    await load;
    expect(served.filter((r) => r !== "OK")).toEqual([]);
    expect(await metric(0, "dify_gateway_limiter_redis_up")).toBe(0);
    expect(await metric(0, 'dify_gateway_limiter_redis_unavailable_total{mode="open"}')).toBeGreaterThan(0);
    const warned = gateways[0]!.gw.logs().filter((l) => l.level === 40 && String(l.msg).includes("Redis (limits.redis) unreachable"));
    // One line, not one per call.
    expect(warned).toHaveLength(1);
    // In-process limits meanwhile: each replica admits its own 2.
    const alone = await flood([3, 2]);
    expect(alone.running).toHaveLength(4);
    expect(alone.refused).toEqual(["WORKSPACE_CONCURRENCY_LIMIT"]);
    for (const s of alone.running) s.call.cancel();
    await Promise.all(alone.all.map((s) => s.done));

    await redis.start();
    await eventually(async () => {
      await ask(0);
      await ask(1);
      expect(await metric(0, "dify_gateway_limiter_redis_up")).toBe(1);
      expect(await metric(1, "dify_gateway_limiter_redis_up")).toBe(1);
    }, 15_000);
    // Shared again: 2 on one replica leave nothing for the other.
    const shared = await flood([2, 2]);
    expect(shared.running).toHaveLength(2);
    expect(shared.refused).toEqual(["WORKSPACE_CONCURRENCY_LIMIT", "WORKSPACE_CONCURRENCY_LIMIT"]);
    for (const s of shared.running) s.call.cancel();
    await Promise.all(shared.all.map((s) => s.done));
    expect(gateways[0]!.gw.logs().some((l) => String(l.msg).includes("answers again"))).toBe(true);
  });

  it("closed: calls are refused with UNAVAILABLE LIMITER_UNAVAILABLE while Redis is down, and served once it is back", async () => {
    await replicas(2, {}, { onUnavailable: "closed", commandTimeoutMs: 300 });
    expect(reason((await ask(0)).err)).toBe("OK");
    await redis.kill();
    await sim.reset();
    const { err } = await ask(1);
    expect(err?.code).toBe(status.UNAVAILABLE);
    expect(details(err!).errorInfo?.reason).toBe("LIMITER_UNAVAILABLE");
    expect(details(err!).retryInfo?.retryDelay).toEqual({ seconds: 1, nanos: 0 });
    expect(reason((await ask(0)).err)).toBe("LIMITER_UNAVAILABLE");
    expect(await sim.runs()).toHaveLength(0);
    expect(await metric(1, 'dify_gateway_limiter_redis_unavailable_total{mode="closed"}')).toBeGreaterThan(0);
    await redis.start();
    await eventually(async () => {
      expect(reason((await ask(0)).err)).toBe("OK");
      expect(reason((await ask(1)).err)).toBe("OK");
    }, 15_000);
  });
});
