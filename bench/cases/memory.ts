/**
 * What an open stream costs when its reader keeps up: the gateway's RSS above idle and its CPU per relayed
 * event, at 100, 1,000 and 10,000 concurrent streams (Dify's pre-encoded producer, so one simulator process
 * feeds them all). Also the idle RSS right after start, with the production config.
 *
 * Per-stream memory is (median RSS over the window − RSS before the streams) / streams; growth is linear when
 * that figure holds from 100 to 10,000 streams, and the slope between the two largest runs is stated.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { type CaseResult, type Context, log, resetSim, restartGateway, type TargetRow } from "../context.js";
import { ROOT } from "../procs.js";
import { median, round } from "../stats.js";

interface Progress {
  t: number;
  answered: number;
  failed: number;
  errors: string[];
  sum: number;
  done?: boolean;
}

export interface GrowthPoint {
  streams: number;
  eventsPerSecPerStream: number;
  rssBeforeMiB: number;
  rssMiB: number;
  kibPerStream: number;
  cpuUsPerEvent: number;
  eventsPerSec: number;
  gatewayCpuShare: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Idle RSS: the freshly started gateway, nothing called yet. */
export async function idleCase(ctx: Context): Promise<CaseResult> {
  await sleep(ctx.smoke ? 200 : 2_000);
  const samples = [];
  for (let i = 0; i < 5; i++, await sleep(100)) samples.push(ctx.gateway.proc.rssMiB());
  const idle = median(samples);
  return {
    data: { idleRssMiB: round(idle) },
    targets: [{ target: "idle RSS after start, production config", measured: `${round(idle)} MiB`, limit: "≤ 80 MiB", pass: idle <= 80 }],
  };
}

async function point(ctx: Context, streams: number, delayMs: number): Promise<GrowthPoint> {
  const { windowMs, settleMs } = ctx.settings.memory;
  await resetSim(ctx);
  const rssBefore = ctx.gateway.proc.rssMiB();
  const client = spawn(
    process.execPath,
    ["dist/bench/stream-client.js", "keep", ctx.gateway.address, String(streams), String(delayMs), String(settleMs + windowMs)],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const exited = new Promise<number | null>((resolve) => client.once("exit", resolve));
  let latest: Progress | undefined;
  createInterface({ input: client.stdout }).on("line", (line) => (latest = JSON.parse(line) as Progress));
  const at = async (ms: number) => {
    while (!latest || latest.t < ms) {
      if (client.exitCode !== null) throw new Error(`memory: the stream client exited early (${client.exitCode})`);
      await sleep(20);
    }
    return { progress: latest, cpuUs: ctx.gateway.proc.cpuMicros(), wallMs: performance.now() };
  };
  const rss: number[] = [];
  try {
    const a = await at(settleMs);
    const sampler = setInterval(() => rss.push(ctx.gateway.proc.rssMiB()), 250);
    const b = await at(settleMs + windowMs - 600).finally(() => clearInterval(sampler));
    const code = await exited;
    if (code !== 0) throw new Error(`memory: the stream client exited ${code}`);
    if (b.progress.failed > 0)
      throw new Error(`memory: ${b.progress.failed} of ${streams} streams failed: ${b.progress.errors.join("; ")}`);
    const events = b.progress.sum - a.progress.sum;
    const seconds = (b.wallMs - a.wallMs) / 1000;
    const steady = median(rss);
    const result = {
      streams,
      eventsPerSecPerStream: 1000 / delayMs,
      rssBeforeMiB: round(rssBefore),
      rssMiB: round(steady),
      kibPerStream: round(((steady - rssBefore) * 1024) / streams),
      cpuUsPerEvent: round((b.cpuUs - a.cpuUs) / Math.max(1, events), 2),
      eventsPerSec: Math.round(events / seconds),
      gatewayCpuShare: round((b.cpuUs - a.cpuUs) / 1e6 / seconds, 3),
    };
    log(
      `memory ${streams} streams: RSS ${result.rssMiB} MiB (from ${result.rssBeforeMiB}), ${result.kibPerStream} KiB/stream, ${result.cpuUsPerEvent} µs/event at ${result.eventsPerSec}/s`,
    );
    return result;
  } finally {
    client.kill();
    // The runs wind down (1 stop call each) and the sockets close before the next point's "before".
    await sleep(ctx.smoke ? 500 : Math.min(15_000, 2_000 + streams));
  }
}

export async function memoryCase(ctx: Context): Promise<CaseResult> {
  const points: GrowthPoint[] = [];
  for (const { streams, delayMs } of ctx.settings.memory.points) {
    await restartGateway(ctx);
    points.push(await point(ctx, streams, delayMs));
  }
  const targets: TargetRow[] = points
    .filter((p) => p.streams >= 1_000 || ctx.smoke)
    .map((p) => ({
      target: `${p.streams.toLocaleString("en")} streams, readers keeping up (${p.eventsPerSecPerStream} events/s each): memory per open stream`,
      measured: `${p.kibPerStream} KiB (RSS ${p.rssMiB} MiB, ${p.rssBeforeMiB} before); ${p.cpuUsPerEvent} µs CPU per event`,
      limit: "≤ 64 KiB",
      pass: p.kibPerStream <= 64,
    }));
  const [x, y] = points.slice(-2);
  // The marginal cost of a stream between the two largest points (absent with one point: the smoke).
  const slope = x && y ? round(((y.rssMiB - y.rssBeforeMiB - (x.rssMiB - x.rssBeforeMiB)) * 1024) / (y.streams - x.streams)) : undefined;
  return { data: { points, ...(slope === undefined ? {} : { slopeKiBPerStream: slope }) }, targets };
}
