import { pino } from "pino";
import type { MockAgent } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Secret } from "../../src/config/secret.js";
import { DifyClient } from "../../src/dify/client.js";
import { DifyHttpError, DifyStreamError } from "../../src/dify/errors.js";
import { BATCH_BYTES, type RunRequest, UpstreamRun } from "../../src/invoke/upstream-run.js";
import type { DifyEvent } from "../../src/sse/decoder.js";
import { APP_KEY, DIFY_ORIGIN, mockDify, sse } from "../core/fakes.js";

const RUN: RunRequest = {
  kind: "chat",
  target: { baseUrl: `${DIFY_ORIGIN}/v1`, key: new Secret(APP_KEY) },
  runPath: "/chat-messages",
  stopPath: (taskId) => `/chat-messages/${taskId}/stop`,
  body: { query: "hi", inputs: {}, response_mode: "streaming", user: "bob" },
  user: "bob",
};
const SETTINGS = { idleTimeoutMs: 5_000, maxEventBytes: 1 << 20, stopTimeoutMs: 1_000, maxAnswerBytes: 1 << 20 };
const MESSAGE = (answer: string) => ({ event: "message", task_id: "task-9", message_id: "m-1", answer });
const END = { event: "message_end", task_id: "task-9", message_id: "m-1", metadata: {} };

let agent: MockAgent;
let runBodies: unknown[];
let stopBodies: unknown[];
let stopResults: string[];

beforeEach(() => {
  agent = mockDify();
  runBodies = [];
  stopBodies = [];
  stopResults = [];
  agent
    .get(DIFY_ORIGIN)
    .intercept({ path: "/v1/chat-messages/task-9/stop", method: "POST" })
    .reply(200, (opts) => {
      stopBodies.push(JSON.parse(String(opts.body)));
      return { result: "success" };
    })
    .persist();
});
afterEach(async () => {
  await agent.close();
});

function replyRun(statusCode: number, body: string): void {
  agent
    .get(DIFY_ORIGIN)
    .intercept({ path: "/v1/chat-messages", method: "POST" })
    .reply(statusCode, (opts) => {
      runBodies.push(JSON.parse(String(opts.body)));
      return body;
    });
}

function newRun(): UpstreamRun {
  const client = new DifyClient({ connectTimeoutMs: 1_000, dispatcher: agent });
  return new UpstreamRun(RUN, client, SETTINGS, pino({ level: "silent" }), { onStop: (r) => stopResults.push(r) });
}

async function collect(run: UpstreamRun, signal = new AbortController().signal): Promise<{ events: DifyEvent[]; error: unknown }> {
  const { batches, error } = await batchesOf(run, signal);
  return { events: batches.flat(), error };
}

/** Reads the run's first batch, then leaves as a cancelling caller does: the call's signal aborts and reading stops. */
async function firstBatchThenLeave(run: UpstreamRun): Promise<readonly DifyEvent[] | undefined> {
  const controller = new AbortController();
  for await (const batch of run.batches(controller.signal)) {
    controller.abort(new Error("client left"));
    return batch;
  }
  return undefined;
}

describe("UpstreamRun against a mocked Dify", () => {
  it("posts the body once, yields the events in order and ends at the terminal event, ignoring what follows", async () => {
    replyRun(200, sse(MESSAGE("a"), MESSAGE("b"), END, MESSAGE("after the end")));
    const run = newRun();
    const { events, error } = await collect(run);
    expect(error).toBeUndefined();
    expect(events.map((e) => e.answer ?? e.event)).toEqual(["a", "b", "message_end"]);
    expect(runBodies).toEqual([RUN.body]);
    expect(run.tracker.taskId).toBe("task-9");
    expect(run.tracker.failure()).toBeUndefined();
    expect(run.stopCalled).toBe(false);
    expect(run.firstEventAt).toBeGreaterThanOrEqual(run.startedAt!);
  });

  it("takes lines ended by a lone CR, the last one too (its CR is known to end it only when the body ends)", async () => {
    replyRun(200, sse(MESSAGE("a"), END).replaceAll("\n", "\r"));
    const run = newRun();
    const { events, error } = await collect(run);
    expect(error).toBeUndefined();
    expect(events.map((e) => e.answer ?? e.event)).toEqual(["a", "message_end"]);
    expect(run.tracker.failure()).toBeUndefined();
    expect(stopBodies).toEqual([]);
  });

  it("reports Dify's error answer with its status and code, and never calls stop (no run started)", async () => {
    replyRun(429, JSON.stringify({ code: "too_many_requests", message: "Too many requests", status: 429 }));
    const { events, error } = await collect(newRun());
    expect(events).toEqual([]);
    expect(error).toBeInstanceOf(DifyHttpError);
    expect(error).toMatchObject({ httpStatus: 429, difyCode: "too_many_requests" });
    expect(stopBodies).toEqual([]);
  });

  it("an HTML page with HTTP 200 (a web UI at the configured URL) fails at once, saying so, not as a stream cut short", async () => {
    agent
      .get(DIFY_ORIGIN)
      .intercept({ path: "/v1/chat-messages", method: "POST" })
      .reply(200, "<!doctype html><html><title>Dify</title>", { headers: { "content-type": "text/html; charset=utf-8" } });
    const { events, error } = await collect(newRun());
    expect(events).toEqual([]);
    expect(error).toBeInstanceOf(DifyStreamError);
    expect(error).toMatchObject({ fault: "malformed", message: expect.stringContaining("an HTML page: is difyBaseUrl Dify's App API") });
    expect(stopBodies).toEqual([]);
  });

  it("a stream that ends before its terminal event is incomplete, and the run is stopped once, as its user", async () => {
    replyRun(200, sse(MESSAGE("a")));
    const run = newRun();
    const { events } = await collect(run);
    expect(events).toHaveLength(1);
    expect(run.tracker.failure()).toBeInstanceOf(DifyStreamError);
    expect(run.stopCalled).toBe(true);
    await expect.poll(() => stopResults).toEqual(["ok"]);
    expect(stopBodies).toEqual([{ user: "bob" }]);
  });

  it("a consumer that leaves after a batch, before the terminal event, stops the run exactly once", async () => {
    replyRun(200, sse(MESSAGE("a"), MESSAGE("b")));
    const run = newRun();
    expect((await firstBatchThenLeave(run))?.map((e) => e.answer)).toEqual(["a", "b"]);
    expect(run.stopCalled).toBe(true);
    await expect.poll(() => stopResults).toEqual(["ok"]);
    await new Promise((r) => setTimeout(r, 50));
    expect(stopBodies).toEqual([{ user: "bob" }]);
  });

  it("a consumer that leaves while the batch holding the terminal event is written leaves a finished run: no stop", async () => {
    replyRun(200, sse(MESSAGE("a"), END));
    const run = newRun();
    expect((await firstBatchThenLeave(run))?.map((e) => e.event)).toEqual(["message", "message_end"]);
    expect(run.tracker.done).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(run.stopCalled).toBe(false);
    expect(stopBodies).toEqual([]);
  });
});

