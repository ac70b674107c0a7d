/** Behaviour across requests: deterministic answers, conversations, stop, recording, backpressure, shutdown. */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../simulator/index.js";
import {
  appOf,
  bodyFor,
  call,
  dataOf,
  eventNames,
  generateJson,
  type Json,
  SLOW_RUN,
  stream,
  streamedAnswer,
  streamWithStop,
  withSimulator,
} from "./helpers.js";

let sim: Simulator;
beforeAll(async () => {
  sim = await withSimulator();
});
afterAll(async () => {
  await sim.close();
});

describe("generated answers", () => {
  it("depend only on the query, stream word by word, and equal the blocking answer", async () => {
    const streamed = await stream(sim, "chat", bodyFor("chat", { query: "What is gRPC?" }));
    const again = await stream(sim, "chat", bodyFor("chat", { query: "What is gRPC?", user: "someone-else" }));
    const blocking = await generateJson(sim, "chat", bodyFor("chat", { query: "What is gRPC?" }));
    const answer = streamedAnswer(streamed.events);
    expect(answer).toBe("Echo from Demo Chatbot: What is gRPC? This reply was simulated — café 🚀 included.");
    expect(streamedAnswer(again.events)).toBe(answer);
    expect(blocking.body["answer"]).toBe(answer);
    const deltas = streamed.events.filter((e) => e["event"] === "message");
    expect(deltas.length).toBe(answer.split(" ").length);
  });

  it("workflow outputs the text it streamed; completion answers its query input", async () => {
    const workflow = await stream(sim, "workflow", bodyFor("workflow", { inputs: { query: "sum up" } }));
    const finished = dataOf(workflow.events.at(-1));
    expect(finished["status"]).toBe("succeeded");
    expect(finished["outputs"]).toEqual({ text: streamedAnswer(workflow.events) });
    expect(streamedAnswer(workflow.events)).toContain("sum up");
    const completion = await generateJson(sim, "completion", bodyFor("completion", { inputs: { query: "a haiku" } }));
    expect(completion.body["answer"]).toContain("Echo from Demo Text Generator: a haiku.");
  });

  it("`_sim.events: 10000` streams exactly that many ordered deltas", async () => {
    const result = await stream(sim, "chat", bodyFor("chat", { inputs: { _sim: { events: 10_000 } } }));
    const deltas = result.events.filter((e) => e["event"] === "message").map((e) => String(e["answer"]));
    expect(deltas).toHaveLength(10_000);
    expect(deltas[0]).toBe("w1");
    expect(deltas.at(-1)).toBe(" w10000");
    expect(deltas.every((d, i) => d.trim() === `w${i + 1}`)).toBe(true);
    expect(eventNames(result.events).at(-1)).toBe("message_end");
  });

  it("`_sim.delay_ms` paces the deltas", async () => {
    const started = performance.now();
    await stream(sim, "completion", bodyFor("completion", { inputs: { _sim: { events: 5, delay_ms: 40 } } }));
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  it("`_sim` never shows up in echoed inputs", async () => {
    const result = await stream(sim, "workflow", bodyFor("workflow", { inputs: { query: "q", _sim: { events: 1 } } }));
    expect(result.raw).not.toContain("_sim");
    expect(dataOf(result.events[0])["inputs"]).toMatchObject({ query: "q" });
  });
});

describe("conversations", () => {
  it("continuing keeps the conversation id and counts turns", async () => {
    const first = await generateJson(sim, "chat", bodyFor("chat", { user: "conv-user" }));
    const conversationId = first.body["conversation_id"];
    const second = await generateJson(sim, "chat", bodyFor("chat", { user: "conv-user", conversation_id: conversationId }));
    expect(second.body["conversation_id"]).toBe(conversationId);
    expect(second.body["message_id"]).not.toBe(first.body["message_id"]);
    expect(second.body["answer"]).toContain("(turn 2)");
    const streamed = await stream(sim, "chat", bodyFor("chat", { user: "conv-user", conversation_id: conversationId }));
    expect(streamed.events.every((e) => e["conversation_id"] === conversationId)).toBe(true);
    expect(streamedAnswer(streamed.events)).toContain("(turn 3)");
  });

  it("a conversation belongs to one (app, user): others get 404 Conversation Not Exists.", async () => {
    const first = await generateJson(sim, "chat", bodyFor("chat", { user: "owner" }));
    const conversation_id = first.body["conversation_id"];
    const notFound = { code: "not_found", message: "Conversation Not Exists.", status: 404 };
    expect((await generateJson(sim, "chat", bodyFor("chat", { user: "intruder", conversation_id }))).body).toEqual(notFound);
    expect((await generateJson(sim, "advanced-chat", bodyFor("advanced-chat", { user: "owner", conversation_id }))).body).toEqual(notFound);
  });

  it("each new chat gets a new conversation", async () => {
    const a = await generateJson(sim, "advanced-chat", bodyFor("advanced-chat", { user: "fresh" }));
    const b = await generateJson(sim, "advanced-chat", bodyFor("advanced-chat", { user: "fresh" }));
    expect(a.body["conversation_id"]).not.toBe(b.body["conversation_id"]);
  });
});

describe("stop", () => {
  const slow = (mode: "chat" | "completion" | "workflow" | "advanced-chat", user: string) =>
    bodyFor(mode, { user, inputs: { query: "q", _sim: SLOW_RUN } });

  it("chat: the owner stops mid-stream; message_end keeps the answer so far", async () => {
    const result = await streamWithStop(sim, "chat", slow("chat", "ann"), { afterDeltas: 3, stopUser: "ann" });
    expect(result.stopBody).toEqual({ result: "success" });
    const deltas = result.events.filter((e) => e["event"] === "message");
    expect(deltas.length).toBeLessThan(SLOW_RUN.events);
    expect(eventNames(result.events).at(-1)).toBe("message_end");
    expect(((result.events.at(-1)!["metadata"] as Json)["usage"] as Json)["completion_tokens"]).toBe(deltas.length);
  });

  it("chat and completion: a stop from another user is silently ignored", async () => {
    const fast = { events: 60, delay_ms: 2 };
    for (const mode of ["chat", "completion"] as const) {
      const result = await streamWithStop(sim, mode, bodyFor(mode, { user: "ann", inputs: { query: "q", _sim: fast } }), {
        afterDeltas: 2,
        stopUser: "bob",
      });
      expect(result.stopStatus).toBe(200);
      expect(result.stopBody).toEqual({ result: "success" });
      expect(result.events.filter((e) => e["event"] === "message")).toHaveLength(fast.events);
    }
  });

  it('workflow: stops without a user check and ends with workflow_finished "stopped"', async () => {
    const result = await streamWithStop(sim, "workflow", slow("workflow", "ann"), { afterDeltas: 3, stopUser: "anyone" });
    const last = result.events.at(-1);
    expect(last?.["event"]).toBe("workflow_finished");
    expect(dataOf(last)["status"]).toBe("stopped");
    expect(result.events.filter((e) => e["event"] === "text_chunk").length).toBeLessThan(SLOW_RUN.events);
  });

  it('advanced-chat: stops without a user check; message_end then workflow_finished "stopped"', async () => {
    const result = await streamWithStop(sim, "advanced-chat", slow("advanced-chat", "ann"), { afterDeltas: 3, stopUser: "anyone" });
    expect(eventNames(result.events).slice(-2)).toEqual(["message_end", "workflow_finished"]);
    expect(dataOf(result.events.at(-1))["status"]).toBe("stopped");
  });

  it("the stop endpoints validate user and route, and answer success for unknown tasks", async () => {
    const key = appOf("chat").key;
    const noUser = await call(sim, "/chat-messages/abc/stop", { key, body: {} });
    expect(noUser.statusCode).toBe(400);
    expect(await noUser.body.json()).toEqual({ code: "invalid_param", message: "Arg user must be provided.", status: 400 });
    const unknown = await call(sim, "/chat-messages/abc/stop", { key, body: { user: "u" } });
    expect(await unknown.body.json()).toEqual({ result: "success" });
    const wrongRoute = await call(sim, "/workflows/tasks/abc/stop", { key, body: { user: "u" } });
    expect(((await wrongRoute.body.json()) as Json)["code"]).toBe("not_workflow_app");
    const completionRoute = await call(sim, "/completion-messages/abc/stop", { key, body: { user: "u" } });
    expect(((await completionRoute.body.json()) as Json)["code"]).toBe("app_unavailable");
  });

  it('`_sim.fault: "stop_fails"` makes that task\'s stop endpoint answer 500', async () => {
    const body = bodyFor("chat", { user: "ann", inputs: { query: "q", _sim: { fault: "stop_fails", events: 100, delay_ms: 3 } } });
    const result = await streamWithStop(sim, "chat", body, { afterDeltas: 2, stopUser: "ann" });
    expect(result.stopStatus).toBe(500);
    expect(result.stopBody["code"]).toBe("internal_server_error");
    expect(result.events.filter((e) => e["event"] === "message")).toHaveLength(100);
  });

  it("`stop_fails` still answers 500 after the run ended, as a gateway that aborted its stream first sees it", async () => {
    const body = bodyFor("chat", { user: "ann", inputs: { query: "q", _sim: { fault: "stop_fails", events: 2 } } });
    const result = await stream(sim, "chat", body);
    const taskId = String(result.events[0]?.["task_id"]);
    const stop = await call(sim, `/chat-messages/${taskId}/stop`, { key: appOf("chat").key, body: { user: "ann" } });
    expect(stop.statusCode).toBe(500);
    expect(((await stop.body.json()) as Json)["code"]).toBe("internal_server_error");
  });
});

describe("recording", () => {
  it("records method, path, query, app, headers without authorization, and body; reset forgets", async () => {
    const local = await withSimulator();
    try {
      await call(local, "/parameters?lang=en", { key: appOf("workflow").key, headers: { "x-trace-id": "t-1" } });
      await generateJson(local, "chat", bodyFor("chat"), "app-unknown");
      const [parameters, unauthorized] = local.requests();
      expect(parameters).toMatchObject({
        method: "GET",
        path: "/v1/parameters",
        query: { lang: "en" },
        appId: appOf("workflow").appId,
        body: null,
      });
      expect(parameters?.headers["x-trace-id"]).toBe("t-1");
      expect(parameters?.headers).not.toHaveProperty("authorization");
      expect(unauthorized).toMatchObject({ method: "POST", path: "/v1/chat-messages", appId: null, body: bodyFor("chat") });
      expect(JSON.stringify(local.requests())).not.toContain("app-sim-");
      local.reset();
      expect(local.requests()).toEqual([]);
    } finally {
      await local.close();
    }
  });

  it("serves the recording over HTTP for out-of-process tests, without recording itself", async () => {
    const local = await withSimulator();
    try {
      await call(local, "/info", { key: appOf("chat").key });
      const control = local.url.replace(/\/v1$/, "/__sim/requests");
      const listed = (await (await fetch(control)).json()) as Json[];
      expect(listed.map((r) => r["path"])).toEqual(["/v1/info"]);
      expect((await fetch(control, { method: "DELETE" })).status).toBe(200);
      expect(await (await fetch(control)).json()).toEqual([]);
    } finally {
      await local.close();
    }
  });
});

describe("backpressure and shutdown", () => {
  it("a reader that stops reading pauses the run instead of buffering it", async () => {
    const body = JSON.stringify({ inputs: { _sim: { events: 1_000_000 } }, query: "q", user: "slow-reader", response_mode: "streaming" });
    const socket = net.connect(sim.port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(
      `POST /v1/chat-messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${appOf("chat").key}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    const first = await new Promise<string>((resolve) => socket.once("data", (chunk: Buffer) => resolve(chunk.toString("utf8"))));
    socket.pause();
    const taskId = /"task_id":"([^"]+)"/.exec(first)?.[1];
    await new Promise((resolve) => setTimeout(resolve, 300));
    await call(sim, `/chat-messages/${taskId}/stop`, { key: appOf("chat").key, body: { user: "slow-reader" } });
    let text = "";
    socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
    socket.resume();
    await new Promise((resolve) => socket.once("close", resolve));
    const delivered = (text.match(/"event":"message"/g) ?? []).length;
    // Unbounded buffering would have produced most of the million events in 300 ms; socket buffers hold a few MB.
    expect(delivered).toBeLessThan(100_000);
    expect(text).toContain('"event":"message_end"');
  });

  it("close() ends open streams promptly", async () => {
    const local = await withSimulator();
    const res = await call(local, "/chat-messages", {
      key: appOf("chat").key,
      body: bodyFor("chat", { response_mode: "streaming", inputs: { _sim: { fault: "silent", after: 1 } } }),
    });
    const reading = res.body.text().then(
      () => "ended",
      () => "errored",
    );
    const started = performance.now();
    await local.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(["ended", "errored"]).toContain(await reading);
  });
});
