import { writeFileSync } from "node:fs";
import { type ClientReadableStream, type ServiceError, status } from "@grpc/grpc-js";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChatInvokeStreamResponse } from "../../generated/dify/app/v1/chat.js";
import { DEMO_APPS } from "../../simulator/index.js";
import { sha256 } from "../../src/auth/registry.js";
import { bearer, clients, collect, details, type StreamResult, unary } from "../helpers/grpc.js";
import {
  eventually,
  type GatewayProcess,
  type SimulatorProcess,
  startGatewayProcess,
  startSimulatorProcess,
} from "../helpers/processes.js";

const chat = DEMO_APPS.find((a) => a.mode === "chat")!;
const TOKENS = { flood: "tok-flood-0a9b8c7d6e5f", calm: "tok-calm-1b2c3d4e5f6a", solo: "tok-solo-2c3d4e5f6a7b" };
const FLOOD_LIMIT = 3;
const FLOOD_CALLS = 10;

let sim: SimulatorProcess;
let gw: GatewayProcess;
let c: ReturnType<typeof clients>;

const config = (soloLimit: number) => ({
  server: { listen: "127.0.0.1:0" },
  limits: { maxConcurrentCallsPerWorkspace: 4 },
  workspaces: (["flood", "calm", "solo"] as const).map((id) => ({
    id,
    difyBaseUrl: sim.url,
    tokens: [{ sha256: sha256(TOKENS[id]).toString("hex") }],
    ...(id === "flood" ? { maxConcurrentCalls: FLOOD_LIMIT } : id === "solo" ? { maxConcurrentCalls: soloLimit } : {}),
    apps: [{ appId: chat.appId, key: { env: "CHAT_KEY" }, mode: "chat" }],
  })),
});

beforeAll(async () => {
  sim = await startSimulatorProcess();
  gw = await startGatewayProcess(config(1), { CHAT_KEY: chat.key });
  c = clients(gw.address);
});
afterAll(async () => {
  c?.close();
  await gw?.proc.stop();
  await sim?.proc.stop();
});

type Ws = keyof typeof TOKENS;
/** A chat stream of `events` deltas `delayMs` apart; `first` resolves at its first message or its end. */
function stream(ws: Ws, events: number, delayMs: number, deadlineMs?: number) {
  const call = c.chat.chatInvokeStream(
    {
      appId: chat.appId,
      query: "limit",
      inputs: { _sim: { events, delay_ms: delayMs } },
      files: [],
      user: `${ws}-user`,
      conversationId: "",
    },
    bearer(TOKENS[ws]),
    deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs },
  );
  let started!: () => void;
  const first = new Promise<void>((r) => (started = r));
  const done = collect(call, () => started()).finally(() => started());
  return { call: call as ClientReadableStream<ChatInvokeStreamResponse>, first, done };
}

function ask(ws: Ws, sim: Record<string, unknown> = {}) {
  return unary(
    c.chat.chatInvoke,
    c.chat,
    { appId: chat.appId, query: "limit", inputs: { _sim: sim }, files: [], user: `${ws}-user`, conversationId: "" },
    bearer(TOKENS[ws]),
  ).then(
    (res) => ({ res, err: undefined }),
    (err: ServiceError) => ({ res: undefined, err }),
  );
}

async function metric(line: string): Promise<number | undefined> {
  const text = await (await request(gw.metricsUrl!)).body.text();
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.split(" ").at(-1));
}

function expectLimited(err: ServiceError | undefined, workspace: string, limit: number) {
  expect(err?.code).toBe(status.RESOURCE_EXHAUSTED);
  const d = details(err!);
  expect(d.errorInfo?.reason).toBe("WORKSPACE_CONCURRENCY_LIMIT");
  expect(d.errorInfo?.metadata).toEqual({ workspace, limit: String(limit) });
  expect(d.retryInfo?.retryDelay).toEqual({ seconds: 1, nanos: 0 });
  expect(d.quotaFailure?.violations[0]?.subject).toBe(`workspace:${workspace}`);
}

