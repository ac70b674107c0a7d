/**
 * Unary throughput and CPU per call, interleaved: the gateway against the streaming-mode floor (runs Dify in
 * streaming mode and aggregates, as the gateway must) and the blocking floor (Dify's blocking endpoint), with
 * the simulator keeping connections alive (Dify behind nginx), then gateway and streaming floor again with
 * `Connection: close` on every SSE response (`_sim.connection: "close"`). CPU comes from /proc/<pid>/stat of
 * each server; the simulator's CPU is the same work for all and is reported apart.
 */
import { TOKEN, UNARY_PATH, unaryRequestFrame } from "../app.js";
import { type CaseResult, type Context, log, resetSim, simRuns, type TargetRow } from "../context.js";
import { grpcStatus, grpcTarget, h2load, type Target } from "../h2load.js";
import { cpuDuring } from "../procs.js";
import type { Server } from "../servers.js";
import { median, round } from "../stats.js";

interface Round {
  rps: number;
  cpuUsPerCall: number;
  simCpuUsPerCall: number;
}

type Subject = "gateway" | "streamingFloor" | "blockingFloor" | "gatewayClose" | "streamingFloorClose";

export async function unaryCase(ctx: Context): Promise<CaseResult> {
  const { calls, warmupCalls, concurrency, connections } = ctx.settings.unary;
  const keepAlive = unaryRequestFrame();
  const close = unaryRequestFrame({ connection: "close" });
  const target = (name: string, server: Server, frame: Buffer) => grpcTarget(ctx.dir, name, server.address, UNARY_PATH, frame, TOKEN);
  const subjects: [Subject, Server, Target][] = [
    ["gateway", ctx.gateway, target("gateway", ctx.gateway, keepAlive)],
    ["streamingFloor", ctx.streamingFloor, target("streaming-floor", ctx.streamingFloor, keepAlive)],
    ["blockingFloor", ctx.floor, target("floor", ctx.floor, keepAlive)],
    ["gatewayClose", ctx.gateway, target("gateway-close", ctx.gateway, close)],
    ["streamingFloorClose", ctx.streamingFloor, target("streaming-floor-close", ctx.streamingFloor, close)],
  ];
  for (const [name, , t] of subjects) {
    const status = await grpcStatus(t);
    if (status !== "0") throw new Error(`unary: ${name} answered grpc-status ${status}, not 0`);
    await h2load(t, warmupCalls, concurrency, connections);
  }

  const rounds = Object.fromEntries(subjects.map(([name]) => [name, [] as Round[]])) as Record<Subject, Round[]>;
  for (let r = 0; r < ctx.settings.rounds; r++) {
    for (const [name, server, t] of subjects) {
      await resetSim(ctx);
      const { result, cpu } = await cpuDuring([server.proc, ctx.sim.proc], () => h2load(t, calls, concurrency, connections));
      // h2load counts HTTP 200; the simulator's count proves every call went through to Dify.
      const served = (await simRuns(ctx)).length;
      if (result.succeeded !== calls || served !== calls)
        throw new Error(`unary ${name}: ${result.succeeded} succeeded, ${served} reached Dify, of ${calls}`);
      rounds[name].push({ rps: result.rps, cpuUsPerCall: cpu[0]! / calls, simCpuUsPerCall: cpu[1]! / calls });
    }
    log(`unary round ${r + 1}: ${subjects.map(([n]) => `${n} ${round(rounds[n].at(-1)!.cpuUsPerCall)}`).join(", ")} µs/call`);
  }

  const summary = (rs: Round[]) => ({
    rps: round(median(rs.map((x) => x.rps))),
    cpuUsPerCall: round(median(rs.map((x) => x.cpuUsPerCall))),
    simulatorCpuUsPerCall: round(median(rs.map((x) => x.simCpuUsPerCall))),
  });
  // Paired per round: both ran back to back, under the same background load.
  const ratio = (a: Subject, b: Subject) => median(rounds[a].map((x, i) => x.cpuUsPerCall / rounds[b][i]!.cpuUsPerCall));
  const s = Object.fromEntries(subjects.map(([n]) => [n, summary(rounds[n])])) as Record<Subject, ReturnType<typeof summary>>;
  const row = (target: string, a: Subject, b: Subject, limit: number | undefined): TargetRow => {
    const x = ratio(a, b);
    return {
      target,
      measured: `${round(x, 2)}x (${s[a].cpuUsPerCall} vs ${s[b].cpuUsPerCall} µs; ${s[a].rps} vs ${s[b].rps} calls/s)`,
      limit: limit === undefined ? "for information" : `≤ ${limit}x`,
      pass: limit === undefined ? "info" : x <= limit,
    };
  };
  return {
    data: {
      calls,
      concurrency,
      ...s,
      ratios: {
        gatewayOverStreamingFloor: round(ratio("gateway", "streamingFloor"), 3),
        gatewayOverBlockingFloor: round(ratio("gateway", "blockingFloor"), 3),
        closeGatewayOverStreamingFloor: round(ratio("gatewayClose", "streamingFloorClose"), 3),
        gatewayCloseOverKeepAlive: round(ratio("gatewayClose", "gateway"), 3),
      },
      rounds,
    },
    targets: [
      row("unary CPU per call, gateway / streaming-mode floor (Dify keeps connections alive)", "gateway", "streamingFloor", 1.3),
      row("unary CPU per call, gateway / streaming-mode floor (Dify closes after each stream)", "gatewayClose", "streamingFloorClose", 1.3),
      row("unary CPU per call, gateway / blocking floor", "gateway", "blockingFloor", undefined),
    ],
  };
}
