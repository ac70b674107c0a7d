import type { Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_APPS } from "../../simulator/index.js";
import { demoAppId, demoWorkspaceConfig, TOKEN } from "../helpers/demo-workspace.js";
import { bearer, clients, collect, unary } from "../helpers/grpc.js";
import { type InProcessGateway, type InProcessSimulator, startInProcessGateway, startInProcessSimulator } from "../helpers/in-process.js";
import { type OtlpReceiver, type ReceivedPoint, startOtlpReceiver } from "../helpers/otlp-receiver.js";
import { eventually } from "../helpers/processes.js";

/*
 * The gateway with telemetry on, exporting with the real OpenTelemetry SDK over OTLP/HTTP (protobuf, the default)
 * to a receiver in this test. One call of each interface, each in a trace of the caller's; the gateway is then
 * closed, which flushes what the SDK buffered, and the receiver's decoded exports are checked.
 */

const SERVER = 2;
const CLIENT = 3;
const CALLER_SPAN = "b7ad6b7169203331";
const SESSION = "session-7d1e";
/** Text a user typed: it must reach Dify and nowhere in the exported data. */
const PROMPT = "telemetry-prompt-text-e1b9 what is in my account";
const INPUT_VALUE = "telemetry-input-value-44c2";

const traces = {
  chat: "0af7651916cd43dd8448eb211c800001",
  workflow: "0af7651916cd43dd8448eb211c800002",
  completion: "0af7651916cd43dd8448eb211c800003",
  cancelled: "0af7651916cd43dd8448eb211c800004",
  paused: "0af7651916cd43dd8448eb211c800005",
  badSession: "0af7651916cd43dd8448eb211c800006",
};

/** A caller's vendor entries (W3C tracestate): exported with our spans, and passed on to Dify as sent. */
const TRACESTATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";

let sim: InProcessSimulator;
let gw: InProcessGateway;
let otlp: OtlpReceiver;
let c: ReturnType<typeof clients>;
const reported: Record<string, Record<string, unknown>> = {};

function md(traceId: string): Metadata {
  const m = bearer(TOKEN);
  m.set("traceparent", `00-${traceId}-${CALLER_SPAN}-01`);
  m.set("tracestate", TRACESTATE);
  m.set("x-trace-session-id", SESSION);
  return m;
}

beforeAll(async () => {
  otlp = await startOtlpReceiver();
  sim = await startInProcessSimulator();
  const { config, env } = demoWorkspaceConfig(sim.url, {});
  gw = await startInProcessGateway({ ...config, telemetry: { endpoint: otlp.url } }, env);
  c = clients(gw.address);

  const chat = await unary(
    c.chat.chatInvoke,
    c.chat,
    { appId: demoAppId("chat"), query: PROMPT, inputs: {}, files: [], user: "", conversationId: "" },
    md(traces.chat),
  );
  reported.chat = (chat.raw as { metadata: { usage: Record<string, unknown> } }).metadata.usage;
  reported.chatConversation = { id: chat.conversationId };

  const { messages: events } = await collect(
    c.workflow.workflowInvokeStream(
      { appId: demoAppId("workflow"), inputs: { query: INPUT_VALUE }, files: [], user: "" },
      md(traces.workflow),
    ),
  );
  const finished = events.map((e) => e.raw as Record<string, unknown>).find((r) => r.event === "workflow_finished");
  reported.workflow = finished!.data as Record<string, unknown>;

  const completion = await unary(
    c.completion.completionInvoke,
    c.completion,
    { appId: demoAppId("completion"), inputs: { query: PROMPT }, files: [], user: "" },
    md(traces.completion),
  );
  reported.completion = (completion.raw as { metadata: { usage: Record<string, unknown> } }).metadata.usage;

  // A workflow that pauses for human input: an OK result, with a pause event on its span.
  await unary(
    c.workflow.workflowInvoke,
    c.workflow,
    { appId: demoAppId("workflow"), inputs: { _sim: { fault: "workflow_paused" } }, files: [], user: "" },
    md(traces.paused),
  );

  // A session id the gateway refuses (over 200 characters): INVALID_ARGUMENT, and it must not be exported either.
  const badSession = md(traces.badSession);
  badSession.set("x-trace-session-id", "s".repeat(6_000));
  await unary(
    c.completion.completionInvoke,
    c.completion,
    { appId: demoAppId("completion"), inputs: { query: PROMPT }, files: [], user: "" },
    badSession,
  ).catch(() => undefined);

  // A stream the caller leaves: the gateway stops the run on Dify, and that request is traced too.
  const call = c.chat.chatInvokeStream(
    { appId: demoAppId("chat"), query: PROMPT, inputs: { _sim: { events: 100, delay_ms: 20 } }, files: [], user: "", conversationId: "" },
    md(traces.cancelled),
  );
  await collect(call, (_m, all) => all.length === 2 && call.cancel());
  await eventually(async () => expect((await sim.requests()).some((r) => r.path.endsWith("/stop"))).toBe(true));

  c.close();
  // Closing flushes the SDK's batch of spans and exports the metrics one last time.
  await gw.close();
}, 60_000);

