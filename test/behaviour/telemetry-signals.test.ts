import type { Metadata } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { demoAppId, demoWorkspaceConfig, TOKEN } from "../helpers/demo-workspace.js";
import { bearer, clients, unary } from "../helpers/grpc.js";
import { type InProcessGateway, type InProcessSimulator, startInProcessGateway, startInProcessSimulator } from "../helpers/in-process.js";
import { type OtlpReceiver, startOtlpReceiver } from "../helpers/otlp-receiver.js";

/*
 * OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER = none (here their config fields): an operator who scrapes
 * Prometheus can export traces alone, and one without a tracing backend metrics alone. What is off is neither
 * made nor sent, and the other signal is whole.
 */

const TRACE = "5bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN = "00f067aa0ba902b7";

let sim: InProcessSimulator | undefined;
let gw: InProcessGateway | undefined;
let otlp: OtlpReceiver | undefined;

afterEach(async () => {
  await gw?.close();
  await sim?.close();
  await otlp?.close();
  gw = sim = otlp = undefined;
});

async function oneChatCall(telemetry: Record<string, unknown>): Promise<{ otlp: OtlpReceiver; sim: InProcessSimulator }> {
  otlp = await startOtlpReceiver();
  sim = await startInProcessSimulator();
  const { config, env } = demoWorkspaceConfig(sim.url, {});
  gw = await startInProcessGateway({ ...config, telemetry: { endpoint: otlp.url, ...telemetry } }, env);
  const c = clients(gw.address);
  const md: Metadata = bearer(TOKEN);
  md.set("traceparent", `00-${TRACE}-${CALLER_SPAN}-01`);
  await unary(
    c.chat.chatInvoke,
    c.chat,
    { appId: demoAppId("chat"), query: "hi", inputs: {}, files: [], user: "", conversationId: "" },
    md,
  );
  c.close();
  await gw.close(); // flushes both signals
  gw = undefined;
  return { otlp, sim };
}

describe("one signal off", () => {
  it("metricsExporter none: the call's spans are exported, no metric is", async () => {
    const { otlp } = await oneChatCall({ metricsExporter: "none" });
    expect(otlp.exports.filter((e) => e.path === "/v1/metrics")).toEqual([]);
    const spans = otlp.spans().filter((s) => s.traceId === TRACE);
    expect(spans.map((s) => s.name).sort()).toEqual(["GET /info", "POST /chat-messages", "dify.app.v1.ChatService/ChatInvoke"]);
    expect(spans.find((s) => s.parentSpanId === CALLER_SPAN)?.attributes).toMatchObject({ "gen_ai.operation.name": "chat" });
  });

  it("tracesExporter none: the GenAI and A66 metrics are exported, no span is, and Dify still gets the caller's trace", async () => {
    const { otlp, sim } = await oneChatCall({ tracesExporter: "none" });
    expect(otlp.exports.filter((e) => e.path === "/v1/traces")).toEqual([]);
    const metrics = new Set(otlp.points().map((p) => p.metric));
    for (const name of ["gen_ai.client.token.usage", "gen_ai.client.operation.duration", "grpc.server.call.duration"])
      expect(metrics).toContain(name);
    const run = (await sim.requests()).find((r) => r.method === "POST")!;
    expect(run.headers.traceparent).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
  });
});
