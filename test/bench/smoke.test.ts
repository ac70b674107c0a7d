import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

/**
 * `npm run bench -- --smoke`, so the bench never rots: every case runs with tiny counts against real
 * processes and must produce numbers with every call succeeding. No timing is asserted: the smoke's
 * numbers mean nothing on a shared machine.
 */
// It took 88 s at load average 20 on 2 cores (mostly process start-ups); the timeout leaves room for worse.
it("the bench smoke runs every case to numbers, every call succeeding", async () => {
  const out = mkdtempSync(join(tmpdir(), "bench-smoke-"));
  // The bench throws (non-zero exit) on any failed call or a grpc-status other than 0.
  const { stdout } = await promisify(execFile)(process.execPath, ["dist/bench/run.js", "--smoke", "--out", out], { timeout: 290_000 });
  const result = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as {
    targets: { target: string; measured: string }[];
    cases: Record<string, Record<string, unknown>>;
  };

  expect(Object.keys(result.cases)).toEqual([
    "idle",
    "unary",
    "tracing",
    "latency",
    "streaming",
    "sharedLimits",
    "coldStart",
    "slowReaders",
    "memory",
  ]);
  const leaves = (v: unknown): unknown[] => (v !== null && typeof v === "object" ? Object.values(v).flatMap(leaves) : [v]);
  // NaN (a measurement with no samples) becomes null in JSON.
  expect(leaves(result.cases).filter((v) => v === null || (typeof v === "number" && !Number.isFinite(v)))).toEqual([]);

  // biome-ignore lint/suspicious/noExplicitAny: the bench report is JSON, read field by field below
  const { idle, unary, tracing, latency, streaming, sharedLimits, slowReaders, coldStart, memory } = result.cases as Record<string, any>;
  expect(idle.idleRssMiB).toBeGreaterThan(0);
  for (const subject of ["off", "traces", "all"]) expect(tracing.cpuUsPerCall[subject]).toBeGreaterThan(0);
  // Traces alone and traces with metrics both reach the collector.
  expect(tracing.exportedBytesPerCall.traces).toBeGreaterThan(0);
  expect(tracing.exportedBytesPerCall.all).toBeGreaterThan(0);
  for (const server of ["gateway", "streamingFloor", "blockingFloor", "gatewayClose", "streamingFloorClose"]) {
    expect(unary[server].cpuUsPerCall).toBeGreaterThan(0);
    expect(unary[server].rps).toBeGreaterThan(0);
  }
  for (const subject of ["gateway", "floor", "direct undici", "direct h2load --h1"])
    expect(latency.latency.c1[subject].p50Us).toBeGreaterThan(0);
  for (const subject of ["gateway", "direct", "floor"]) expect(streaming.events100[subject].eventsPerSec).toBeGreaterThan(0);
  expect(sharedLimits.p50UsAtC1.redis).toBeGreaterThan(0);
  expect(sharedLimits.cpuUsPerCall.inProcess).toBeGreaterThan(0);
  expect(slowReaders.failedStreams).toBe(0);
  expect(slowReaders.gatewayRssMiB.peak).toBeGreaterThan(0);
  expect(slowReaders.lead.maxEventsPerStream).toBeGreaterThanOrEqual(0);
  expect(coldStart.gatewayMs).toBeGreaterThan(0);
  expect(memory.points[0].kibPerStream).toEqual(expect.any(Number));
  expect(memory.points[0].cpuUsPerEvent).toBeGreaterThan(0);

  // One row per target of the issue, printed as the markdown table.
  expect(result.targets.map((t) => t.target)).toEqual([
    "idle RSS after start, production config",
    "unary CPU per call, gateway / streaming-mode floor (Dify keeps connections alive)",
    "unary CPU per call, gateway / streaming-mode floor (Dify closes after each stream)",
    "unary CPU per call, gateway / blocking floor",
    "unary CPU per call, tracing on (100 % sampled, OTLP export) / off",
    "unary CPU per call, tracing and OTLP metrics on (100 % sampled, OTLP export) / off",
    "added p50 latency at c=1, gateway − direct (both through h2load)",
    "added p50 latency at c=1, gateway − direct undici",
    "stream of 100 events: events/s, gateway / direct gRPC",
    "added p50 at c=1, Redis limiter − in-process limits",
    "unary CPU per call, Redis limiter / in-process limits",
    "cold start to SERVING",
    "20 slow-reader streams: gateway RSS",
    "20 slow-reader streams: buffering bounded per stream",
    "20 streams, readers keeping up (10 events/s each): memory per open stream",
  ]);
  expect(stdout).toContain("| target | measured | limit | result |");
}, 300_000);
