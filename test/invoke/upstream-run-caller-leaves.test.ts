import pino from "pino";
import { describe, expect, it } from "vitest";
import { Secret } from "../../src/config/secret.js";
import type { DifyClient } from "../../src/dify/client.js";
import { UpstreamRun } from "../../src/invoke/upstream-run.js";

const SETTINGS = { idleTimeoutMs: 60_000, maxEventBytes: 1024, stopTimeoutMs: 2_000, maxAnswerBytes: 1 << 20 };

/** A Dify whose run answers after `headersMs`, then sends `chunks` at their times; stop calls are recorded. */
function fakeDify(headersMs: number, chunks: { atMs: number; text: string }[]) {
  const stops: string[] = [];
  const client = {
    async openStream(_t: unknown, _p: string, _b: object, signal: AbortSignal) {
      await new Promise((r) => setTimeout(r, headersMs));
      if (signal.aborted) throw signal.reason;
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

function run(client: DifyClient) {
  return new UpstreamRun(
    {
      kind: "chat",
      target: { baseUrl: "http://dify", key: new Secret("app-key") },
      runPath: "/chat-messages",
      stopPath: (id) => `/chat-messages/${id}/stop`,
      body: {},
      user: "u",
    },
    client,
    SETTINGS,
    pino({ level: "silent" }),
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

  it("gives up after stopTimeoutMs when no event ever names the run", async () => {
    const dify = fakeDify(0, [{ atMs: 5_000, text: event("t-4") }]);
    const r = run(dify.client);
    const t0 = Date.now();
    await leaveAfter(r, 50);
    await new Promise((res) => setTimeout(res, SETTINGS.stopTimeoutMs + 300));
    expect(dify.stops).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(SETTINGS.stopTimeoutMs + 1_000);
  });
});
