/**
 * Latency at concurrency 1, 16 and 64: gateway and floor through h2load (one h2 connection, N streams in
 * flight), and the baseline a plugin has without the gateway: Dify's blocking endpoint called with undici.
 * The same call through h2load --h1 is shown too, to separate the client library's share from Dify's.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { APP_KEY, inputs, TOKEN, UNARY_PATH, USER, unaryRequestFrame } from "../app.js";
import { type CaseResult, type Context, log, resetSim } from "../context.js";
import { grpcTarget, h2load, type Target } from "../h2load.js";
import { runNodeJson } from "../procs.js";
import { median, round } from "../stats.js";

interface Sample {
  p50Us: number;
  p99Us: number;
}

export async function latencyCase(ctx: Context): Promise<CaseResult> {
  const frame = unaryRequestFrame();
  const h1Body = join(ctx.dir, "direct-h1.json");
  writeFileSync(h1Body, JSON.stringify({ inputs: inputs(), response_mode: "blocking", user: USER }));
  const h1: Target = {
    url: `${ctx.sim.url}/completion-messages`,
    headers: ["content-type: application/json", `authorization: Bearer ${APP_KEY}`],
    bodyFile: h1Body,
    h1: true,
  };
  const viaH2load = (t: Target) => async (calls: number, c: number) => {
    const r = await h2load(t, calls, c, 1, ctx.dir);
    if (r.succeeded !== calls) throw new Error(`latency: ${r.succeeded} of ${calls} succeeded at ${t.url}`);
    return r;
  };
  const subjects: [string, (calls: number, c: number) => Promise<Sample>][] = [
    ["gateway", viaH2load(grpcTarget(ctx.dir, "gateway", ctx.gateway.address, UNARY_PATH, frame, TOKEN))],
    ["floor", viaH2load(grpcTarget(ctx.dir, "floor", ctx.floor.address, UNARY_PATH, frame, TOKEN))],
    ["direct undici", (calls, c) => runNodeJson<Sample>("undici-load.js", [ctx.sim.url, String(c), String(calls)])],
    ["direct h2load --h1", viaH2load(h1)],
  ];

  const byConcurrency: Record<string, Record<string, { p50Us: number; p99Us: number }>> = {};
  const addedAtC1: number[] = [];
  const addedOverH1AtC1: number[] = [];
  for (const c of ctx.settings.latency.concurrencies) {
    const calls = ctx.settings.latency.calls(c);
    const samples: Record<string, Sample[]> = {};
    for (const [_name, measure] of subjects) await measure(Math.min(200, calls), c); // warm-up at this concurrency
    for (let r = 0; r < ctx.settings.rounds; r++) {
      for (const [name, measure] of subjects) {
        await resetSim(ctx);
        (samples[name] ??= []).push(await measure(calls, c));
      }
      if (c === 1) {
        addedAtC1.push(samples.gateway!.at(-1)!.p50Us - samples["direct undici"]!.at(-1)!.p50Us);
        addedOverH1AtC1.push(samples.gateway!.at(-1)!.p50Us - samples["direct h2load --h1"]!.at(-1)!.p50Us);
      }
    }
    byConcurrency[`c${c}`] = Object.fromEntries(
      Object.entries(samples).map(([name, s]) => [
        name,
        { p50Us: round(median(s.map((x) => x.p50Us))), p99Us: round(median(s.map((x) => x.p99Us))) },
      ]),
    );
    log(
      `latency c=${c}: ${Object.entries(byConcurrency[`c${c}`]!)
        .map(([n, v]) => `${n} p50 ${v.p50Us} µs`)
        .join(", ")}`,
    );
  }
  const addedMs = median(addedAtC1) / 1000;
  const addedOverH1Ms = median(addedOverH1AtC1) / 1000;
  const c1 = byConcurrency.c1!;
  const ms = (us: number) => round(us / 1000, 2);
  return {
    data: { latency: byConcurrency, addedP50AtC1Ms: round(addedMs, 3), addedP50OverH1AtC1Ms: round(addedOverH1Ms, 3) },
    targets: [
      {
        // The same client tool both ways (h2load), so the client library's own speed cancels out.
        target: "added p50 latency at c=1, gateway − direct (both through h2load)",
        measured: `${round(addedOverH1Ms, 2)} ms (${ms(c1.gateway!.p50Us)} vs ${ms(c1["direct h2load --h1"]!.p50Us)} ms)`,
        limit: "≤ 0.25 ms",
        pass: addedOverH1Ms <= 0.25,
      },
      {
        target: "added p50 latency at c=1, gateway − direct undici",
        measured: `${round(addedMs, 2)} ms (${ms(c1.gateway!.p50Us)} vs ${ms(c1["direct undici"]!.p50Us)} ms)`,
        limit: "for information",
        pass: "info",
      },
    ],
  };
}
