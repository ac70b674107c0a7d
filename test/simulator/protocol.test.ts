/** Wire-level quirks of Dify's App API that the simulator must reproduce (docs/dify-upstream.md). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppMode, Simulator } from "../../simulator/index.js";
import { ALL_MODES, appOf, bodyFor, call, eventNames, generateJson, type Json, stream, withSimulator } from "./helpers.js";

let sim: Simulator;
beforeAll(async () => {
  sim = await withSimulator();
});
afterAll(async () => {
  await sim.close();
});

const TERMINAL: Record<AppMode, string> = {
  chat: "message_end",
  "agent-chat": "message_end",
  agent: "message_end",
  completion: "message_end",
  "advanced-chat": "workflow_finished",
  workflow: "workflow_finished",
};

describe("SSE framing", () => {
  for (const mode of ALL_MODES) {
    it(`${mode}: one compact \`data:\` line per event, bare pings, no [DONE]/id/retry, closed after the terminal event`, async () => {
      const result = await stream(sim, mode, bodyFor(mode));
      expect(result.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
      expect(result.raw).not.toContain("[DONE]");
      expect(result.raw).not.toMatch(/^(id|retry):/m);
      expect(result.raw.endsWith("\n\n")).toBe(true);
      for (const frame of result.frames) {
        expect(frame.text.includes("\n")).toBe(false);
        if (frame.event) expect(frame.text).toBe(`data: ${JSON.stringify(frame.event)}`);
        else expect(frame.text).toBe("event: ping");
      }
      expect(result.ending).toBe("end");
      expect(result.events.at(-1)?.["event"]).toBe(TERMINAL[mode]);
    });
  }

  it("writes non-ASCII as raw UTF-8, not \\u escapes", async () => {
    const result = await stream(sim, "chat", bodyFor("chat", { query: "naïve 日本" }));
    expect(result.raw).toContain("café");
    expect(result.raw).toContain("🚀");
    expect(result.raw).toContain("日本");
    expect(result.raw).not.toMatch(/\\u[0-9a-f]{4}/i);
  });

  it("workflow and advanced-chat streams start with `event: ping` before any data", async () => {
    for (const mode of ["workflow", "advanced-chat"] as const) {
      const result = await stream(sim, mode, bodyFor(mode));
      expect(result.raw.startsWith("event: ping\n\ndata: ")).toBe(true);
    }
    for (const mode of ["chat", "completion", "agent-chat", "agent"] as const) {
      const result = await stream(sim, mode, bodyFor(mode));
      expect(result.raw.startsWith("data: ")).toBe(true);
    }
  });

  it("sends `event: ping` every pingIntervalMs while the stream is open, in every mode", async () => {
    const pinging = await withSimulator({ pingIntervalMs: 20 });
    try {
      for (const mode of ["chat", "completion"] as const) {
        const result = await stream(pinging, mode, bodyFor(mode, { inputs: { query: "q", _sim: { events: 10, delay_ms: 25 } } }));
        expect(result.frames.filter((f) => f.text === "event: ping").length).toBeGreaterThanOrEqual(4);
        expect(result.events.at(-1)?.["event"]).toBe("message_end");
      }
    } finally {
      await pinging.close();
    }
  });

  it("a chatflow ends with message_end THEN workflow_finished", async () => {
    const names = eventNames((await stream(sim, "advanced-chat", bodyFor("advanced-chat"))).events);
    expect(names[0]).toBe("workflow_started");
    expect(names.slice(-2)).toEqual(["message_end", "workflow_finished"]);
    expect(names).toContain("node_started");
    expect(names).toContain("node_finished");
    expect(names.filter((n) => n === "message").length).toBeGreaterThan(1);
  });

  it("agent-chat interleaves agent_thought and agent_message; New Agent closes with one full `message`", async () => {
    const agentChat = (await stream(sim, "agent-chat", bodyFor("agent-chat"))).events;
    expect(eventNames(agentChat)).toContain("agent_thought");
    expect(eventNames(agentChat).filter((n) => n === "agent_message").length).toBeGreaterThan(1);
    expect(agentChat.some((e) => e["event"] === "agent_thought" && e["observation"] !== "")).toBe(true);

    const agent = (await stream(sim, "agent", bodyFor("agent"))).events;
    const names = eventNames(agent);
    expect(names.slice(-2)).toEqual(["message", "message_end"]);
    expect(names.filter((n) => n === "message")).toHaveLength(1);
    const deltas = agent
      .filter((e) => e["event"] === "agent_message")
      .map((e) => e["answer"])
      .join("");
    expect(agent.at(-2)?.["answer"]).toBe(deltas);
    expect((agent.at(-1)!["metadata"] as Json)["retriever_resources"]).toBeUndefined();
  });
});

describe("authentication", () => {
  const cases: [string, string | undefined, number, string][] = [
    ["no header", undefined, 401, "Authorization header must be provided and start with 'Bearer'"],
    ["no space", "Bearer", 401, "Authorization header must be provided and start with 'Bearer'"],
    ["wrong scheme", `Basic ${appOf("chat").key}`, 401, "Authorization scheme must be 'Bearer'"],
    ["unknown key", "Bearer app-nope", 401, "Access token is invalid"],
  ];
  for (const [name, authorization, status, message] of cases) {
    it(`${name} → ${status} "${message}" with WWW-Authenticate`, async () => {
      const res = await call(sim, "/chat-messages", { authorization, body: bodyFor("chat") });
      expect(res.statusCode).toBe(status);
      expect(res.headers["www-authenticate"]).toBe('Bearer realm="api"');
      expect(await res.body.json()).toEqual({ code: "unauthorized", message, status });
    });
  }

  it("compares the scheme case-insensitively and tolerates extra spaces, like Python split()", async () => {
    const res = await call(sim, "/info", { authorization: `bEaReR   ${appOf("chat").key}` });
    expect(res.statusCode).toBe(200);
    expect(((await res.body.json()) as Json)["mode"]).toBe("chat");
  });

  it("GET /v1/ needs no auth and says which Dify it imitates", async () => {
    const res = await call(sim, "/");
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ welcome: "Dify OpenAPI", api_version: "v1", server_version: expect.any(String) });
  });

  it("unknown URLs are 404 and wrong methods 405, before auth", async () => {
    const missing = await call(sim, "/nope");
    expect(missing.statusCode).toBe(404);
    expect(((await missing.body.json()) as Json)["code"]).toBe("not_found");
    const wrongMethod = await call(sim, "/chat-messages");
    expect(wrongMethod.statusCode).toBe(405);
    expect(((await wrongMethod.body.json()) as Json)["code"]).toBe("method_not_allowed");
  });
});

describe("request validation", () => {
  const chatKey = appOf("chat").key;
  const invalidJson = "Invalid JSON payload received or JSON payload is empty.";

  it("rejects empty, broken or non-JSON bodies with one message", async () => {
    for (const options of [
      { rawBody: "", headers: { "content-type": "application/json" } },
      { rawBody: '{"user":', headers: { "content-type": "application/json" } },
      { rawBody: "[1,2]", headers: { "content-type": "application/json" } },
      { rawBody: JSON.stringify(bodyFor("chat")), headers: { "content-type": "text/plain" } },
    ]) {
      const res = await call(sim, "/chat-messages", { key: chatKey, method: "POST", ...options });
      expect(res.statusCode).toBe(400);
      expect(await res.body.json()).toEqual({ code: "invalid_param", message: invalidJson, status: 400 });
    }
  });

  it("checks user before the route mode, like the auth wrapper", async () => {
    const res = await generateJson(sim, "chat", { inputs: {}, query: "q" }, appOf("workflow").key);
    expect(res.body).toEqual({ code: "invalid_param", message: "Arg user must be provided.", status: 400 });
    const empty = await generateJson(sim, "chat", { inputs: {}, query: "q", user: "" });
    expect(empty.body["message"]).toBe("Arg user must be provided.");
  });

  const chat = (extra: Json) => ({ inputs: {}, query: "q", user: "u", ...extra });
  const withFile = (file: Json) => chat({ files: [file] });
  const invalid: [string, AppMode, Json, string | RegExp][] = [
    ["inputs missing", "chat", { query: "q", user: "u" }, /inputs\n {2}Field required/],
    ["inputs not an object", "workflow", { inputs: [1], user: "u" }, /inputs\n {2}Input should be a valid dictionary/],
    ["query missing", "chat", { inputs: {}, user: "u" }, /query\n {2}Field required/],
    ["query empty", "chat", chat({ query: "" }), "query is required"],
    ["conversation_id not a UUID", "chat", chat({ conversation_id: "abc" }), "conversation_id must be a valid UUID"],
    ["response_mode unknown", "completion", { inputs: {}, user: "u", response_mode: "fast" }, /response_mode/],
    [
      "file type unknown",
      "chat",
      withFile({ type: "spreadsheet", transfer_method: "remote_url", url: "https://x.test/a" }),
      "No matching enum found for value 'spreadsheet'",
    ],
    [
      "transfer method unknown",
      "chat",
      withFile({ type: "image", transfer_method: "ftp", url: "https://x.test/a" }),
      "No matching enum found for value 'ftp'",
    ],
    ["remote file without url", "chat", withFile({ type: "image", transfer_method: "remote_url" }), "Invalid file url"],
    [
      "local file with a bad id",
      "chat",
      withFile({ type: "document", transfer_method: "local_file", upload_file_id: "x" }),
      "Invalid upload file id",
    ],
    ["_sim not an object", "chat", chat({ inputs: { _sim: 3 } }), /^_sim: /],
    ["_sim unknown fault", "chat", chat({ inputs: { _sim: { fault: "meteor" } } }), /^_sim: unknown fault/],
    ["_sim fault for another mode", "chat", chat({ inputs: { _sim: { fault: "workflow_failed" } } }), /^_sim: .*does not apply/],
    ["_sim form_ttl_ms on a chat app", "chat", chat({ inputs: { _sim: { form_ttl_ms: 100 } } }), /^_sim: form_ttl_ms needs a workflow/],
    ["_sim form_ttl_ms of 0", "workflow", { inputs: { _sim: { form_ttl_ms: 0 } }, user: "u" }, /^_sim: form_ttl_ms must be an integer/],
  ];
  for (const [name, mode, body, message] of invalid) {
    it(`${name} → 400 invalid_param`, async () => {
      const res = await generateJson(sim, mode, body);
      expect(res.status).toBe(400);
      expect(res.body["code"]).toBe("invalid_param");
      if (typeof message === "string") expect(res.body["message"]).toBe(message);
      else expect(res.body["message"]).toMatch(message);
    });
  }

  it("accepts well-formed files and an empty or null conversation_id", async () => {
    for (const conversation_id of ["", null]) {
      const files = [
        { type: "image", transfer_method: "remote_url", url: "https://example.com/a.png" },
        { type: "document", transfer_method: "local_file", upload_file_id: "0b6c1d2e-3f4a-4b5c-8d6e-7f8091a2b3c4" },
      ];
      const res = await generateJson(sim, "chat", bodyFor("chat", { conversation_id, files }));
      expect(res.status).toBe(200);
    }
  });
});

describe("response modes", () => {
  it("agent-chat rejects blocking, also when response_mode is omitted", async () => {
    for (const extra of [{ response_mode: "blocking" }, {}]) {
      const res = await generateJson(sim, "agent-chat", bodyFor("agent-chat", extra));
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ code: "invalid_param", message: "Agent Chat App does not support blocking mode", status: 400 });
    }
  });

  it("New Agent rejects blocking with bad_request and streams when response_mode is omitted", async () => {
    const blocking = await generateJson(sim, "agent", bodyFor("agent", { response_mode: "blocking" }));
    expect(blocking.body).toEqual({ code: "bad_request", message: "Agent App only supports streaming response mode.", status: 400 });
    const omitted = await call(sim, "/chat-messages", { key: appOf("agent").key, body: bodyFor("agent") });
    expect(omitted.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    await omitted.body.dump();
  });

  it("omitted response_mode means blocking for the other modes", async () => {
    for (const mode of ["chat", "advanced-chat", "completion", "workflow"] as const) {
      const res = await generateJson(sim, mode, bodyFor(mode));
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
    }
  });

  it("workflow blocking has no `event` key; chat blocking has id === message_id", async () => {
    const workflow = await generateJson(sim, "workflow", bodyFor("workflow"));
    expect(workflow.body).not.toHaveProperty("event");
    expect(Object.keys(workflow.body)).toEqual(["task_id", "workflow_run_id", "data"]);
    const chat = await generateJson(sim, "chat", bodyFor("chat"));
    expect(chat.body["id"]).toBe(chat.body["message_id"]);
    const completion = await generateJson(sim, "completion", bodyFor("completion"));
    expect(completion.body).not.toHaveProperty("conversation_id");
    expect(completion.body["mode"]).toBe("completion");
  });

  it("usage has decimal-string prices and a float latency; the chat demo cites one retriever resource", async () => {
    const chat = await generateJson(sim, "chat", bodyFor("chat"));
    const metadata = chat.body["metadata"] as { usage: Json; retriever_resources: Json[] };
    for (const key of ["prompt_price", "completion_price", "total_price", "prompt_unit_price"]) {
      expect(metadata.usage[key]).toMatch(/^\d+\.\d+$/);
    }
    expect(typeof metadata.usage["latency"]).toBe("number");
    expect(Number.isInteger(metadata.usage["latency"])).toBe(false);
    expect(metadata.retriever_resources).toHaveLength(1);
  });
});
