/**
 * Issue 12 item 5: every run Dify accepted is stopped exactly once when its caller leaves, also between the
 * run request and Dify's first event (an LLM's time to first token). The upstream answers 200 at once, sends
 * its first event 1.5 s later, then an event every 100 ms until it is stopped. Callers leave at random points
 * from 0 ms to well after the first event: stream cancels and unary deadlines.
 */
import { randomBytes } from "node:crypto";
import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { bearer, collect, unary } from "../helpers/grpc.js";
import { eventually } from "../helpers/processes.js";
import {
  acceptStream,
  HOSTILE_APP,
  HOSTILE_TOKEN,
  type HostileUpstream,
  sleep,
  startHostileGateway,
  startHostileUpstream,
} from "./hostile-upstream.js";

const FIRST_EVENT_MS = 1_500;
const CALLS = 40;

let up: HostileUpstream;
let stack: Awaited<ReturnType<typeof startHostileGateway>>;
beforeAll(async () => {
  up = await startHostileUpstream(async (run) => {
    acceptStream(run);
    await Promise.race([sleep(FIRST_EVENT_MS), run.stopped]);
    // Ten seconds of answer unless stopped: longer than every caller here stays.
    for (let i = 0; i < 100 && !run.closed; i++) {
      run.send({ event: "message", task_id: run.taskId, message_id: "m1", conversation_id: "c1", answer: `w${i} `, created_at: 1 });
      if (await Promise.race([sleep(100).then(() => false), run.stopped.then(() => true)])) break;
    }
    run.send({ event: "message_end", task_id: run.taskId, message_id: "m1", conversation_id: "c1", metadata: {} });
    run.res.end();
  });
  stack = await startHostileGateway(up.url, { upstream: { stopTimeoutMs: 5_000, idleTimeoutMs: 60_000 } });
});
afterAll(async () => {
  await stack?.stop();
  await up?.close();
});

function traced(traceId: string) {
  const md = bearer(HOSTILE_TOKEN);
  md.set("traceparent", `00-${traceId}-${randomBytes(8).toString("hex")}-01`);
  return md;
}

const REQUEST = { appId: HOSTILE_APP, inputs: {}, files: [], user: "u", query: "q", conversationId: "" };

/** One call left after `leaveAtMs`: a stream cancelled by its client, or a unary call whose deadline passes. */
async function leavingCall(i: number, leaveAtMs: number): Promise<{ traceId: string; code: status | undefined; leaveAtMs: number }> {
  const traceId = randomBytes(16).toString("hex");
  if (i % 2 === 0) {
    const call = stack.c.chat.chatInvokeStream(REQUEST, traced(traceId));
    const timer = setTimeout(() => call.cancel(), leaveAtMs);
    const { error } = await collect(call);
    clearTimeout(timer);
    return { traceId, code: error?.code, leaveAtMs };
  }
  try {
    await unary(stack.c.chat.chatInvoke, stack.c.chat, REQUEST, traced(traceId), { deadline: Date.now() + Math.max(1, leaveAtMs) });
    return { traceId, code: status.OK, leaveAtMs };
  } catch (err) {
    return { traceId, code: (err as ServiceError).code, leaveAtMs };
  }
}

it(`${CALLS} callers leaving at random points from 0 ms to after a 1.5 s first event: every accepted run is stopped exactly once`, async () => {
  // Spread evenly over [0, 2.5 s] and shuffled, so both sides of the first event are always covered.
  const points = Array.from({ length: CALLS }, (_, i) => Math.round((i / (CALLS - 1)) * (FIRST_EVENT_MS + 1_000)));
  const results = await Promise.all(points.map((ms, i) => leavingCall(i, ms)));
  for (const r of results) expect([status.CANCELLED, status.DEADLINE_EXCEEDED], `call left at ${r.leaveAtMs} ms`).toContain(r.code);

  await eventually(async () => {
    for (const run of up.runs)
      expect(
        up.stops.filter((t) => t === run.taskId),
        `stops of run ${run.taskId}`,
      ).toHaveLength(1);
    expect(up.stops).toHaveLength(up.runs.length);
  }, 15_000);
  // No stop for a run nobody accepted, and none twice.
  expect(new Set(up.stops).size).toBe(up.stops.length);
  expect(up.stops.every((t) => up.runs.some((r) => r.taskId === t))).toBe(true);

  // The point of the test: most runs were left before their first event existed.
  const byTrace = new Map(results.map((r) => [r.traceId, r]));
  const beforeFirstEvent = up.runs.filter((r) => (byTrace.get(r.traceId)?.leaveAtMs ?? Infinity) < FIRST_EVENT_MS - 200);
  console.info(
    `[cancel-before-first-event] calls ${CALLS}, accepted runs ${up.runs.length}, left before the first event ${beforeFirstEvent.length}, stop calls ${up.stops.length}`,
  );
  expect(up.runs.length).toBeGreaterThanOrEqual(CALLS - 4);
  expect(beforeFirstEvent.length).toBeGreaterThanOrEqual(CALLS / 3);
  expect(stack.gw.proc.json().filter((l) => Number(l.level) >= 40)).toEqual([]);
}, 60_000);
