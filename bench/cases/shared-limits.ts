/**
 * The Redis limiter against the in-process one, same run, same limits (concurrency, both rates and a token budget,
 * all set high enough never to refuse): two gateways differing only in `limits.redis`, a local redis-server
 * (Debian's, on a free port). Added p50 at c=1 and unary CPU per call of the gateway process, interleaved rounds;
 * redis-server's own CPU is reported apart (it is the shared store's, not the gateway's).
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { TOKEN, UNARY_PATH, unaryRequestFrame } from "../app.js";
import { type CaseResult, type Context, log, resetSim, simRuns } from "../context.js";
import { grpcStatus, grpcTarget, h2load } from "../h2load.js";
import { BenchProcess, cpuDuring, startNode } from "../procs.js";
import { GATEWAY_ENV, gatewayConfig, type Server } from "../servers.js";
import { median, round } from "../stats.js";

const NEVER = 1_000_000_000;

export async function sharedLimitsCase(ctx: Context): Promise<CaseResult> {
  const redis = await startRedis(ctx.dir);
  const local = await startLimitedGateway(ctx, "gateway-local-limits", undefined);
  const shared = await startLimitedGateway(ctx, "gateway-redis-limits", `redis://127.0.0.1:${redis.port}`);
  try {
    const frame = unaryRequestFrame();
    const subjects = [
      ["in-process", local, grpcTarget(ctx.dir, "local-limits", local.address, UNARY_PATH, frame, TOKEN)],
      ["redis", shared, grpcTarget(ctx.dir, "redis-limits", shared.address, UNARY_PATH, frame, TOKEN)],
    ] as const;
    const { calls, warmupCalls, concurrency, connections } = ctx.settings.unary;
    const c1Calls = ctx.settings.latency.calls(1);
    for (const [name, , target] of subjects) {
      const status = await grpcStatus(target);
      if (status !== "0") throw new Error(`sharedLimits: ${name} answered grpc-status ${status}, not 0`);
      await h2load(target, warmupCalls, concurrency, connections);
    }
    const p50: Record<string, number[]> = { "in-process": [], redis: [] };
    const cpu: Record<string, number[]> = { "in-process": [], redis: [] };
    const redisCpu: number[] = [];
    for (let r = 0; r < ctx.settings.rounds; r++) {
      for (const [name, server, target] of subjects) {
        await resetSim(ctx);
        const lat = await h2load(target, c1Calls, 1, 1, ctx.dir);
        if (lat.succeeded !== c1Calls) throw new Error(`sharedLimits ${name}: ${lat.succeeded} of ${c1Calls} at c=1`);
        p50[name]!.push(lat.p50Us);
        await resetSim(ctx);
        const { result, cpu: used } = await cpuDuring([server.proc, redis.proc], () => h2load(target, calls, concurrency, connections));
        const served = (await simRuns(ctx)).length;
        if (result.succeeded !== calls || served !== calls)
          throw new Error(`sharedLimits ${name}: ${result.succeeded} succeeded, ${served} reached Dify, of ${calls}`);
        cpu[name]!.push(used[0]! / calls);
        if (name === "redis") redisCpu.push(used[1]! / calls);
      }
      log(
        `sharedLimits round ${r + 1}: p50 c=1 ${round(p50["in-process"]!.at(-1)!)} vs ${round(p50.redis!.at(-1)!)} µs, CPU ${round(cpu["in-process"]!.at(-1)!)} vs ${round(cpu.redis!.at(-1)!)} µs/call`,
      );
    }
    // Paired per round: both ran back to back, under the same background load.
    const addedMs = median(p50.redis!.map((v, i) => v - p50["in-process"]![i]!)) / 1000;
    const ratio = median(cpu.redis!.map((v, i) => v / cpu["in-process"]![i]!));
    const m = (xs: number[]) => round(median(xs));
    return {
      data: {
        p50UsAtC1: { inProcess: m(p50["in-process"]!), redis: m(p50.redis!) },
        cpuUsPerCall: { inProcess: m(cpu["in-process"]!), redis: m(cpu.redis!), redisServer: m(redisCpu) },
        addedP50AtC1Ms: round(addedMs, 3),
        cpuRatio: round(ratio, 3),
      },
      targets: [
        {
          target: "added p50 at c=1, Redis limiter − in-process limits",
          measured: `${round(addedMs, 3)} ms (${round(m(p50.redis!) / 1000, 2)} vs ${round(m(p50["in-process"]!) / 1000, 2)} ms)`,
          limit: "≤ 0.3 ms",
          pass: addedMs <= 0.3,
        },
        {
          target: "unary CPU per call, Redis limiter / in-process limits",
          measured: `${round(ratio, 2)}x (${m(cpu.redis!)} vs ${m(cpu["in-process"]!)} µs; redis-server ${m(redisCpu)} µs/call more)`,
          limit: "≤ 1.15x",
          pass: ratio <= 1.15,
        },
      ],
    };
  } finally {
    await Promise.all([local.proc.stop(), shared.proc.stop(), redis.proc.stop()]);
  }
}

async function startLimitedGateway(ctx: Context, name: string, redisUrl: string | undefined): Promise<Server> {
  const config = gatewayConfig(ctx.sim.url);
  config.limits = {
    maxConcurrentCallsPerWorkspace: 10_000,
    requestsPerMinutePerWorkspace: NEVER,
    requestsPerMinutePerToken: NEVER,
    tokensPerDayPerWorkspace: NEVER,
    ...(redisUrl ? { redis: { url: redisUrl, keyPrefix: `bench-${Date.now()}:` } } : {}),
  };
  const file = join(ctx.dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  const proc = startNode(ctx.dir, name, ["dist/src/main.js", "--config", file], GATEWAY_ENV);
  const line = await proc.waitForLine((l) => l.includes("gateway listening"));
  return { proc, address: `127.0.0.1:${(JSON.parse(line) as { port: number }).port}` };
}

/** Debian's redis-server on a free port of 127.0.0.1, no persistence; stopped by its PID with the others. */
async function startRedis(dir: string): Promise<{ proc: BenchProcess; port: number }> {
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
  const logFile = join(dir, "redis-server.log");
  const child = spawn(
    "/usr/bin/redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--logfile", logFile],
    {
      stdio: "ignore",
    },
  );
  const proc = new BenchProcess("redis-server", child, logFile);
  for (let i = 0; i < 200; i++) {
    try {
      if (proc.log().includes("Ready to accept connections")) return { proc, port };
    } catch {
      // The log file appears once redis-server starts.
    }
    await sleep(25);
  }
  throw new Error(`redis-server did not start on port ${port}`);
}
