import { afterAll, beforeAll, expect, it } from "vitest";
import { DEMO_APPS } from "../../simulator/index.js";
import { sha256 } from "../../src/auth/registry.js";
import { bearer, clients, collect, details } from "../helpers/grpc.js";
import { type GatewayProcess, type SimulatorProcess, startGatewayProcess, startSimulatorProcess } from "../helpers/processes.js";
import { RedisServer } from "../helpers/redis.js";

/*
 * A replica SIGKILLed with calls in flight cannot release its slots: they are leases, renewed by its heartbeat,
 * and free themselves within one lease (limits.redis.leaseMs) once the heartbeat stops.
 */

const chat = DEMO_APPS.find((a) => a.mode === "chat")!;
const TOKEN = "tok-kill-7e6d5c4b3a29";
const N = 3;
const LEASE_MS = 3_000;

let redis: RedisServer;
let sim: SimulatorProcess;
let doomed: GatewayProcess;
let survivor: GatewayProcess;

const config = () => ({
  server: { listen: "127.0.0.1:0" },
  limits: { maxConcurrentCallsPerWorkspace: N, redis: { url: redis.url, leaseMs: LEASE_MS } },
  workspaces: [
    {
      id: "ws-kill",
      difyBaseUrl: sim.url,
      tokens: [{ sha256: sha256(TOKEN).toString("hex") }],
      apps: [{ appId: chat.appId, key: { env: "CHAT_KEY" }, mode: "chat" }],
    },
  ],
});

beforeAll(async () => {
  redis = await RedisServer.start();
  sim = await startSimulatorProcess();
  [doomed, survivor] = await Promise.all([
    startGatewayProcess(config(), { CHAT_KEY: chat.key }),
    startGatewayProcess(config(), { CHAT_KEY: chat.key }),
  ]);
});
afterAll(async () => {
  await doomed?.proc.stop();
  await survivor?.proc.stop();
  await sim?.proc.stop();
  await redis?.stop();
});

function stream(gw: GatewayProcess, c: ReturnType<typeof clients>) {
  const call = c.chat.chatInvokeStream(
    { appId: chat.appId, query: "kill", inputs: { _sim: { events: 600, delay_ms: 50 } }, files: [], user: "u", conversationId: "" },
    bearer(TOKEN),
  );
  let started!: () => void;
  const first = new Promise<void>((r) => (started = r));
  const done = collect(call, () => started()).finally(() => started());
  return { call, first, done, gw };
}

const inFlight = async () => Number((await redis.command("ZCARD", "dify-gw:{ws-kill}:leases")).slice(1));

it(`frees the slots of a replica SIGKILLed with ${N} calls in flight within the lease (${LEASE_MS} ms)`, async () => {
  const doomedClient = clients(doomed.address);
  const survivorClient = clients(survivor.address);
  const held = Array.from({ length: N }, () => stream(doomed, doomedClient));
  await Promise.all(held.map((s) => s.first));
  expect(await inFlight()).toBe(N);
  // Held across a heartbeat or two: the leases are renewed, not merely young.
  await new Promise((r) => setTimeout(r, LEASE_MS * 1.5));
  expect(await inFlight()).toBe(N);
  const refused = await collect(stream(survivor, survivorClient).call);
  expect(details(refused.error!).errorInfo?.reason).toBe("WORKSPACE_CONCURRENCY_LIMIT");

  await doomed.proc.stop("SIGKILL");
  const killedAt = performance.now();
  // Poll the survivor, as a client retrying would: the first call admitted marks the slots free.
  let admitted: ReturnType<typeof stream> | undefined;
  while (!admitted && performance.now() - killedAt < LEASE_MS * 3) {
    const s = stream(survivor, survivorClient);
    await s.first;
    const early = await Promise.race([s.done, new Promise<undefined>((r) => setTimeout(() => r(undefined), 100))]);
    if (early === undefined) admitted = s;
    else await new Promise((r) => setTimeout(r, 100));
  }
  const freedAfterMs = performance.now() - killedAt;
  expect(admitted).toBeDefined();
  // Within one lease of the last renewal; the polling adds up to ~0.3 s.
  expect(freedAfterMs).toBeLessThanOrEqual(LEASE_MS + 1_000);
  console.log(`slots freed ${Math.round(freedAfterMs)} ms after SIGKILL (lease ${LEASE_MS} ms)`);
  // All N are back, not just one.
  const more = Array.from({ length: N - 1 }, () => stream(survivor, survivorClient));
  await Promise.all(more.map((s) => s.first));
  expect(await inFlight()).toBe(N);
  for (const s of [admitted!, ...more]) s.call.cancel();
  await Promise.all([admitted!, ...more].map((s) => s.done));
  doomedClient.close();
  survivorClient.close();
});
