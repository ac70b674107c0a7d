import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../../src/auth/registry.js";
import { fitInteger } from "../../src/translate/fit-integers.js";
import { bearer, clients, collect, unary } from "../helpers/grpc.js";
import { type InProcessGateway, startInProcessGateway } from "../helpers/in-process.js";

/*
 * A Dify that sends what its schema does not promise: numbers that no integer field can hold where the typed views
 * expect one. The call still succeeds; `raw` carries every value as sent.
 */

const TOKEN = "tok-upstream-drift-5e4d3c2b1a";
const CHAT = "a1b2c3d4-0000-4000-8000-00000000d1f1";
const WORKFLOW = "a1b2c3d4-0000-4000-8000-00000000d1f2";
const CHATFLOW = "a1b2c3d4-0000-4000-8000-00000000d1f3";
const CHATFLOW_KEY = "app-key-drift-chatflow";
// Past int64 (Dify would send the JSON number 12345678901234567890).
const HUGE = 1.2345678901234567e19;

const chatEvents = [
  { event: "message", task_id: "t-1", message_id: "m-1", conversation_id: "c-1", answer: "Hi", created_at: 1705407629.25 },
  {
    event: "message_end",
    task_id: "t-1",
    message_id: "m-1",
    conversation_id: "c-1",
    created_at: HUGE,
    metadata: { usage: { prompt_tokens: 1.5, completion_tokens: "many", total_tokens: HUGE, latency: 0.25 } },
  },
];
const workflowEvents = [
  { event: "workflow_started", task_id: "t-2", workflow_run_id: "r-2", data: { id: "r-2", workflow_id: "w-2", created_at: 1.75 } },
  { event: "node_started", task_id: "t-2", workflow_run_id: "r-2", data: { id: "n-1", node_id: "start", index: 2.5, created_at: 1 } },
  {
    event: "workflow_finished",
    task_id: "t-2",
    workflow_run_id: "r-2",
    data: {
      id: "r-2",
      workflow_id: "w-2",
      status: "succeeded",
      outputs: { n: 1.5 },
      total_tokens: -0.4,
      total_steps: "2",
      created_at: 9.5,
    },
  },
];

/** A Chatflow with text-to-speech auto-play: Dify sends the rest of the audio after message_end. */
const chatflowEvents = (hold: boolean) => {
  const ev = { task_id: "t-3", message_id: "m-3", conversation_id: "c-3", workflow_run_id: "r-3" };
  const events = [
    { ...ev, event: "workflow_started", data: { id: "r-3", workflow_id: "w-3", created_at: 1 } },
    { ...ev, event: "message", answer: "Whole answer", created_at: 1 },
    { ...ev, event: "message_end", metadata: { usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } } },
    { ...ev, event: "tts_message", audio: "QUFB", created_at: 1 },
    { ...ev, event: "tts_message_end", audio: "", created_at: 1 },
    { ...ev, event: "workflow_finished", data: { id: "r-3", workflow_id: "w-3", status: "succeeded", outputs: {}, created_at: 1 } },
  ];
  // Dify 1.14 closes a Chatflow stream at workflow_finished; one that never comes holds it open.
  return hold ? events.slice(0, 3) : events;
};

const stops: string[] = [];
const open: ServerResponse[] = [];
const dify = createServer((req: IncomingMessage, res: ServerResponse) => {
  if (req.url?.endsWith("/stop")) {
    stops.push(req.url);
    res.writeHead(200, { "content-type": "application/json" }).end('{"result":"success"}');
    return;
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  open.push(res);
  if (req.headers.authorization === `Bearer ${CHATFLOW_KEY}`) {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const hold = (JSON.parse(body) as { query: string }).query === "hold";
      for (const ev of chatflowEvents(hold)) res.write(`data: ${JSON.stringify(ev)}\n\n`);
      if (!hold) res.end();
    });
    return;
  }
  for (const ev of req.url?.includes("workflows") ? workflowEvents : chatEvents) res.write(`data: ${JSON.stringify(ev)}\n\n`);
  res.end();
});

let gw: InProcessGateway;
beforeAll(async () => {
  await new Promise<void>((resolve) => dify.listen(0, "127.0.0.1", resolve));
  const { port } = dify.address() as { port: number };
  gw = await startInProcessGateway(
    {
      workspaces: [
        {
          id: "ws-drift",
          difyBaseUrl: `http://127.0.0.1:${port}/v1`,
          tokens: [{ sha256: sha256(TOKEN).toString("hex") }],
          apps: [
            { appId: CHAT, key: { env: "K1" }, mode: "chat" },
            { appId: WORKFLOW, key: { env: "K2" }, mode: "workflow" },
            { appId: CHATFLOW, key: { env: "K3" }, mode: "advanced-chat" },
          ],
        },
      ],
    },
    { K1: "app-key-drift-chat", K2: "app-key-drift-workflow", K3: CHATFLOW_KEY },
  );
});
afterAll(async () => {
  for (const res of open) res.destroy();
  await gw?.gateway.close(0);
  await new Promise((resolve) => dify.close(resolve));
});

