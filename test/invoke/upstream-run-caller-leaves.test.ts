import pino from "pino";
import { describe, expect, it } from "vitest";
import { Secret } from "../../src/config/secret.js";
import type { DifyClient } from "../../src/dify/client.js";
import { MAX_UNNAMED_RUNS, type RunSettings, UpstreamRun } from "../../src/invoke/upstream-run.js";

const SETTINGS: RunSettings = { idleTimeoutMs: 2_000, maxEventBytes: 1024, stopTimeoutMs: 1_000, maxAnswerBytes: 1 << 20 };

/** A Dify whose run answers after `headersMs`, then sends `chunks` at their times; stop calls are recorded. */
function fakeDify(headersMs: number, chunks: { atMs: number; text: string }[]) {
  const stops: string[] = [];
  const client = {
    async openStream(_t: unknown, _p: string, _b: object, signal: AbortSignal) {
      // Like undici: an abort ends the wait for the response headers at once.
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, headersMs);
        signal.addEventListener("abort", () => (clearTimeout(timer), reject(new Error("aborted"))), { once: true });
      });
      return (async function* () {
        const t0 = Date.now();
        for (const c of chunks) {
          // Like undici: an abort ends the wait for the next chunk at once.
          await new Promise((resolve, reject) => {
            const timer = setTimeout(resolve, Math.max(0, c.atMs - (Date.now() - t0)));
            signal.addEventListener("abort", () => (clearTimeout(timer), reject(new Error("aborted"))), { once: true });
          });
          yield Buffer.from(c.text);
        }
      })();
    },
    async postJson(_t: unknown, path: string) {
      stops.push(path);
      return { result: "success" };
    },
  } as unknown as DifyClient;
  return { client, stops };
}

/** The warn lines a run logged. */
function warnings() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "warn" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

function run(client: DifyClient, settings = SETTINGS, log = pino({ level: "silent" }), tailMs?: number) {
  return new UpstreamRun(
    {
      kind: "chat",
      target: { baseUrl: "http://dify", key: new Secret("app-key") },
      runPath: "/chat-messages",
      stopPath: (id) => `/chat-messages/${id}/stop`,
      body: {},
      user: "u",
      tailMs,
    },
    client,
    settings,
    log,
  );
}

async function leaveAfter(r: UpstreamRun, ms: number): Promise<unknown> {
  const caller = new AbortController();
  setTimeout(() => caller.abort(new Error("caller left")), ms);
  try {
    for await (const _ of r.batches(caller.signal)) {
      // a caller that never finishes reading before it leaves
    }
  } catch (err) {
    return err;
  }
  return undefined;
}

const event = (taskId: string) => `data: {"event":"message","task_id":"${taskId}","answer":"a"}\n\n`;