afterAll(async () => {
  await sim?.close();
  await otlp?.close();
});

const spansOf = (traceId: string) => otlp.spans().filter((s) => s.traceId === traceId);
const serverSpan = (traceId: string) => {
  const found = spansOf(traceId).filter((s) => s.kind === SERVER);
  expect(found).toHaveLength(1);
  return found[0]!;
};
const clientSpans = (traceId: string) => spansOf(traceId).filter((s) => s.kind === CLIENT);

describe("traces over OTLP/HTTP", () => {
  it("exports with the default protocol, http/protobuf, and the service's resource", () => {
    expect(otlp.exports.length).toBeGreaterThan(0);
    for (const e of otlp.exports) expect(e.contentType).toBe("application/x-protobuf");
    expect(serverSpan(traces.chat).resource).toMatchObject({ "service.name": "dify-grpc-gateway" });
  });

  it("a unary chat: one trace, the caller's, with the server span under the caller's span and /info and the run under it", async () => {
    const server = serverSpan(traces.chat);
    expect(server).toMatchObject({ name: "dify.app.v1.ChatService/ChatInvoke", parentSpanId: CALLER_SPAN, traceState: TRACESTATE });
    expect(server.attributes).toMatchObject({
      "rpc.system": "grpc",
      "rpc.service": "dify.app.v1.ChatService",
      "rpc.method": "ChatInvoke",
      "rpc.grpc.status_code": 0,
      "dify.workspace.id": "ws-test",
      "dify.app.id": demoAppId("chat"),
      "dify.app.mode": "chat",
      "gen_ai.operation.name": "chat",
      "gen_ai.usage.input_tokens": reported.chat!.prompt_tokens,
      "gen_ai.usage.output_tokens": reported.chat!.completion_tokens,
      "gen_ai.conversation.id": reported.chatConversation!.id,
      "dify.stop_called": false,
      "session.id": SESSION,
    });
    expect(server.attributes["dify.task_id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(server.events.map((e) => e.name)).toContain("gen_ai.first_chunk");

    const upstream = clientSpans(traces.chat);
    expect(upstream.map((s) => s.name).sort()).toEqual(["GET /info", "POST /chat-messages"]);
    for (const span of upstream) expect(span).toMatchObject({ parentSpanId: server.spanId, traceState: TRACESTATE });
    const run = upstream.find((s) => s.name === "POST /chat-messages")!;
    expect(run.attributes).toMatchObject({
      "http.request.method": "POST",
      "http.response.status_code": 200,
      "server.address": "127.0.0.1",
    });

    // Dify's request carried the run's client span, so Dify's own spans hang under it.
    const sent = (await sim.requests()).find((r) => r.method === "POST" && r.headers["x-trace-id"] === traces.chat)!;
    expect(sent.headers.traceparent).toBe(`00-${traces.chat}-${run.spanId}-01`);
    expect(sent.headers.tracestate).toBe(TRACESTATE);
    expect(sent.headers["x-trace-session-id"]).toBe(SESSION);
  });

  it("a workflow stream: its workflow run id and the total Dify reported", () => {
    const server = serverSpan(traces.workflow);
    expect(server).toMatchObject({ name: "dify.app.v1.WorkflowService/WorkflowInvokeStream", parentSpanId: CALLER_SPAN });
    expect(server.attributes).toMatchObject({
      "rpc.grpc.status_code": 0,
      "dify.app.mode": "workflow",
      "gen_ai.operation.name": "invoke_workflow",
      "dify.workflow_run_id": reported.workflow!.id,
      "dify.usage.total_tokens": reported.workflow!.total_tokens,
    });
    expect(clientSpans(traces.workflow).map((s) => [s.name, s.parentSpanId])).toEqual([["POST /workflows/run", server.spanId]]);
  });

  it("a paused workflow: OK, with the pause as an event after the first chunk", () => {
    const server = serverSpan(traces.paused);
    expect(server.attributes).toMatchObject({ "rpc.grpc.status_code": 0, "dify.stop_called": false });
    expect(server.events.map((e) => e.name)).toEqual(["gen_ai.first_chunk", "dify.workflow.paused"]);
  });

  it("a refused session id: the call's span has none (an invalid one never leaves the gateway)", () => {
    const server = serverSpan(traces.badSession);
    expect(server.attributes["rpc.grpc.status_code"]).toBe(3);
    expect(server.attributes["session.id"]).toBeUndefined();
  });

  it("a unary completion: its token counts", () => {
    const server = serverSpan(traces.completion);
    expect(server.attributes).toMatchObject({
      "gen_ai.operation.name": "text_completion",
      "gen_ai.usage.input_tokens": reported.completion!.prompt_tokens,
      "gen_ai.usage.output_tokens": reported.completion!.completion_tokens,
    });
    expect(clientSpans(traces.completion).map((s) => s.name)).toEqual(["POST /completion-messages"]);
  });

  it("a cancelled stream: CANCELLED, stop called, and the stop request as a client span of the call", () => {
    const server = serverSpan(traces.cancelled);
    expect(server.attributes).toMatchObject({ "rpc.grpc.status_code": 1, "dify.stop_called": true });
    const upstream = clientSpans(traces.cancelled);
    expect(upstream.map((s) => s.name).sort()).toEqual(["POST /chat-messages", "POST /chat-messages/{task_id}/stop"]);
    for (const span of upstream) expect(span.parentSpanId).toBe(server.spanId);
  });

  it("the call's log lines carry the server span's trace and span ids", () => {
    const server = serverSpan(traces.chat);
    const lines = gw.logs().filter((l) => l.traceId === traces.chat);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.spanId).toBe(server.spanId);
  });
});

describe("metrics over OTLP/HTTP", () => {
  /** Cumulative temporality: the last export of a series holds its total. */
  const last = (metric: string, attributes: Record<string, unknown>): ReceivedPoint | undefined =>
    otlp
      .points()
      .filter((p) => p.metric === metric && Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))
      .at(-1);
  const app = (mode: "chat" | "completion" | "workflow") => ({
    "dify.workspace.id": "ws-test",
    "dify.app.id": demoAppId(mode),
    "dify.app.mode": mode,
  });

  it("gen_ai.client.token.usage by token type, with workspace, app and mode", () => {
    const chatInput = last("gen_ai.client.token.usage", { ...app("chat"), "gen_ai.token.type": "input" });
    // Two chat runs: the unary one and the cancelled stream, whose run never reported usage.
    expect(chatInput).toMatchObject({ unit: "{token}", count: 1, value: reported.chat!.prompt_tokens });
    const completionOutput = last("gen_ai.client.token.usage", { ...app("completion"), "gen_ai.token.type": "output" });
    expect(completionOutput).toMatchObject({ count: 1, value: reported.completion!.completion_tokens });
  });

  it("gen_ai.client.operation.duration and time to first chunk per app, and the A66 server metrics", () => {
    // The workflow stream and the paused workflow.
    expect(last("gen_ai.client.operation.duration", { ...app("workflow"), "gen_ai.operation.name": "invoke_workflow" })).toMatchObject({
      unit: "s",
      count: 2,
    });
    expect(last("gen_ai.client.operation.time_to_first_chunk", app("completion"))?.count).toBe(1);
    expect(last("grpc.server.call.duration", { "grpc.method": "dify.app.v1.ChatService/ChatInvoke", "grpc.status": "OK" })).toMatchObject({
      unit: "s",
      count: 1,
    });
    expect(last("grpc.server.call.started", { "grpc.method": "dify.app.v1.ChatService/ChatInvokeStream" })?.value).toBe(1);
  });
});

describe("what is exported", () => {
  it("holds no app key, no caller token, no prompt, input or answer text", () => {
    const bytes = Buffer.concat(otlp.exports.map((e) => e.body));
    const secrets = [TOKEN, ...DEMO_APPS.map((a) => a.key), PROMPT, "telemetry-prompt-text", INPUT_VALUE];
    for (const secret of secrets) expect(bytes.includes(Buffer.from(secret))).toBe(false);
    // Sanity: the check reads the real exports (the caller's trace id travels as its 16 bytes).
    expect(bytes.includes(Buffer.from(traces.chat, "hex"))).toBe(true);
  });
});