/** A run over a body whose chunks were all received before it is read (`StreamedResponse` holds them queued). */
async function queuedRun(chunks: readonly string[], settings: Partial<typeof SETTINGS> = {}): Promise<UpstreamRun> {
  const { StreamedResponse } = await import("../../src/dify/sse-body.js");
  const body = new StreamedResponse(1 << 20, new AbortController().signal, (err) => err);
  const controller = { aborted: false, paused: false, reason: null, abort() {}, pause() {}, resume() {} };
  body.onRequestStart(controller);
  body.onResponseStart(controller, 200, { "content-type": "text/event-stream" });
  for (const chunk of chunks) body.onResponseData(controller, Buffer.from(chunk));
  body.onResponseEnd();
  const client = { openStream: async () => body } as unknown as DifyClient;
  return new UpstreamRun({ ...RUN, stopPath: undefined }, client, { ...SETTINGS, ...settings }, pino({ level: "silent" }));
}

async function batchesOf(run: UpstreamRun, signal = new AbortController().signal): Promise<{ batches: DifyEvent[][]; error: unknown }> {
  const batches: DifyEvent[][] = [];
  try {
    for await (const batch of run.batches(signal)) batches.push([...batch]);
    return { batches, error: undefined };
  } catch (error) {
    return { batches, error };
  }
}

describe("UpstreamRun: chunks already received", () => {
  it("join one batch, taken without a wait: a reader slower than the idle timeout does not time Dify out", async () => {
    const run = await queuedRun(
      [MESSAGE("a"), MESSAGE("b"), END].map((ev) => sse(ev)),
      { idleTimeoutMs: 30 },
    );
    const batches: unknown[][] = [];
    for await (const batch of run.batches(new AbortController().signal)) {
      batches.push(batch.map((ev) => ev.answer ?? ev.event));
      // Slower than the idle timeout: the gateway's reader, not Dify, is what is slow here.
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    expect(batches).toEqual([["a", "b", "message_end"]]);
    expect(run.tracker.done).toBe(true);
  });

  it("join a batch only while it holds fewer than BATCH_BYTES, and every event arrives once, in order", async () => {
    const chunk = (i: number) => sse(MESSAGE(`${i}`.padEnd(1_000, ".")));
    const count = Math.ceil((3 * BATCH_BYTES) / chunk(0).length);
    const run = await queuedRun([...Array.from({ length: count }, (_, i) => chunk(i)), sse(END)]);
    const { batches, error } = await batchesOf(run);
    expect(error).toBeUndefined();
    expect(batches.length).toBeGreaterThanOrEqual(3);
    // A batch stops taking chunks once it reached the bound: it is over by less than one chunk.
    for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(Math.ceil(BATCH_BYTES / chunk(0).length));
    expect(batches.flat().map((ev) => String(ev.answer ?? ev.event).split(".")[0])).toEqual([
      ...Array.from({ length: count }, (_, i) => `${i}`),
      "message_end",
    ]);
  });

  it("end at the terminal event: what follows it, in its chunk or in the chunks queued behind, is not the run's", async () => {
    const run = await queuedRun([sse(MESSAGE("a")), sse(END, MESSAGE("after")), sse(MESSAGE("later"))]);
    const { batches, error } = await batchesOf(run);
    expect(error).toBeUndefined();
    expect(batches.map((b) => b.map((ev) => ev.answer ?? ev.event))).toEqual([["a", "message_end"]]);
  });

  it("stop at an event Dify sent malformed: the events before it are yielded, then the failure is thrown", async () => {
    const run = await queuedRun([sse(MESSAGE("a")), 'data: {"event": "message", "answer": \n\n', sse(MESSAGE("never"))]);
    const { batches, error } = await batchesOf(run);
    expect(batches.map((b) => b.map((ev) => ev.answer))).toEqual([["a"]]);
    expect(error).toBeInstanceOf(DifyStreamError);
  });
});