const chatRequest = { appId: CHAT, query: "q", inputs: {}, files: [], user: "", conversationId: "" };

describe("numbers Dify sends where the typed views expect integers", () => {
  it("fit the nearest integer the field holds, or 0, and nothing else", () => {
    const int64: [number, number] = [-(2 ** 63), 2 ** 63];
    expect(fitInteger(1705407629.25, int64)).toBe(1705407629);
    expect(fitInteger(2.5, int64)).toBe(3);
    expect(fitInteger("2", int64)).toBe(2);
    expect(fitInteger("many", int64)).toBe(0);
    expect(fitInteger(HUGE, int64)).toBe(0);
    expect(fitInteger(Number.NaN, int64)).toBe(0);
    expect(fitInteger(2 ** 31, [-(2 ** 31), 2 ** 31])).toBe(0);
    expect(fitInteger(-1, [0, 2 ** 32])).toBe(0);
  });

  it("a unary chat answer is whole, its typed fields fitted and raw as Dify sent it", async () => {
    const c = clients(gw.address);
    const res = await unary(c.chat.chatInvoke, c.chat, chatRequest, bearer(TOKEN));
    c.close();
    expect(res.answer).toBe("Hi");
    expect(res.createdAt).toBe(1705407629);
    expect(res.raw?.created_at).toBe(1705407629.25);
    expect(res.metadata?.usage).toMatchObject({ promptTokens: 2, completionTokens: 0, totalTokens: 0, latency: 0.25 });
    expect(res.raw?.metadata.usage).toMatchObject({ prompt_tokens: 1.5, completion_tokens: "many", total_tokens: HUGE });
  });

  it("a chat stream carries every event, typed views fitted", async () => {
    const c = clients(gw.address);
    const out = await collect(c.chat.chatInvokeStream(chatRequest, bearer(TOKEN)));
    c.close();
    expect(out.error).toBeUndefined();
    expect(out.messages.map((m) => m.event)).toEqual(["message", "message_end"]);
    expect(out.messages[0]?.payload).toMatchObject({ $case: "message", value: { answer: "Hi", createdAt: 1705407629 } });
    expect(out.messages[1]?.payload).toMatchObject({
      $case: "messageEnd",
      value: { metadata: { usage: { promptTokens: 2, totalTokens: 0 } } },
    });
    expect(out.messages[1]?.raw?.metadata.usage.total_tokens).toBe(HUGE);
  });

  it("a workflow stream and a unary workflow call succeed", async () => {
    const c = clients(gw.address);
    const request = { appId: WORKFLOW, inputs: {}, files: [], user: "" };
    const out = await collect(c.workflow.workflowInvokeStream(request, bearer(TOKEN)));
    const res = await unary(c.workflow.workflowInvoke, c.workflow, request, bearer(TOKEN));
    c.close();
    expect(out.error).toBeUndefined();
    expect(out.messages.map((m) => m.event)).toEqual(["workflow_started", "node_started", "workflow_finished"]);
    expect(out.messages[1]?.payload).toMatchObject({ value: { data: { index: 3 } } });
    expect(res.data).toMatchObject({ status: "succeeded", totalTokens: 0, totalSteps: 2, createdAt: 10 });
    expect(res.raw?.data.total_tokens).toBe(-0.4);
    expect(stops).toEqual([]);
  });
});

describe("events after the terminal one", () => {
  const request = (query: string) => ({ appId: CHATFLOW, query, inputs: {}, files: [], user: "", conversationId: "" });

  it("a stream forwards what follows a Chatflow's message_end: the rest of the audio, tts_message_end, workflow_finished", async () => {
    const c = clients(gw.address);
    const out = await collect(c.chat.chatInvokeStream(request("speak"), bearer(TOKEN)));
    c.close();
    expect(out.error).toBeUndefined();
    expect(out.messages.map((m) => m.event)).toEqual([
      "workflow_started",
      "message",
      "message_end",
      "tts_message",
      "tts_message_end",
      "workflow_finished",
    ]);
    expect(out.messages[3]?.payload).toMatchObject({ $case: "ttsMessage", value: { audio: "QUFB" } });
  });

  it("a Chatflow whose workflow_finished never comes, its stream held open, answers a unary call at message_end", async () => {
    const c = clients(gw.address);
    const t0 = performance.now();
    const res = await unary(c.chat.chatInvoke, c.chat, request("hold"), bearer(TOKEN));
    c.close();
    expect(res.answer).toBe("Whole answer");
    expect(res.metadata?.usage?.totalTokens).toBe(5);
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(stops).toEqual([]);
  });
});
