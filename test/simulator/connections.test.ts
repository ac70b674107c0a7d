/**
 * How the simulator's SSE responses treat their connection (kept alive like Dify behind nginx, or closed), and
 * the pre-encoded producer the bench's slow-reader case relies on.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import type { Simulator } from "../../simulator/index.js";
import { appOf, bodyFor, type Json, parseFrames, readStream, withSimulator } from "./helpers.js";

let sims: Simulator[] = [];
afterEach(async () => {
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
});

async function simulator(options: Parameters<typeof withSimulator>[0] = {}): Promise<Simulator> {
  const sim = await withSimulator(options);
  sims.push(sim);
  return sim;
}

/** Runs `count` completion streams one after another over one undici Client; returns how many TCP connections it made. */
async function streamsOverOneClient(sim: Simulator, count: number, sim_: Json = {}) {
  const origin = new URL(sim.url).origin;
  const client = new Client(origin);
  let connects = 0;
  client.on("connect", () => connects++);
  const headers: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const res = await client.request({
        path: "/v1/completion-messages",
        method: "POST",
        headers: { authorization: `Bearer ${appOf("completion").key}`, "content-type": "application/json" },
        body: JSON.stringify({
          ...bodyFor("completion", { inputs: { query: "q", _sim: { events: 3, ...sim_ } } }),
          response_mode: "streaming",
        }),
      });
      headers.push(String(res.headers.connection ?? ""));
      const { raw } = await readStream(res.body);
      expect(parseFrames(raw).at(-1)?.event?.["event"]).toBe("message_end");
    }
  } finally {
    await client.close();
  }
  return { connects, headers };
}

describe("connections after an SSE response", () => {
  it("are kept alive by default, as Dify behind nginx keeps them", async () => {
    const { connects, headers } = await streamsOverOneClient(await simulator(), 3);
    expect(connects).toBe(1);
    expect(headers.every((h) => h !== "close")).toBe(true);
  });

  it("are closed after every stream with connectionClose (--connection-close)", async () => {
    const { connects, headers } = await streamsOverOneClient(await simulator({ connectionClose: true }), 3);
    expect(connects).toBe(3);
    expect(headers).toEqual(["close", "close", "close"]);
  });

  it("follow `_sim.connection` over the server's default, both ways", async () => {
    expect((await streamsOverOneClient(await simulator(), 2, { connection: "close" })).connects).toBe(2);
    expect((await streamsOverOneClient(await simulator({ connectionClose: true }), 2, { connection: "keep-alive" })).connects).toBe(1);
  });
});

describe('`_sim.producer: "preencoded"`', () => {
  const post = (sim: Simulator, mode: "chat" | "completion", directives: Json) =>
    new Client(new URL(sim.url).origin).request({
      path: mode === "chat" ? "/v1/chat-messages" : "/v1/completion-messages",
      method: "POST",
      headers: { authorization: `Bearer ${appOf(mode).key}`, "content-type": "application/json" },
      body: JSON.stringify({ ...bodyFor(mode, { inputs: { query: "q", _sim: directives } }), response_mode: "streaming" }),
    });

  it("sends N deltas of answer_bytes each, then message_end, like a filler run", async () => {
    const sim = await simulator();
    for (const mode of ["chat", "completion"] as const) {
      const res = await post(sim, mode, { events: 5, delay_ms: 1, producer: "preencoded", answer_bytes: 300 });
      const events = parseFrames((await readStream(res.body)).raw).flatMap((f) => (f.event ? [f.event] : []));
      expect(events.map((e) => e["event"])).toEqual([...Array(5).fill("message"), "message_end"]);
      expect(events.slice(0, 5).every((e) => e["answer"] === "w".repeat(300) && typeof e["task_id"] === "string")).toBe(true);
      expect(events[5]?.["metadata"]).toMatchObject({ usage: { completion_tokens: 5 } });
    }
  });

  it("stops writing while nobody reads: what it has sent stays put, far below the run's length", async () => {
    const sim = await simulator();
    // 64 KiB deltas every ms: the kernel's socket buffers fill within a fraction of a second.
    const res = await post(sim, "completion", { events: 100_000, delay_ms: 1, producer: "preencoded", answer_bytes: 65_536 });
    const sent = () => sim.requests().find((r) => r.path === "/v1/completion-messages")?.eventsSent ?? 0;
    let last = -1;
    for (let i = 0; i < 100 && sent() !== last; i++) {
      last = sent();
      await sleep(500);
    }
    expect(sent()).toBe(last);
    expect(last).toBeGreaterThan(0);
    expect(last).toBeLessThan(1_000);
    res.body.destroy();
  });

  it("is refused where it cannot stand for the run: without events, with a fault, or for a workflow app", async () => {
    const sim = await simulator();
    for (const directives of [
      { producer: "preencoded" },
      { events: 3, producer: "preencoded", fault: "stop_fails" },
      { events: 3, producer: "other" },
    ]) {
      const res = await post(sim, "completion", directives);
      expect(res.statusCode).toBe(400);
      await res.body.dump();
    }
  });
});
