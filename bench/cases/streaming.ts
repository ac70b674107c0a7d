/**
 * Time to first event and events/s of one stream of N deltas: gateway (from the simulator, no token delay),
 * the direct gRPC server (same messages, no upstream) and the floor relay, interleaved.
 */
import { type CaseResult, type Context, log, resetSim } from "../context.js";
import { runNodeJson } from "../procs.js";
import { median, round } from "../stats.js";

interface StreamSample {
  events: number;
  ttfeMs: number;
  eventsPerSec: number;
}

export async function streamingCase(ctx: Context): Promise<CaseResult> {
  const subjects = [
    ["gateway", ctx.gateway.address],
    ["direct", ctx.direct.address],
    ["floor", ctx.floor.address],
  ] as const;
  const data: Record<string, unknown> = {};
  const targets = [];
  for (const events of ctx.settings.streaming.events) {
    const samples: Record<string, StreamSample[]> = { gateway: [], direct: [], floor: [] };
    for (let r = 0; r < ctx.settings.rounds; r++) {
      for (const [name, address] of subjects) {
        await resetSim(ctx);
        samples[name]!.push(await runNodeJson<StreamSample>("stream-client.js", ["fast", address, String(events)]));
      }
    }
    const summary = Object.fromEntries(
      Object.entries(samples).map(([name, s]) => [
        name,
        { ttfeMs: round(median(s.map((x) => x.ttfeMs)), 2), eventsPerSec: Math.round(median(s.map((x) => x.eventsPerSec))) },
      ]),
    );
    const ratio = median(samples.gateway!.map((g, i) => g.eventsPerSec / samples.direct![i]!.eventsPerSec));
    data[`events${events}`] = { ...summary, ratio: round(ratio, 3), rounds: samples };
    log(
      `stream ${events}: gateway ${summary.gateway!.eventsPerSec}/s, direct ${summary.direct!.eventsPerSec}/s, floor ${summary.floor!.eventsPerSec}/s`,
    );
    targets.push({
      target: `stream of ${events.toLocaleString("en")} events: events/s, gateway / direct gRPC`,
      measured: `${round(ratio, 2)}x (${summary.gateway!.eventsPerSec} vs ${summary.direct!.eventsPerSec}/s; first event ${summary.gateway!.ttfeMs} vs ${summary.direct!.ttfeMs} ms)`,
      limit: "≥ 0.9x",
      pass: ratio >= 0.9,
    });
  }
  return { data, targets };
}
