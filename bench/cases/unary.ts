/**
 * Unary throughput and CPU per call, gateway vs floor, interleaved. CPU comes from /proc/<pid>/stat of each
 * server; the simulator's CPU is the same work for both and is reported apart.
 */
import { TOKEN, UNARY_PATH, unaryRequestFrame } from "../app.js";
import { type CaseResult, type Context, log, resetSim, simRuns } from "../context.js";
import { grpcStatus, grpcTarget, h2load, type Target } from "../h2load.js";
import { cpuDuring } from "../procs.js";
import type { Server } from "../servers.js";
import { median, round } from "../stats.js";

interface Round {
  rps: number;
  cpuUsPerCall: number;
  simCpuUsPerCall: number;
}

export async function unaryCase(ctx: Context): Promise<CaseResult> {
  const { calls, warmupCalls, concurrency, connections } = ctx.settings.unary;
  const frame = unaryRequestFrame();
  const subjects: [string, Server, Target][] = [
    ["gateway", ctx.gateway, grpcTarget(ctx.dir, "gateway", ctx.gateway.address, UNARY_PATH, frame, TOKEN)],
    ["floor", ctx.floor, grpcTarget(ctx.dir, "floor", ctx.floor.address, UNARY_PATH, frame, TOKEN)],
  ];
  for (const [name, , target] of subjects) {
    const status = await grpcStatus(target);
    if (status !== "0") throw new Error(`unary: ${name} answered grpc-status ${status}, not 0`);
    await h2load(target, warmupCalls, concurrency, connections);
  }

  const rounds: Record<string, Round[]> = { gateway: [], floor: [] };
  for (let r = 0; r < ctx.settings.rounds; r++) {
    for (const [name, server, target] of subjects) {
      await resetSim(ctx);
      const { result, cpu } = await cpuDuring([server.proc, ctx.sim.proc], () => h2load(target, calls, concurrency, connections));
      // h2load counts HTTP 200; the simulator's count proves every call went through to Dify.
      const served = (await simRuns(ctx)).length;
      if (result.succeeded !== calls || served !== calls)
        throw new Error(`unary ${name}: ${result.succeeded} succeeded, ${served} reached Dify, of ${calls}`);
      rounds[name]!.push({ rps: result.rps, cpuUsPerCall: cpu[0]! / calls, simCpuUsPerCall: cpu[1]! / calls });
    }
    log(
      `unary round ${r + 1}: gateway ${round(rounds.gateway!.at(-1)!.cpuUsPerCall)} µs/call, floor ${round(rounds.floor!.at(-1)!.cpuUsPerCall)} µs/call`,
    );
  }

  const summary = (rs: Round[]) => ({
    rps: round(median(rs.map((x) => x.rps))),
    cpuUsPerCall: round(median(rs.map((x) => x.cpuUsPerCall))),
    simulatorCpuUsPerCall: round(median(rs.map((x) => x.simCpuUsPerCall))),
  });
  // Paired per round: both ran back to back, under the same background load.
  const ratio = median(rounds.gateway!.map((g, i) => g.cpuUsPerCall / rounds.floor![i]!.cpuUsPerCall));
  const gateway = summary(rounds.gateway!);
  const floor = summary(rounds.floor!);
  return {
    data: { calls, concurrency, gateway, floor, cpuRatio: round(ratio, 3), rounds },
    targets: [
      {
        target: "unary CPU per call, gateway / floor",
        measured: `${round(ratio, 2)}x (${gateway.cpuUsPerCall} vs ${floor.cpuUsPerCall} µs; ${gateway.rps} vs ${floor.rps} calls/s)`,
        limit: "≤ 1.15x",
        pass: ratio <= 1.15,
      },
    ],
  };
}
