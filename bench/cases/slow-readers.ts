/**
 * Many concurrent streams whose readers take one event per `readIntervalMs` while Dify produces one per
 * `produceDelayMs` (10x faster). Measures the gateway's RSS (peak, steady) and proves that the gateway stops
 * reading from Dify instead of buffering: the simulator counts the events it managed to write per stream
 * (its writes wait for the socket to drain), the readers count what they got, and the difference, the
 * "lead", is everything in flight: simulator, kernel sockets, gateway, HTTP/2 windows, client buffers.
 *
 * The proof is strict. A bounded pipeline keeps the lead constant while readers lag; an unbounded one grows
 * it by (produce rate − read rate) per second. The verdict is "no proof" (not a pass) when the producer could
 * not have outrun the readers anyway: it was starved of CPU (the machine paced it), streams failed or
 * finished, or the readers were not 10x slower.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { request } from "undici";
import { APP_KEY, inputs, USER } from "../app.js";
import { type CaseResult, type Context, log, resetSim, restartGateway, simRuns } from "../context.js";
import { ROOT } from "../procs.js";
import { median, round } from "../stats.js";

interface Progress {
  t: number;
  streams: number;
  failed: number;
  ended: number;
  errors: string[];
  min: number;
  max: number;
  sum: number;
  rssMiB: number;
  peakRssMiB: number;
}

interface Snapshot {
  atMs: number;
  delivered: Progress;
  sent: number[];
  simCpuUs: number;
  simWaitUs: number;
}

/** Bytes per SSE event as the simulator writes them, to turn a lead in events into bytes. */
async function sseBytesPerEvent(ctx: Context, answerBytes: number): Promise<number> {
  const events = 100;
  const res = await request(`${ctx.sim.url}/completion-messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${APP_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({
      inputs: inputs(events, 0, { producer: "preencoded", answer_bytes: answerBytes }),
      response_mode: "streaming",
      user: USER,
    }),
  });
  return (await res.body.text()).length / (events + 1);
}

export async function slowReadersCase(ctx: Context): Promise<CaseResult> {
  const s = ctx.settings.slowReaders;
  const bytesPerEvent = await sseBytesPerEvent(ctx, s.answerBytes);
  await restartGateway(ctx);
  await resetSim(ctx);
  const rssBefore = ctx.gateway.proc.rssMiB();
  const start = performance.now();
  const elapsed = () => performance.now() - start;
  const reader = spawn(
    process.execPath,
    [
      "dist/bench/stream-client.js",
      "slow",
      ctx.gateway.address,
      ...[s.streams, s.events, s.produceDelayMs, s.readIntervalMs, s.durationMs, s.answerBytes].map(String),
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
  );
  let latest: Progress | undefined;
  let final: Progress | undefined;
  const exited = new Promise<number | null>((resolve) => reader.once("exit", resolve));
  createInterface({ input: reader.stdout }).on("line", (line) => {
    const p = JSON.parse(line) as Progress & { delivered?: number[] };
    if (p.delivered) final = p;
    else latest = p;
  });

  const rss: { atMs: number; mib: number }[] = [];
  const sampler = setInterval(() => rss.push({ atMs: elapsed(), mib: ctx.gateway.proc.rssMiB() }), 250);
  let readerExited = false;
  void exited.then(() => (readerExited = true));
  /** At `atMs` on the reader's clock, which starts once its streams are open (process start-up varies a lot). */
  const snapshot = async (atMs: number): Promise<Snapshot> => {
    while (!latest || latest.t < atMs) {
      if (readerExited) throw new Error(`slow readers: the reader exited before ${atMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const delivered = latest;
    const sent = (await simRuns(ctx)).map((r) => r.eventsSent ?? 0);
    return { atMs: elapsed(), delivered, sent, simCpuUs: ctx.sim.proc.cpuMicros(), simWaitUs: ctx.sim.proc.runQueueWaitMicros() };
  };
  let a: Snapshot, b: Snapshot;
  try {
    a = await snapshot(s.t1Ms);
    b = await snapshot(s.t2Ms);
    const code = await exited;
    if (code !== 0 || !final) throw new Error(`slow readers: the reader exited ${code}`);
  } finally {
    clearInterval(sampler);
    reader.kill();
  }

  // Rates use the reader's clock; the orchestrator's must agree, or some process was starved between samples.
  const windowS = (b.delivered.t - a.delivered.t) / 1000;
  const orchestratorWindowS = (b.atMs - a.atMs) / 1000;
  const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
  const produceRate = 1000 / s.produceDelayMs;
  const readRate = (b.delivered.sum - a.delivered.sum) / s.streams / windowS;
  const sentRate = (sum(b.sent) - sum(a.sent)) / s.streams / windowS;
  const meanLead = (x: Snapshot) => (sum(x.sent) - x.delivered.sum) / s.streams;
  const leadGrowth = meanLead(b) - meanLead(a);
  /** What an unbounded buffer would have added to each stream's lead over the window. */
  const unboundedGrowth = (produceRate - readRate) * windowS;
  const maxLead = Math.max(...b.sent) - b.delivered.min;
  const simBusy = (b.simCpuUs - a.simCpuUs + (b.simWaitUs - a.simWaitUs)) / 1e6 / windowS;

  const noProof: string[] = [];
  if (b.sent.length !== s.streams || final.failed > 0)
    noProof.push(
      `${b.sent.length} of ${s.streams} streams reached Dify, ${final.failed} failed${final.errors.length > 0 ? ` (${final.errors.join("; ")})` : ""}`,
    );
  if (Math.abs(orchestratorWindowS - windowS) > 0.25 * windowS)
    noProof.push(
      `processes starved: the samples were ${round(windowS, 1)} s apart for the reader, ${round(orchestratorWindowS, 1)} s for the bench`,
    );
  if (Math.max(...b.sent) >= s.events) noProof.push("a stream ran to its end");
  if (readRate <= 0) noProof.push("the readers received nothing in the window");
  else if (produceRate < 10 * readRate) noProof.push(`readers were only ${round(produceRate / readRate)}x slower than Dify`);
  if (simBusy >= 0.5)
    noProof.push(`machine-paced: the simulator was running or waiting for a CPU ${Math.round(simBusy * 100)} % of the window`);
  const bounded = leadGrowth <= 0.1 * unboundedGrowth;
  const proof = noProof.length > 0 ? null : bounded;

  const inWindow = rss.filter((x) => x.atMs >= a.atMs && x.atMs <= b.atMs).map((x) => x.mib);
  const peak = Math.max(...rss.map((x) => x.mib));
  const steady = median(inWindow);
  const leadKiB = (maxLead * bytesPerEvent) / 1024;
  log(
    `slow readers: RSS peak ${round(peak)} MiB, steady ${round(steady)}; lead ≤ ${maxLead} events, grew ${round(leadGrowth)} vs ${round(unboundedGrowth)} unbounded; ${noProof.join("; ") || "proof holds"}`,
  );
  const label = `${s.streams.toLocaleString("en")} slow-reader streams`;
  return {
    data: {
      streams: s.streams,
      failedStreams: final.failed,
      produceEventsPerSecPerStream: produceRate,
      readEventsPerSecPerStream: round(readRate, 2),
      simulatorSentEventsPerSecPerStream: round(sentRate, 2),
      windowSeconds: round(windowS, 1),
      orchestratorWindowSeconds: round(orchestratorWindowS, 1),
      gatewayRssMiB: { before: round(rssBefore), peak: round(peak), steady: round(steady) },
      readerProcessRssMiB: { peak: final.peakRssMiB },
      lead: {
        maxEventsPerStream: maxLead,
        maxKiBPerStream: round(leadKiB),
        meanAtT1: round(meanLead(a)),
        meanAtT2: round(meanLead(b)),
        growth: round(leadGrowth, 1),
        unboundedGrowth: round(unboundedGrowth, 1),
        bytesPerEvent: round(bytesPerEvent),
      },
      simulatorBusyShare: round(simBusy, 3),
      proof: proof === null ? `no proof: ${noProof.join("; ")}` : bounded ? "bounded" : "unbounded: the lead grew",
    },
    targets: [
      {
        target: `${label}: gateway RSS`,
        measured: `peak ${round(peak)} MiB, steady ${round(steady)} MiB (idle ${round(rssBefore)})`,
        limit: `≤ idle + 128 MiB (${round(rssBefore + 128)})`,
        pass: peak <= rssBefore + 128,
      },
      {
        target: `${label}: buffering bounded per stream`,
        measured:
          proof === null
            ? `no proof (${noProof.join("; ")})`
            : `lead ≤ ${maxLead} events (${round(leadKiB)} KiB) per stream; mean lead grew ${round(leadGrowth, 1)} events in ${round(windowS)} s, unbounded would grow ${Math.round(unboundedGrowth)}; Dify sent ${round(sentRate, 1)}/s, readers took ${round(readRate, 1)}/s`,
        limit: "lead constant while readers lag 10x",
        pass: proof,
      },
    ],
  };
}