describe("one workspace flooding does not starve another", () => {
  let flood: ReturnType<typeof stream>[];
  let floodResults: StreamResult<ChatInvokeStreamResponse>[];

  it(`admits ${FLOOD_LIMIT} of ${FLOOD_CALLS} concurrent streams, refuses the rest with RESOURCE_EXHAUSTED and RetryInfo, and serves the other workspace meanwhile`, async () => {
    await sim.reset();
    const started = performance.now();
    // 100 deltas 50 ms apart: about 5 s, so the admitted streams hold their slots throughout.
    flood = Array.from({ length: FLOOD_CALLS }, () => stream("flood", 100, 50));
    await Promise.all(flood.map((f) => f.first));
    const settled = await Promise.all(
      flood.map((f) => Promise.race([f.done, new Promise<undefined>((r) => setTimeout(() => r(undefined), 200))])),
    );
    const refused = settled.filter((r) => r?.error);
    expect(refused).toHaveLength(FLOOD_CALLS - FLOOD_LIMIT);
    for (const r of refused) {
      expectLimited(r!.error, "flood", FLOOD_LIMIT);
      expect(r!.messages).toEqual([]);
    }
    expect(await metric('dify_gateway_workspace_calls_in_flight{workspace="flood"}')).toBe(FLOOD_LIMIT);
    // Unary calls count too.
    expectLimited((await ask("flood")).err, "flood", FLOOD_LIMIT);

    // The other workspace, at its own limit of 4 (the global default here): 3 streams and a unary call, all served.
    const calm = [stream("calm", 5, 10), stream("calm", 5, 10), stream("calm", 5, 10)];
    const [calmUnary, ...calmStreams] = await Promise.all([ask("calm"), ...calm.map((s) => s.done)]);
    expect(calmUnary.err).toBeUndefined();
    expect(calmUnary.res?.answer).not.toBe("");
    for (const r of calmStreams) {
      expect(r.error).toBeUndefined();
      expect(r.messages.at(-1)?.event).toBe("message_end");
    }
    // The flood's admitted streams were still running all along.
    expect(await metric('dify_gateway_workspace_calls_in_flight{workspace="flood"}')).toBe(FLOOD_LIMIT);

    floodResults = await Promise.all(flood.map((f) => f.done));
    const ms = Math.round(performance.now() - started);
    console.log(
      `flood test: ${FLOOD_CALLS} concurrent streams at limit ${FLOOD_LIMIT}: ${refused.length} refused (+1 unary), took ${ms} ms`,
    );
  });

  it("lets the admitted streams finish whole", () => {
    const ok = floodResults.filter((r) => !r.error);
    expect(ok).toHaveLength(FLOOD_LIMIT);
    for (const r of ok) {
      expect(r.messages.filter((m) => m.event === "message")).toHaveLength(100);
      expect(r.messages.at(-1)?.event).toBe("message_end");
    }
  });

  it("sends nothing to Dify for a refused call", async () => {
    const bodies = (await sim.runs()).map((r) => (r.body as { user?: string }).user);
    expect(bodies.filter((u) => u === "flood-user")).toHaveLength(FLOOD_LIMIT);
    expect(bodies.filter((u) => u === "calm-user")).toHaveLength(4);
    expect(await metric('dify_gateway_concurrency_rejections_total{workspace="flood"}')).toBe(FLOOD_CALLS - FLOOD_LIMIT + 1);
    expect(await metric('dify_gateway_concurrency_rejections_total{workspace="calm"}')).toBeUndefined();
  });

  it("frees the slots when the streams end", async () => {
    expect(await metric('dify_gateway_workspace_calls_in_flight{workspace="flood"}')).toBe(0);
    expect((await ask("flood")).err).toBeUndefined();
  });
});

describe("a slot is given back exactly once, however the call ends (limit 1)", () => {
  /** The call's one log line: once it is out, the handler has settled and released its slot. */
  const settled = (since: number, codes: string[]) =>
    gw.proc.waitForLine(
      (l) => gw.proc.lines.indexOf(l) >= since && l.includes('"workspace":"solo"') && codes.some((c) => l.includes(`"grpcCode":"${c}"`)),
    );
  const free = async () => {
    expect(await metric('dify_gateway_workspace_calls_in_flight{workspace="solo"}')).toBe(0);
    const { err } = await ask("solo");
    expect(err).toBeUndefined();
  };

  it("OK", async () => {
    expect((await ask("solo")).err).toBeUndefined();
    await free();
  });

  it("an upstream error", async () => {
    expect((await ask("solo", { fault: "http_error", status: 500 })).err?.code).toBe(status.INTERNAL);
    await free();
  });

  it("a client cancel", async () => {
    const since = gw.proc.lines.length;
    const s = stream("solo", 200, 50);
    await s.first;
    s.call.cancel();
    await settled(since, ["CANCELLED"]);
    await free();
  });

  it("a deadline", async () => {
    const since = gw.proc.lines.length;
    const s = stream("solo", 200, 50, 600);
    expect((await s.done).error?.code).toBe(status.DEADLINE_EXCEEDED);
    // The client's RST_STREAM at its deadline can reach the server just before the server's own deadline, which it then logs as a cancel.
    await settled(since, ["DEADLINE_EXCEEDED", "CANCELLED"]);
    await free();
  });

  it("and the limit still holds afterwards: a second concurrent call is refused", async () => {
    const held = stream("solo", 200, 50);
    await held.first;
    expectLimited((await ask("solo")).err, "solo", 1);
    held.call.cancel();
  });
});

describe("the limit is reloadable", () => {
  it("SIGHUP with a higher limit admits more concurrent calls from the next call on", async () => {
    writeFileSync(gw.configFile, JSON.stringify({ metrics: { listen: "127.0.0.1:0" }, ...config(2) }));
    const before = gw.proc.lines.length;
    gw.proc.child.kill("SIGHUP");
    await gw.proc.waitForLine((l) => gw.proc.lines.indexOf(l) >= before && l.includes("config reloaded"));
    // The previous test's held stream is cancelled, not necessarily settled yet.
    await eventually(async () => expect(await metric('dify_gateway_workspace_calls_in_flight{workspace="solo"}')).toBe(0));
    const a = stream("solo", 200, 50);
    const b = stream("solo", 200, 50);
    await Promise.all([a.first, b.first]);
    expectLimited((await ask("solo")).err, "solo", 2);
    a.call.cancel();
    b.call.cancel();
    expect((await a.done).error?.code).toBe(status.CANCELLED);
    expect((await b.done).error?.code).toBe(status.CANCELLED);
  });
});
