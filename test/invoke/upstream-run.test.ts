import { pino } from "pino";
import type { MockAgent } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Secret } from "../../src/config/secret.js";
import { DifyClient } from "../../src/dify/client.js";
import { DifyHttpError, DifyStreamError } from "../../src/dify/errors.js";
import { type RunRequest, UpstreamRun } from "../../src/invoke/upstream-run.js";
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
  const events: DifyEvent[] = [];
  try {
    for await (const ev of run.events(signal)) events.push(ev);
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
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

  it("reports Dify's error answer with its status and code, and never calls stop (no run started)", async () => {
    replyRun(429, JSON.stringify({ code: "too_many_requests", message: "Too many requests", status: 429 }));
    const { events, error } = await collect(newRun());
    expect(events).toEqual([]);
    expect(error).toBeInstanceOf(DifyHttpError);
    expect(error).toMatchObject({ httpStatus: 429, difyCode: "too_many_requests" });
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

  it("a consumer that leaves after the first event stops the run exactly once", async () => {
    replyRun(200, sse(MESSAGE("a"), MESSAGE("b"), END));
    const run = newRun();
    const controller = new AbortController();
    for await (const ev of run.events(controller.signal)) {
      expect(ev.answer).toBe("a");
      controller.abort(new Error("client left"));
      break;
    }
    expect(run.stopCalled).toBe(true);
    await expect.poll(() => stopResults).toEqual(["ok"]);
    await new Promise((r) => setTimeout(r, 50));
    expect(stopBodies).toEqual([{ user: "bob" }]);
  });
});

describe("UpstreamRun: chunks already received", () => {
  it("are taken without a wait, and a reader slower than the idle timeout does not time Dify out", async () => {
    const { StreamedResponse } = await import("../../src/dify/sse-body.js");
    const body = new StreamedResponse(1 << 20, new AbortController().signal, (err) => err);
    const controller = { aborted: false, paused: false, reason: null, abort() {}, pause() {}, resume() {} };
    body.onRequestStart(controller);
    body.onResponseStart(controller, 200, { "content-type": "text/event-stream" });
    for (const ev of [MESSAGE("a"), MESSAGE("b"), END]) body.onResponseData(controller, Buffer.from(sse(ev)));
    body.onResponseEnd();
    const client = { openStream: async () => body } as unknown as DifyClient;
    const run = new UpstreamRun(RUN, client, { ...SETTINGS, idleTimeoutMs: 30 }, pino({ level: "silent" }));
    const answers: unknown[] = [];
    for await (const ev of run.events(new AbortController().signal)) {
      answers.push(ev.answer);
      // Slower than the idle timeout: the gateway's reader, not Dify, is what is slow here.
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    expect(answers).toEqual(["a", "b", undefined]);
    expect(run.tracker.done).toBe(true);
  });
});
