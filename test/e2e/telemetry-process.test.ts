import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoAppId, demoWorkspaceConfig, TOKEN } from "../helpers/demo-workspace.js";
import { bearer, clients, unary } from "../helpers/grpc.js";
import { type OtlpReceiver, startOtlpReceiver } from "../helpers/otlp-receiver.js";
import { type GatewayProcess, type SimulatorProcess, startGatewayProcess, startSimulatorProcess } from "../helpers/processes.js";

/*
 * The built gateway (the bundle `npm start` runs), with every module it loads recorded by a preload
 * (test/helpers/module-log/): OpenTelemetry is off without an endpoint and then loads nothing, and is
 * configured by the standard variables when on.
 *
 * What "nothing" covers: no file of any @opentelemetry package is loaded. @opentelemetry/api's code is inside
 * the bundle (prom-client's process CPU metric requires it, since before telemetry existed) and runs there.
 */

const PRELOAD = new URL("../helpers/module-log/preload.mjs", import.meta.url).href;
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

let sim: SimulatorProcess;
let otlp: OtlpReceiver;
beforeAll(async () => {
  sim = await startSimulatorProcess();
  otlp = await startOtlpReceiver();
});
afterAll(async () => {
  await sim?.proc.stop();
  await otlp?.close();
});

/** Starts the gateway with `env`, makes one traced chat call, stops it (which flushes any export), and returns the modules it loaded. */
async function oneCall(env: NodeJS.ProcessEnv): Promise<{ modules: string[]; gw: GatewayProcess }> {
  const moduleLog = join(mkdtempSync(join(tmpdir(), "gw-modules-")), "modules.log");
  const { config, env: keys } = demoWorkspaceConfig(sim.url, {});
  const gw = await startGatewayProcess(config, { ...keys, ...env, NODE_OPTIONS: `--import ${PRELOAD}`, MODULE_LOG: moduleLog });
  const c = clients(gw.address);
  const md = bearer(TOKEN);
  md.set("traceparent", `00-${TRACE}-b7ad6b7169203331-01`);
  try {
    await unary(
      c.chat.chatInvoke,
      c.chat,
      { appId: demoAppId("chat"), query: "hello", inputs: {}, files: [], user: "", conversationId: "" },
      md,
    );
  } finally {
    c.close();
    expect(await gw.proc.stop()).toBe(0);
  }
  return { modules: readFileSync(moduleLog, "utf8").split("\n").filter(Boolean), gw };
}

const otel = (modules: string[]) => [...new Set(modules.filter((l) => l.includes("@opentelemetry/")).map(packageOf))];
function packageOf(line: string): string {
  return /@opentelemetry\/[^/]+/.exec(line)![0];
}

describe("OpenTelemetry in the built gateway", () => {
  it("without an endpoint: loads no OpenTelemetry module and exports nothing, whatever the other OTEL_* variables say", async () => {
    const { modules } = await oneCall({
      // Where the SDK would send, were it loaded: its signal-specific variables, which the gateway does not read.
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${otlp.url}/v1/traces`,
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${otlp.url}/v1/metrics`,
      OTEL_SERVICE_NAME: "should-not-export",
    });
    // The record sees both kinds of module: the bundle (ESM) and what it requires from node_modules (CommonJS).
    expect(modules.some((l) => l.startsWith("esm ") && l.endsWith("/dist/src/main.js"))).toBe(true);
    expect(modules.some((l) => l.startsWith("cjs ") && l.includes("/node_modules/@grpc/grpc-js/"))).toBe(true);
    expect(otel(modules)).toEqual([]);
    expect(otlp.exports).toHaveLength(0);
  });

  it("with OTEL_EXPORTER_OTLP_ENDPOINT: loads the SDK and exports the call's spans and metrics, as http/json when asked", async () => {
    const { modules } = await oneCall({
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: "gw-under-test",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=test",
    });
    expect(otel(modules)).toEqual(expect.arrayContaining(["@opentelemetry/sdk-trace-node", "@opentelemetry/exporter-trace-otlp-http"]));
    expect(otel(modules)).not.toContain("@opentelemetry/exporter-trace-otlp-proto");
    for (const e of otlp.exports) expect(e.contentType).toBe("application/json");
    const spans = otlp.spans().filter((s) => s.traceId === TRACE);
    expect(spans.map((s) => s.name).sort()).toEqual(["GET /info", "POST /chat-messages", "dify.app.v1.ChatService/ChatInvoke"]);
    expect(spans[0]!.resource).toMatchObject({ "service.name": "gw-under-test", "deployment.environment.name": "test" });
    expect(otlp.points().some((p) => p.metric === "gen_ai.client.token.usage")).toBe(true);
  });
});
