import { setTimeout as sleep } from "node:timers/promises";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RecordedRequest } from "../../src/simulator/index.js";
import { collect } from "../helpers/grpc.js";
import { eventually } from "../helpers/processes.js";
import { startStack, type Stack } from "../helpers/stack.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.stop();
});

const TOTAL = 200_000;

async function runOnDify(): Promise<RecordedRequest> {
  const run = (await s.sim.requests()).find((r) => r.path === "/v1/chat-messages");
  if (!run) throw new Error("the run has not reached the simulator");
  return run;
}

it("a client that stops reading makes the gateway stop reading from Dify (bounded buffering)", async () => {
  await s.sim.reset();
  const call = s.c.chat.chatInvokeStream({ appId: s.appId("chat"), query: "q", inputs: { _sim: { events: TOTAL } }, files: [], user: "slow-reader", conversationId: "" }, s.md());
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
