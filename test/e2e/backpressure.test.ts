import { setTimeout as sleep } from "node:timers/promises";
import { type ClientReadableStream, status } from "@grpc/grpc-js";
import { request } from "undici";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RecordedRequest } from "../../simulator/index.js";
import { collect } from "../helpers/grpc.js";
import { eventually } from "../helpers/processes.js";
import { type Stack, startStack } from "../helpers/stack.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.stop();
});

const TOTAL = 200_000;

/** The gateway's ArrayBuffer and other off-heap memory (prom-client's default process metrics). */
async function gatewayExternalBytes(): Promise<number> {
  const text = await (await request(s.gw.metricsUrl!)).body.text();
  const line = text.split("\n").find((l) => l.startsWith("nodejs_external_memory_bytes "));
  if (!line) throw new Error("the gateway exports no nodejs_external_memory_bytes");
  return Number(line.split(" ")[1]);
}

/** The lowest of a few samples, so short-lived garbage not yet collected does not count as held memory. */
async function heldExternalBytes(): Promise<number> {
  let low = Infinity;
  for (let i = 0; i < 5; i++) {
    low = Math.min(low, await gatewayExternalBytes());
    await sleep(200);
  }
  return low;
}

async function runOnDify(): Promise<RecordedRequest> {
  const run = (await s.sim.requests()).find((r) => r.path === "/v1/chat-messages");
  if (!run) throw new Error("the run has not reached the simulator");
  return run;
}

it("a client that stops reading makes the gateway stop reading from Dify (bounded buffering)", async () => {
  await s.sim.reset();
  const call = s.c.chat.chatInvokeStream(
    { appId: s.appId("chat"), query: "q", inputs: { _sim: { events: TOTAL } }, files: [], user: "slow-reader", conversationId: "" },
    s.md(),
  );
  let received = 0;
  let taskId: unknown;
  const result = collect(call, (m) => {
    received++;
    taskId ??= m.raw?.task_id;
    if (received === 1) call.pause();
  });

  // Dify (the simulator) fills the socket buffers along the way, then its writes stop draining.
  let sent = 0;
  await eventually(async () => {
    sent = (await runOnDify()).eventsSent ?? 0;
    await sleep(300);
    expect(sent).toBeGreaterThan(0);
    expect((await runOnDify()).eventsSent).toBe(sent);
  }, 10_000);
  expect(sent).toBeLessThan(TOTAL / 2);
  expect(received).toBeLessThan(100);

  // Reading again lets Dify go on.
  call.resume();
  await eventually(async () => expect((await runOnDify()).eventsSent).toBeGreaterThan(sent + 5_000), 10_000);

  call.cancel();
  const { error } = await result;
  expect(error?.code).toBe(status.CANCELLED);
  await eventually(async () => expect((await s.sim.requests()).some((r) => r.path === `/v1/chat-messages/${taskId}/stop`)).toBe(true));
});

/**
 * What one stream may hold in the gateway while its reader is stalled: undici's body buffer
 * (STREAM_BODY_HIGH_WATER_MARK, 16 KiB), the socket reads it sits on (libuv reads up to 64 KiB at a time, and
 * a paused parser keeps the unparsed rest of one), and grpc-js's queue (16 messages plus Node's 16 KiB HTTP/2
 * write buffer): ~200 KiB of ArrayBuffers per stream (scripts/experiments/README.md). Off-heap memory as
 * prom-client reports it also counts native allocations; it measured ~0.85 MiB per stream here, so the bound
 * leaves room for that and for garbage not yet collected. A gateway that kept reading would hold the whole
 * run: 200,000 events, ~50 MiB per stream.
 */
const MAX_HELD_PER_STREAM = 4 * 1024 * 1024;
const SLOW_STREAMS = 8;

it("many stalled readers: each stream holds a bounded amount of gateway memory, and Dify's writes stop", async () => {
  await s.sim.reset();
  const before = await heldExternalBytes();
  const calls: ClientReadableStream<unknown>[] = [];
  const results = [];
  for (let i = 0; i < SLOW_STREAMS; i++) {
    const call = s.c.chat.chatInvokeStream(
      { appId: s.appId("chat"), query: "q", inputs: { _sim: { events: TOTAL } }, files: [], user: `stalled-${i}`, conversationId: "" },
      s.md(),
    );
    calls.push(call);
    results.push(collect(call, (_m, all) => all.length === 1 && call.pause()));
  }

  // Every run reaches Dify, and Dify's writes for all of them stop well short of the run.
  let sent: number[] = [];
  await eventually(async () => {
    const runs = (await s.sim.runs()).filter((r) => r.path === "/v1/chat-messages");
    expect(runs).toHaveLength(SLOW_STREAMS);
    sent = runs.map((r) => r.eventsSent ?? 0);
    await sleep(500);
    const later = (await s.sim.runs()).filter((r) => r.path === "/v1/chat-messages").map((r) => r.eventsSent ?? 0);
    expect(sent.every((n) => n > 0)).toBe(true);
    expect(later).toEqual(sent);
  }, 90_000);
  for (const n of sent) expect(n).toBeLessThan(TOTAL / 2);

  const held = (await heldExternalBytes()) - before;
  expect(held / SLOW_STREAMS).toBeLessThan(MAX_HELD_PER_STREAM);

  for (const call of calls) call.cancel();
  for (const r of await Promise.all(results)) expect(r.error?.code).toBe(status.CANCELLED);
}, 120_000);
