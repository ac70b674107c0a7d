/** Starts the four servers a bench run measures: simulator, gateway, floor and direct stream server. */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { APP_ID, APP_KEY, TOKEN } from "./app.js";
import { type BenchProcess, startNode } from "./procs.js";

export interface Server {
  proc: BenchProcess;
  /** host:port */
  address: string;
}

const portOf = (line: string): number => (JSON.parse(line) as { port: number }).port;

/** Dify in fast mode: no delay between tokens; keep-alive pings at Dify's own 10 s. */
export async function startSimulator(dir: string): Promise<Server & { url: string }> {
  const proc = startNode(dir, "simulator", [
    "dist/simulator/main.js",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--token-delay-ms",
    "0",
    "--ping-interval-ms",
    "10000",
  ]);
  const line = await proc.waitForLine((l) => l.startsWith("{") && l.includes('"url"'));
  const { url, port } = JSON.parse(line) as { url: string; port: number };
  return { proc, url, address: `127.0.0.1:${port}` };
}

/**
 * The production-like gateway config, in ONE place: auth on (one bearer token, known only by its sha256),
 * metrics on, info logs (to a file). The app's mode is configured, as operators do, so no /info call is made.
 */
export function gatewayConfig(difyBaseUrl: string, listen = "127.0.0.1:0"): Record<string, unknown> {
  return {
    server: { listen },
    metrics: { enabled: true, listen: "127.0.0.1:0" },
    log: { level: "info" },
    // The slow-reader case holds 1,000 streams of one workspace; the default limit (100) would refuse 900 of them.
    limits: { maxConcurrentCallsPerWorkspace: 10_000 },
    workspaces: [
      {
        id: "bench",
        difyBaseUrl,
        tokens: [{ sha256: createHash("sha256").update(TOKEN).digest("hex") }],
        apps: [{ appId: APP_ID, key: { env: "BENCH_APP_KEY" }, mode: "completion" }],
      },
    ],
  };
}

export function writeGatewayConfig(dir: string, difyBaseUrl: string, listen?: string, name = "gateway"): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(gatewayConfig(difyBaseUrl, listen), null, 2));
  return file;
}

/**
 * The runtime image's environment (the Dockerfile's last stage sets it; test/deploy/dockerfile.test.ts checks they
 * agree): the bench measures the gateway as it ships. MALLOC_ARENA_MAX=2 is what keeps the idle RSS of some starts
 * ~3 MiB lower (docs/PERFORMANCE.md, "Idle RSS, fifth pass"). A preloaded jemalloc was measured and not kept
 * (docs/PERFORMANCE.md, "Allocator, 2026-12-06").
 */
export const CONTAINER_ENV = { NODE_ENV: "production", MALLOC_ARENA_MAX: "2" };

export const GATEWAY_ENV = { ...CONTAINER_ENV, BENCH_APP_KEY: APP_KEY };

/** `name` names its log file: a restarted gateway gets its own, or the old "listening" line would be read. */
export async function startGateway(dir: string, difyBaseUrl: string, name = "gateway"): Promise<Server> {
  const config = writeGatewayConfig(dir, difyBaseUrl);
  const proc = startNode(dir, name, ["dist/src/main.js", "--config", config], GATEWAY_ENV);
  return { proc, address: `127.0.0.1:${portOf(await proc.waitForLine((l) => l.includes("gateway listening")))}` };
}

/**
 * The same gateway with OpenTelemetry on, configured as operators do (OTEL_* variables): every call sampled, spans
 * exported to `otlpUrl` in the SDK's default batches of 512. The queue is large enough that no span is dropped at
 * bench rates (the default 2,048 can fill between two exports), so every span's cost is paid; the 1 s delay (default
 * 5 s) exports a round's last partial batch within the round's window (see cases/tracing.ts).
 */
/** `name` tells the gateways apart; `env` adds OTEL_* variables (e.g. OTEL_METRICS_EXPORTER=none). */
export async function startTracedGateway(
  dir: string,
  difyBaseUrl: string,
  otlpUrl: string,
  name = "gateway-traced",
  env: Record<string, string> = {},
): Promise<Server> {
  const config = writeGatewayConfig(dir, difyBaseUrl, undefined, name);
  const proc = startNode(dir, name, ["dist/src/main.js", "--config", config], {
    ...GATEWAY_ENV,
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl,
    OTEL_TRACES_SAMPLER: "always_on",
    OTEL_BSP_MAX_QUEUE_SIZE: "100000",
    OTEL_BSP_SCHEDULE_DELAY: "1000",
    ...env,
  });
  return { proc, address: `127.0.0.1:${portOf(await proc.waitForLine((l) => l.includes("gateway listening")))}` };
}

/** `unary`: how the floor's unary calls Dify, blocking (the plain floor) or streaming and aggregating. */
export async function startFloor(dir: string, difyBaseUrl: string, unary: "blocking" | "streaming" = "blocking"): Promise<Server> {
  const name = unary === "blocking" ? "floor" : "floor-streaming";
  const proc = startNode(dir, name, ["dist/bench/floor.js", difyBaseUrl, unary]);
  return { proc, address: `127.0.0.1:${portOf(await proc.waitForLine((l) => l.includes('"port"')))}` };
}

export async function startDirect(dir: string): Promise<Server> {
  const proc = startNode(dir, "direct", ["dist/bench/direct-stream.js"]);
  return { proc, address: `127.0.0.1:${portOf(await proc.waitForLine((l) => l.includes('"port"')))}` };
}
