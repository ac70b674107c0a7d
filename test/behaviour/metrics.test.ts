import { type ServiceError, status } from "@grpc/grpc-js";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_APPS } from "../../simulator/index.js";
import { bearer, collect, unary } from "../helpers/grpc.js";
import { type InProcessStack, startInProcessStack, TOKEN } from "../helpers/in-process.js";
import { eventually } from "../helpers/processes.js";

let s: InProcessStack;
beforeAll(async () => {
  s = await startInProcessStack();
});
afterAll(async () => {
  await s?.stop();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

async function scrape(): Promise<{ text: string; samples: Sample[] }> {
  const res = await request(s.gw.metricsUrl!);
  expect(res.statusCode).toBe(200);
  expect(res.headers["content-type"]).toContain("text/plain");
  const text = await res.body.text();
  const samples = text
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(l)!;
      const labels = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
      return { name: m[1]!, labels, value: Number(m[3]) };
    });
  return { text, samples };
}

const value = (samples: Sample[], name: string, labels: Record<string, string>) =>
  samples
    .filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))
    .reduce((sum, x) => sum + x.value, 0);

const CHAT = "dify.app.v1.ChatService/ChatInvoke";
const COMPLETION_STREAM = "dify.app.v1.CompletionService/CompletionInvokeStream";
const failed = (p: Promise<unknown>) =>
  p.then(
    () => expect.fail("expected a failure"),
    (e: ServiceError) => e.code,
  );

describe("/metrics after a known mix of calls", () => {
  it("counts calls per method and status, with sizes, upstream timings, cancellations and stop calls", async () => {
    const chatReq = (extra: Record<string, unknown> = {}) => ({
      appId: s.appId("chat"),
      query: "hi",
      inputs: {},
      files: [],
      user: "",
      conversationId: "",
      ...extra,
    });
    for (let i = 0; i < 3; i++) await unary(s.c.chat.chatInvoke, s.c.chat, chatReq(), s.md());
    expect(await failed(unary(s.c.chat.chatInvoke, s.c.chat, chatReq({ appId: "nope" }), s.md()))).toBe(status.NOT_FOUND);
    expect(await failed(unary(s.c.chat.chatInvoke, s.c.chat, chatReq({ query: "" }), s.md()))).toBe(status.INVALID_ARGUMENT);
    expect(await failed(unary(s.c.chat.chatInvoke, s.c.chat, chatReq(), bearer("wrong-token")))).toBe(status.UNAUTHENTICATED);
    for (let i = 0; i < 2; i++) {
      const { error } = await collect(
        s.c.completion.completionInvokeStream({ appId: s.appId("completion"), inputs: { query: "x" }, files: [], user: "" }, s.md()),
      );
      expect(error).toBeUndefined();
    }
    const slow = s.c.completion.completionInvokeStream(
      { appId: s.appId("completion"), inputs: { query: "x", _sim: { events: 100, delay_ms: 20 } }, files: [], user: "" },
      s.md(),
    );
    slow.on("error", () => {});
    await new Promise<void>((r) => slow.once("data", () => r()));
    const during = await scrape();
    slow.cancel();
    await eventually(async () => expect((await s.sim.requests()).some((r) => r.path.endsWith("/stop"))).toBe(true));

    const { text, samples } = await eventually(async () => {
      const scraped = await scrape();
      expect(value(scraped.samples, "dify_gateway_stop_calls_total", { result: "ok" })).toBe(1);
      return scraped;
    });

    expect(value(during.samples, "dify_gateway_active_streams", { grpc_method: COMPLETION_STREAM })).toBe(1);
    expect(value(samples, "dify_gateway_active_streams", { grpc_method: COMPLETION_STREAM })).toBe(0);

    expect(value(samples, "grpc_server_call_started_total", { grpc_method: CHAT })).toBe(6);
    expect(value(samples, "grpc_server_call_started_total", { grpc_method: COMPLETION_STREAM })).toBe(3);
    const calls = (method: string, code: string) =>
      value(samples, "grpc_server_call_duration_seconds_count", { grpc_method: method, grpc_status: code });
    expect(calls(CHAT, "OK")).toBe(3);
    expect(calls(CHAT, "NOT_FOUND")).toBe(1);
    expect(calls(CHAT, "INVALID_ARGUMENT")).toBe(1);
    expect(calls(CHAT, "UNAUTHENTICATED")).toBe(1);
    expect(calls(COMPLETION_STREAM, "OK")).toBe(2);
    expect(calls(COMPLETION_STREAM, "CANCELLED")).toBe(1);

    const sent = value(samples, "grpc_server_call_sent_total_compressed_message_size_bytes_sum", { grpc_method: CHAT, grpc_status: "OK" });
    const received = value(samples, "grpc_server_call_rcvd_total_compressed_message_size_bytes_sum", {
      grpc_method: CHAT,
      grpc_status: "OK",
    });
    expect(sent).toBeGreaterThan(3 * 200);
    expect(received).toBeGreaterThan(3 * 40);
    expect(received).toBeLessThan(3 * 200);

    expect(
      value(samples, "dify_gateway_upstream_request_duration_seconds_count", { mode: "chat", workspace: "ws-test", outcome: "OK" }),
    ).toBe(3);
    expect(
      value(samples, "dify_gateway_upstream_time_to_first_event_seconds_count", {
        mode: "completion",
        workspace: "ws-test",
        outcome: "OK",
      }),
    ).toBe(2);
    expect(value(samples, "dify_gateway_cancellations_total", { grpc_method: COMPLETION_STREAM, reason: "CANCELLED" })).toBe(1);
    expect(value(samples, "process_resident_memory_bytes", {})).toBeGreaterThan(0);

    // Bounded label values: method names, codes, modes, configured workspace and app ids; never a secret, nor an app id
    // a caller typed that the config does not have.
    for (const secret of [TOKEN, "wrong-token", ...DEMO_APPS.map((a) => a.key), "nope"]) expect(text).not.toContain(secret);
    const configured = new Set(DEMO_APPS.map((a) => a.appId));
    for (const sample of samples.filter((x) => "app" in x.labels)) expect(configured.has(sample.labels.app!)).toBe(true);
    const workspaces = new Set(samples.map((x) => x.labels.workspace).filter(Boolean));
    expect([...workspaces]).toEqual(["ws-test"]);
  });

  it("answers 404 off /metrics", async () => {
    const res = await request(s.gw.metricsUrl!.replace("/metrics", "/"));
    expect(res.statusCode).toBe(404);
    await res.body.dump();
  });
});
