/**
 * Unary CPU per call with OpenTelemetry on (every call sampled, spans and metrics exported over OTLP/HTTP to a
 * local sink) against the same gateway with it off, interleaved round by round. Each round's CPU window includes
 * a pause after the load, so the batch exports that follow it are counted where they belong.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { TOKEN, UNARY_PATH, unaryRequestFrame } from "../app.js";
import { type CaseResult, type Context, log, resetSim, simRuns } from "../context.js";
import { grpcStatus, grpcTarget, h2load } from "../h2load.js";
import { cpuDuring } from "../procs.js";
import { startTracedGateway } from "../servers.js";
import { median, round } from "../stats.js";

/** More than the traced gateway's OTEL_BSP_SCHEDULE_DELAY: its last batch of the round is exported within it. */
const EXPORT_SETTLE_MS = 1_500;
const GOAL = 1.1;

export async function tracingCase(ctx: Context): Promise<CaseResult> {
  const { calls, warmupCalls, concurrency, connections } = ctx.settings.unary;
  const sink = await startSink();
  const traced = await startTracedGateway(ctx.dir, ctx.sim.url, sink.url);
  try {
    const frame = unaryRequestFrame();
    const subjects = [
      { name: "off", server: ctx.gateway, target: grpcTarget(ctx.dir, "tracing-off", ctx.gateway.address, UNARY_PATH, frame, TOKEN) },
      { name: "on", server: traced, target: grpcTarget(ctx.dir, "tracing-on", traced.address, UNARY_PATH, frame, TOKEN) },
    ];
    for (const { name, target } of subjects) {
      const status = await grpcStatus(target);
      if (status !== "0") throw new Error(`tracing: the gateway with tracing ${name} answered grpc-status ${status}, not 0`);
      await h2load(target, warmupCalls, concurrency, connections);
    }
    await new Promise((r) => setTimeout(r, EXPORT_SETTLE_MS));

    const cpu: Record<string, number[]> = { off: [], on: [] };
    const sinkBytesBefore = sink.bytes;
    for (let r = 0; r < ctx.settings.rounds; r++) {
      for (const { name, server, target } of subjects) {
        await resetSim(ctx);
        const { result, cpu: used } = await cpuDuring([server.proc], async () => {
          const load = await h2load(target, calls, concurrency, connections);
          await new Promise((done) => setTimeout(done, EXPORT_SETTLE_MS));
          return load;
        });
        const served = (await simRuns(ctx)).length;
        if (result.succeeded !== calls || served !== calls)
          throw new Error(`tracing ${name}: ${result.succeeded} succeeded, ${served} reached Dify, of ${calls}`);
        cpu[name]!.push(used[0]! / calls);
      }
      log(`tracing round ${r + 1}: on ${round(cpu.on!.at(-1)!)} µs/call, off ${round(cpu.off!.at(-1)!)} µs/call`);
    }
    const ratio = median(cpu.on!.map((on, i) => on / cpu.off![i]!));
    const on = round(median(cpu.on!));
    const off = round(median(cpu.off!));
    const exportedBytesPerCall = round((sink.bytes - sinkBytesBefore) / (calls * ctx.settings.rounds), 0);
    return {
      data: { calls, concurrency, onCpuUsPerCall: on, offCpuUsPerCall: off, cpuRatio: round(ratio, 3), exportedBytesPerCall, cpu },
      targets: [
        {
          target: "unary CPU per call, tracing on (100 % sampled, OTLP export) / off",
          measured: `${round(ratio, 2)}x (${on} vs ${off} µs; ${exportedBytesPerCall} B exported per call)`,
          limit: `≤ ${GOAL.toFixed(2)}x`,
          pass: ratio <= GOAL,
        },
      ],
    };
  } finally {
    await traced.proc.stop();
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