describe("UpstreamRun: a caller leaving before the first event", () => {
  it("reads on until an event names the run, then stops it once", async () => {
    const dify = fakeDify(10, [
      { atMs: 300, text: event("t-1") },
      { atMs: 350, text: event("t-1") },
    ]);
    const r = run(dify.client);
    expect(((await leaveAfter(r, 100)) as Error).message).toBe("caller left");
    await new Promise((res) => setTimeout(res, 600));
    expect(dify.stops).toEqual(["/chat-messages/t-1/stop"]);
    expect(r.stopCalled).toBe(true);
  });

  it("also when it leaves before Dify's response headers", async () => {
    const dify = fakeDify(200, [{ atMs: 100, text: event("t-2") }]);
    const r = run(dify.client);
    await leaveAfter(r, 20);
    await new Promise((res) => setTimeout(res, 600));
    expect(dify.stops).toEqual(["/chat-messages/t-2/stop"]);
  });

  it("stops nothing twice when the caller leaves after the first event", async () => {
    const dify = fakeDify(0, [
      { atMs: 10, text: event("t-3") },
      { atMs: 2_000, text: event("t-3") },
    ]);
    const r = run(dify.client);
    await leaveAfter(r, 100);
    await new Promise((res) => setTimeout(res, 200));
    expect(dify.stops).toEqual(["/chat-messages/t-3/stop"]);
  });

  it("waits for the response headers past stopTimeoutMs, as long as a caller would (idleTimeoutMs)", async () => {
    // Dify sends its headers with its first event: for a chat app, the model's first token.
    const dify = fakeDify(SETTINGS.stopTimeoutMs + 300, [{ atMs: 10, text: event("t-5") }]);
    const w = warnings();
    const r = run(dify.client, SETTINGS, w.log);
    await leaveAfter(r, 50);
    await new Promise((res) => setTimeout(res, SETTINGS.stopTimeoutMs + 600));
    expect(dify.stops).toEqual(["/chat-messages/t-5/stop"]);
    expect(w.lines).toEqual([]);
  });

  it("gives up after idleTimeoutMs when no event ever names the run, and says so", async () => {
    const dify = fakeDify(0, [{ atMs: 5_000, text: event("t-4") }]);
    const w = warnings();
    const r = run(dify.client, SETTINGS, w.log);
    const t0 = Date.now();
    await leaveAfter(r, 50);
    await new Promise((res) => setTimeout(res, SETTINGS.idleTimeoutMs + 300));
    expect(dify.stops).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(SETTINGS.idleTimeoutMs + 1_000);
    expect(w.lines).toMatchObject([{ why: `no event named it within ${SETTINGS.idleTimeoutMs} ms`, headersReceived: true }]);
  });

  it("says so too when Dify's headers never came", async () => {
    const dify = fakeDify(60_000, []);
    const w = warnings();
    await leaveAfter(run(dify.client, SETTINGS, w.log), 50);
    await new Promise((res) => setTimeout(res, SETTINGS.idleTimeoutMs + 300));
    expect(w.lines).toMatchObject([
      { msg: "the caller left a run Dify may have started, and no event named it: it could not be stopped", headersReceived: false },
    ]);
  });

  it(`holds at most ${MAX_UNNAMED_RUNS} such runs at once; past that, one is given up at once and logged`, async () => {
    const quiet = fakeDify(60_000, []);
    const held = Array.from({ length: MAX_UNNAMED_RUNS }, () => run(quiet.client));
    await Promise.all(held.map((r) => leaveAfter(r, 1)));
    const dify = fakeDify(300, [{ atMs: 10, text: event("t-6") }]);
    const w = warnings();
    await leaveAfter(run(dify.client, SETTINGS, w.log), 1);
    await new Promise((res) => setTimeout(res, 100));
    expect(w.lines).toMatchObject([{ why: `${MAX_UNNAMED_RUNS} runs were already waiting for their first event`, headersReceived: false }]);
    // The held ones give up at their bound; then there is room again.
    await new Promise((res) => setTimeout(res, SETTINGS.idleTimeoutMs + 200));
    const again = fakeDify(100, [{ atMs: 10, text: event("t-7") }]);
    await leaveAfter(run(again.client), 1);
    await new Promise((res) => setTimeout(res, 400));
    expect(again.stops).toEqual(["/chat-messages/t-7/stop"]);
    expect(dify.stops).toEqual([]);
  });
});

describe("UpstreamRun: what Dify sends after the terminal event (a stream's tail)", () => {
  const sent = (name: string) => `data: {"event":"${name}","task_id":"t-9","answer":"a"}\n\n`;
  // message_end, then the rest of an auto-played answer's audio and its end, then a socket Dify keeps open.
  const chunks = [
    { atMs: 10, text: sent("message") + sent("message_end") + sent("tts_message") },
    { atMs: 100, text: sent("tts_message") },
    { atMs: 200, text: sent("tts_message_end") },
    { atMs: 60_000, text: sent("never") },
  ];

  async function events(r: UpstreamRun): Promise<string[]> {
    const names: string[] = [];
    for await (const batch of r.batches(new AbortController().signal)) for (const ev of batch) names.push(ev.event);
    return names;
  }

  it("a stream forwards it for at most tailMs, and the run stays finished: no stop", async () => {
    const dify = fakeDify(0, chunks);
    const t0 = Date.now();
    const r = run(dify.client, SETTINGS, pino({ level: "silent" }), 500);
    expect(await events(r)).toEqual(["message", "message_end", "tts_message", "tts_message", "tts_message_end"]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(r.tracker.failure()).toBeUndefined();
    await new Promise((res) => setTimeout(res, 50));
    expect(dify.stops).toEqual([]);
  });

  it("a unary call (no tailMs) ends at the terminal event", async () => {
    const dify = fakeDify(0, chunks);
    const t0 = Date.now();
    expect(await events(run(dify.client))).toEqual(["message", "message_end"]);
    expect(Date.now() - t0).toBeLessThan(300);
  });

  it("an error event has no tail: a stream ends at once even if Dify holds the socket open", async () => {
    const error = `data: {"event":"error","status":500,"message":"worker died"}\n\n`;
    const dify = fakeDify(0, [
      { atMs: 10, text: sent("message") + error + sent("tts_message") },
      { atMs: 60_000, text: sent("never") },
    ]);
    const t0 = Date.now();
    const r = run(dify.client, SETTINGS, pino({ level: "silent" }), 5_000);
    expect(await events(r)).toEqual(["message", "error"]);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(r.tracker.failure()?.message).toMatch(/worker died/);
  });
});
