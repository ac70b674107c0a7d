/** The `inputs._sim.fault` directives: each reproduces an upstream failure a gateway must survive. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppMode, Simulator } from "../../simulator/index.js";
import {
  appOf,
  bodyFor,
  call,
  dataOf,
  eventNames,
  GENERATION_PATH,
  generateJson,
  type Json,
  stream,
  streamedAnswer,
  withSimulator,
} from "./helpers.js";

let sim: Simulator;
beforeAll(async () => {
  sim = await withSimulator({ pingIntervalMs: 25 });
});
afterAll(async () => {
  await sim.close();
});

function withFault(mode: AppMode, directives: Json, extra: Json = {}): Json {
  return bodyFor(mode, { inputs: { query: "q", _sim: directives }, ...extra });
}

function deltasOf(events: Json[]): Json[] {
  return events.filter((e) => ["message", "agent_message", "text_chunk"].includes(String(e["event"])));
}

describe("before the stream", () => {
  it("http_error answers Dify's JSON envelope with the given status, code, message and headers", async () => {
    for (const [status, code] of [
      [429, "too_many_requests"],
      [429, "rate_limit_error"],
      [400, "provider_quota_exceeded"],
      [500, "internal_server_error"],
    ] as const) {
      const directives = { fault: "http_error", status, code, message: `simulated ${code}`, headers: { "Retry-After": "1" } };
      const res = await call(sim, "/completion-messages", { key: appOf("completion").key, body: withFault("completion", directives) });
      expect(res.statusCode).toBe(status);
      expect(res.headers["retry-after"]).toBe("1");
      expect(await res.body.json()).toEqual({ code, message: `simulated ${code}`, status });
    }
  });

  it("http_error with body_text answers a proxy-style page", async () => {
    const directives = { fault: "http_error", status: 502, body_text: "<html>Bad Gateway</html>" };
    const res = await call(sim, "/workflows/run", {
      key: appOf("workflow").key,
      body: withFault("workflow", directives, { response_mode: "streaming" }),
    });
    expect(res.statusCode).toBe(502);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(await res.body.text()).toBe("<html>Bad Gateway</html>");
  });

  it("reset with after -1 destroys the socket before any response", async () => {
    await expect(
      call(sim, "/chat-messages", {
        key: appOf("chat").key,
        body: withFault("chat", { fault: "reset", after: -1 }, { response_mode: "streaming" }),
      }),
    ).rejects.toThrow();
  });
});

describe("mid-stream", () => {
  it("error_event: an error without task_id after N deltas; no code unless given; socket held hold_ms", async () => {
    const withCode = await stream(
      sim,
      "chat",
      withFault("chat", { fault: "error_event", after: 2, status: 400, code: "completion_request_error", message: "boom" }),
    );
    expect(eventNames(withCode.events)).toEqual(["message", "message", "error"]);
    expect(withCode.events[2]).toEqual({
      event: "error",
      conversation_id: withCode.events[0]?.["conversation_id"],
      message_id: withCode.events[0]?.["message_id"],
      created_at: withCode.events[0]?.["created_at"],
      code: "completion_request_error",
      status: 400,
      message: "boom",
    });

    const started = performance.now();
    const workerLevel = await stream(
      sim,
      "workflow",
      withFault("workflow", { fault: "error_event", after: 0, status: 500, message: "worker died", hold_ms: 300 }),
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    const error = workerLevel.events.at(-1);
    expect(error).toEqual({ event: "error", workflow_run_id: expect.any(String), status: 500, message: "worker died" });
    expect(workerLevel.raw.endsWith(`data: ${JSON.stringify(error)}\n\n`)).toBe(true); // no pings while held
  });

  it("error_event in blocking mode answers the error as the HTTP status", async () => {
    const res = await generateJson(
      sim,
      "completion",
      withFault("completion", { fault: "error_event", after: 1, status: 400, code: "completion_request_error", message: "boom" }),
    );
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ code: "completion_request_error", message: "boom", status: 400 });
  });

  it("silent: after N deltas nothing at all, not even pings, and the connection stays open", async () => {
    const result = await stream(sim, "chat", withFault("chat", { fault: "silent", after: 2 }), { forMs: 400 });
    expect(result.ending).toBe("cut");
    expect(eventNames(result.events)).toEqual(["message", "message"]);
    expect(result.raw.endsWith(`data: ${JSON.stringify(result.events[1])}\n\n`)).toBe(true);
  });

  it("pings_only: only `event: ping` lines at ping_every_ms, forever", async () => {
    const result = await stream(sim, "chat", withFault("chat", { fault: "pings_only", ping_every_ms: 10 }), {
      until: (raw) => (raw.match(/event: ping/g) ?? []).length >= 5,
    });
    expect(result.ending).toBe("cut");
    expect(result.events).toEqual([]);
    expect(result.frames.every((f) => f.text === "event: ping")).toBe(true);
  });

  it("pings_only with pings: N pings, then nothing at all until the client leaves", async () => {
    const result = await stream(sim, "completion", withFault("completion", { fault: "pings_only", ping_every_ms: 10, pings: 3 }), {
      forMs: 400,
    });
    expect(result.ending).toBe("cut");
    expect(result.events).toEqual([]);
    expect(result.frames.every((f) => f.text === "event: ping")).toBe(true);
    // 3 of ours plus the simulator's own 25 ms pinger until the silence; pings for the whole 400 ms would be ≥ 16.
    expect(result.frames.length).toBeGreaterThanOrEqual(3);
    expect(result.frames.length).toBeLessThanOrEqual(6);
  });

  it("no_terminal: ends the response cleanly after N deltas without a terminal event", async () => {
    const result = await stream(sim, "completion", withFault("completion", { fault: "no_terminal", after: 3 }));
    expect(result.ending).toBe("end");
    expect(eventNames(result.events)).toEqual(["message", "message", "message"]);
  });

  it("reset: destroys the socket after N deltas", async () => {
    const result = await stream(sim, "chat", withFault("chat", { fault: "reset", after: 2 }));
    expect(result.ending).toBe("error");
    expect(eventNames(result.events)).toEqual(["message", "message"]);
  });

  it("message_replace: replaces the answer so far; later deltas append to the replacement", async () => {
    for (const mode of ["chat", "completion"] as const) {
      const directives = { fault: "message_replace", after: 2, answer: "[moderated]" };
      const streamed = await stream(sim, mode, withFault(mode, directives));
      const names = eventNames(streamed.events);
      expect(names.indexOf("message_replace")).toBe(2);
      const after = streamed.events
        .slice(3)
        .filter((e) => e["event"] === "message")
        .map((e) => e["answer"])
        .join("");
      const blocking = await generateJson(sim, mode, withFault(mode, directives));
      expect(blocking.body["answer"]).toBe(`[moderated]${after}`);
    }
  });

  it("malformed_json and no_data_prefix: one broken frame, then the stream goes on", async () => {
    const malformed = await stream(sim, "chat", withFault("chat", { fault: "malformed_json", after: 1 }));
    expect(malformed.frames[1]?.text).toBe("data: {not json");
    expect(eventNames(malformed.events).at(-1)).toBe("message_end");

    const unprefixed = await stream(sim, "chat", withFault("chat", { fault: "no_data_prefix", after: 1 }));
    expect(unprefixed.frames[1]?.text.startsWith('{"event":"message"')).toBe(true);
    expect(eventNames(unprefixed.events).at(-1)).toBe("message_end");
  });

  it("big_event: one delta of exactly `bytes` bytes", async () => {
    const result = await stream(sim, "chat", withFault("chat", { fault: "big_event", bytes: 5_000_000 }));
    const deltas = deltasOf(result.events);
    expect(deltas).toHaveLength(1);
    expect(Buffer.byteLength(String(deltas[0]?.["answer"]))).toBe(5_000_000);
    expect(eventNames(result.events).at(-1)).toBe("message_end");
  });

  it("first_ping: chat and completion open with a ping too", async () => {
    const result = await stream(sim, "completion", withFault("completion", { fault: "first_ping" }));
    expect(result.raw.startsWith("event: ping\n\ndata: ")).toBe(true);
  });

  it("drop_message_end: chat closes without it; a chatflow still sends workflow_finished", async () => {
    const chat = await stream(sim, "chat", withFault("chat", { fault: "drop_message_end" }));
    expect(chat.ending).toBe("end");
    expect(eventNames(chat.events)).not.toContain("message_end");
    const chatflow = await stream(sim, "advanced-chat", withFault("advanced-chat", { fault: "drop_message_end" }));
    expect(eventNames(chatflow.events)).not.toContain("message_end");
    expect(eventNames(chatflow.events).at(-1)).toBe("workflow_finished");
  });
});

describe("workflow outcomes", () => {
  it("workflow_failed (workflow): failed node and run, no error event; blocking is HTTP 200 with status failed", async () => {
    const streamed = await stream(sim, "workflow", withFault("workflow", { fault: "workflow_failed", after: 2, error: "LLM timed out" }));
    const names = eventNames(streamed.events);
    expect(names).not.toContain("error");
    expect(names.slice(-2)).toEqual(["node_finished", "workflow_finished"]);
    expect(dataOf(streamed.events.at(-2))).toMatchObject({ status: "failed", error: "LLM timed out" });
    expect(dataOf(streamed.events.at(-1))).toMatchObject({ status: "failed", error: "LLM timed out" });

    const blocking = await generateJson(sim, "workflow", withFault("workflow", { fault: "workflow_failed", error: "LLM timed out" }));
    expect(blocking.status).toBe(200);
    expect(blocking.body["data"]).toMatchObject({ status: "failed", error: "LLM timed out", outputs: null });
  });

  it('workflow_failed (advanced-chat): workflow_finished failed, then error invalid_param "Run failed: …", no message_end', async () => {
    const streamed = await stream(sim, "advanced-chat", withFault("advanced-chat", { fault: "workflow_failed", error: "LLM timed out" }));
    const names = eventNames(streamed.events);
    expect(names.slice(-2)).toEqual(["workflow_finished", "error"]);
    expect(names).not.toContain("message_end");
    expect(streamed.events.at(-1)).toMatchObject({ code: "invalid_param", status: 400, message: "Run failed: LLM timed out" });

    const blocking = await generateJson(
      sim,
      "advanced-chat",
      withFault("advanced-chat", { fault: "workflow_failed", error: "LLM timed out" }),
    );
    expect(blocking.status).toBe(400);
    expect(blocking.body).toEqual({ code: "invalid_param", message: "Run failed: LLM timed out", status: 400 });
  });

  it('workflow_paused: human_input_required then workflow_paused; blocking workflow is 200 "paused"', async () => {
    for (const mode of ["workflow", "advanced-chat"] as const) {
      const streamed = await stream(sim, mode, withFault(mode, { fault: "workflow_paused" }));
      expect(eventNames(streamed.events).slice(-2)).toEqual(["human_input_required", "workflow_paused"]);
      expect(streamedAnswer(streamed.events)).toContain("Echo from");
    }
    const blocking = await generateJson(sim, "workflow", withFault("workflow", { fault: "workflow_paused" }));
    expect(blocking.status).toBe(200);
    expect(blocking.body["data"]).toMatchObject({
      status: "paused",
      finished_at: null,
      paused_nodes: ["human_input"],
      reasons: [expect.any(Object)],
    });
  });

  it('workflow_stopped: workflow_finished "stopped" after N deltas', async () => {
    const streamed = await stream(sim, "workflow", withFault("workflow", { fault: "workflow_stopped", after: 2 }));
    expect(deltasOf(streamed.events)).toHaveLength(2);
    expect(dataOf(streamed.events.at(-1))).toMatchObject({ status: "stopped" });
    const blocking = await generateJson(sim, "workflow", withFault("workflow", { fault: "workflow_stopped" }));
    expect((blocking.body["data"] as Json)["status"]).toBe("stopped");
  });
});

describe("directives are per request", () => {
  it("a fault on one request leaves the next one alone", async () => {
    await stream(sim, "chat", withFault("chat", { fault: "no_terminal", after: 1 }));
    const normal = await stream(sim, "chat", bodyFor("chat"));
    expect(eventNames(normal.events).at(-1)).toBe("message_end");
  });

  it("works on every generation route", async () => {
    for (const mode of ["chat", "completion", "workflow"] as const) {
      const res = await call(sim, GENERATION_PATH[mode], {
        key: appOf(mode).key,
        body: withFault(mode, { fault: "http_error", status: 503 }),
      });
      expect(res.statusCode).toBe(503);
      await res.body.dump();
    }
  });
});
