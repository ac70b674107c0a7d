/**
 * Unary CPU per call with OpenTelemetry on (every call sampled, exported over OTLP/HTTP to a local sink) against
 * the same gateway with it off, interleaved round by round. Two gateways are on: one exporting traces alone
 * (OTEL_METRICS_EXPORTER=none), which the goal is about, and one exporting traces and OTLP metrics, reported
 * beside it. Each round's CPU window includes a pause after the load, so the batch exports that follow it are
 * counted where they belong. The "off" gateway is a fresh one too, not the run's shared gateway: that one has
 * served every case before (the unary case alone is 22,000 calls), so its code and heap had settled where the
 * traced gateways' had 2,000 calls of warm-up; all three now start alike and get the same load in the same order.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { TOKEN, UNARY_PATH, unaryRequestFrame } from "../app.js";
import { type CaseResult, type Context, log, resetSim, simRuns, type TargetRow } from "../context.js";
import { grpcStatus, grpcTarget, h2load } from "../h2load.js";
import { cpuDuring } from "../procs.js";
import { type Server, startGateway, startTracedGateway } from "../servers.js";
import { median, round } from "../stats.js";

/** More than the traced gateway's OTEL_BSP_SCHEDULE_DELAY: its last batch of the round is exported within it. */
const EXPORT_SETTLE_MS = 1_500;
const GOAL = 1.1;

type Subject = "off" | "traces" | "all";

export async function tracingCase(ctx: Context): Promise<CaseResult> {
  const { calls, warmupCalls, concurrency, connections } = ctx.settings.unary;
  const sink = await startSink();
  const servers: Record<Subject, Server> = {
    off: await startGateway(ctx.dir, ctx.sim.url, "gateway-tracing-off"),
    traces: await startTracedGateway(ctx.dir, ctx.sim.url, sink.url, "gateway-traces", { OTEL_METRICS_EXPORTER: "none" }),
    all: await startTracedGateway(ctx.dir, ctx.sim.url, sink.url, "gateway-traces-metrics"),
  };
  try {
    const frame = unaryRequestFrame();
    const subjects = (Object.keys(servers) as Subject[]).map((name) => ({
      name,
      server: servers[name],
      target: grpcTarget(ctx.dir, `tracing-${name}`, servers[name].address, UNARY_PATH, frame, TOKEN),
    }));
    for (const { name, target } of subjects) {
      const status = await grpcStatus(target);
      if (status !== "0") throw new Error(`tracing: the gateway with telemetry ${name} answered grpc-status ${status}, not 0`);
      await h2load(target, warmupCalls, concurrency, connections);
    }
    await new Promise((r) => setTimeout(r, EXPORT_SETTLE_MS));

    const cpu: Record<Subject, number[]> = { off: [], traces: [], all: [] };
    const exported: Record<Subject, number> = { off: 0, traces: 0, all: 0 };
    for (let r = 0; r < ctx.settings.rounds; r++) {
      // Rotate the order each round, so no subject always runs first after the pause.
      for (const { name, server, target } of [...subjects.slice(r % 3), ...subjects.slice(0, r % 3)]) {
        await resetSim(ctx);
        const before = sink.bytes;
        const { result, cpu: used } = await cpuDuring([server.proc], async () => {
          const load = await h2load(target, calls, concurrency, connections);
          await new Promise((done) => setTimeout(done, EXPORT_SETTLE_MS));
          return load;
        });
        exported[name] += sink.bytes - before;
        const served = (await simRuns(ctx)).length;
        if (result.succeeded !== calls || served !== calls)
          throw new Error(`tracing ${name}: ${result.succeeded} succeeded, ${served} reached Dify, of ${calls}`);
        cpu[name].push(used[0]! / calls);
      }
      log(
        `tracing round ${r + 1}: off ${round(cpu.off.at(-1)!)}, traces ${round(cpu.traces.at(-1)!)}, traces+metrics ${round(cpu.all.at(-1)!)} µs/call`,
      );
    }
    const ratio = (name: Subject) => median(cpu[name].map((on, i) => on / cpu.off[i]!));
    const perCall = (name: Subject) => round(exported[name] / (calls * ctx.settings.rounds), 0);
    const row = (name: Exclude<Subject, "off">, what: string, goal: boolean): TargetRow => ({
      target: `unary CPU per call, ${what} (100 % sampled, OTLP export) / off`,
      measured: `${round(ratio(name), 2)}x (${round(median(cpu[name]))} vs ${round(median(cpu.off))} µs; ${perCall(name)} B exported per call)`,
      limit: goal ? `≤ ${GOAL.toFixed(2)}x` : "for information",
      pass: goal ? ratio(name) <= GOAL : "info",
    });
    return {
      data: {
        calls,
        concurrency,
        cpuRatio: { traces: round(ratio("traces"), 3), all: round(ratio("all"), 3) },
        cpuUsPerCall: { off: round(median(cpu.off)), traces: round(median(cpu.traces)), all: round(median(cpu.all)) },
        exportedBytesPerCall: { traces: perCall("traces"), all: perCall("all") },
        cpu,
      },
      targets: [row("traces", "tracing on", true), row("all", "tracing and OTLP metrics on", false)],
    };
  } finally {
    await servers.off.proc.stop();
    await servers.traces.proc.stop();
    await servers.all.proc.stop();
    await sink.close();
  }
}

/** A collector that accepts every OTLP/HTTP export and keeps only the byte count. */
async function startSink(): Promise<{ url: string; readonly bytes: number; close(): Promise<void> }> {
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/x-protobuf" });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get bytes() {
      return bytes;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
