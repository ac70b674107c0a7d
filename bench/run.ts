/**
 * `npm run bench [-- --smoke] [-- --update-docs]`: starts the simulator, the gateway, the floor and the direct
 * stream server on 127.0.0.1, runs every case, writes bench/results/latest.{json,md} and prints the table.
 * --smoke runs each case for seconds with tiny counts: its numbers mean nothing, only that they exist.
 * --only CASE[,CASE] runs those cases (idle, unary, tracing, latency, streaming, sharedLimits, coldStart, slowReaders,
 * memory); --keep keeps the process logs.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { coldStartCase } from "./cases/cold-start.js";
import { latencyCase } from "./cases/latency.js";
import { idleCase, memoryCase } from "./cases/memory.js";
import { sharedLimitsCase } from "./cases/shared-limits.js";
import { slowReadersCase } from "./cases/slow-readers.js";
import { streamingCase } from "./cases/streaming.js";
import { tracingCase } from "./cases/tracing.js";
import { unaryCase } from "./cases/unary.js";
import { type CaseResult, type Context, log } from "./context.js";
import { ROOT } from "./procs.js";
import { markdownTable, updateDoc } from "./report.js";
import { type Server, startDirect, startFloor, startGateway, startSimulator } from "./servers.js";
import { FULL, SMOKE } from "./settings.js";

const { values } = parseArgs({
  options: {
    smoke: { type: "boolean" },
    "update-docs": { type: "boolean" },
    out: { type: "string" },
    only: { type: "string" },
    keep: { type: "boolean" },
  },
});
const smoke = values.smoke ?? false;
const outDir = values.out ?? join(ROOT, smoke ? "bench/results/smoke" : "bench/results");
const dir = mkdtempSync(join(tmpdir(), "gw-bench-"));
const startedAt = Date.now();
log(`${smoke ? "smoke" : "full"} run; process logs in ${dir}`);

const sim = await startSimulator(dir);
const starting = [startGateway(dir, sim.url), startFloor(dir, sim.url), startFloor(dir, sim.url, "streaming"), startDirect(dir)] as const;
const started = await Promise.allSettled(starting);
const servers = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
if (servers.length < starting.length) {
  await Promise.all([...servers, sim].map((s) => s.proc.stop()));
  throw started.find((s) => s.status === "rejected")?.reason;
}
const [gateway, floor, streamingFloor, direct] = servers as [Server, Server, Server, Server];
const ctx: Context = { dir, smoke, settings: smoke ? SMOKE : FULL, sim, gateway, floor, streamingFloor, direct };

const cases: [string, (c: Context) => Promise<CaseResult>][] = [
  ["idle", idleCase],
  ["unary", unaryCase],
  ["tracing", tracingCase],
  ["latency", latencyCase],
  ["streaming", streamingCase],
  // Its own two gateways and redis-server, started and stopped within the case.
  ["sharedLimits", sharedLimitsCase],
  // Before the slow readers: their 1,000 runs keep the simulator and the gateway busy winding down for seconds
  // after the case, and a start-up timed then measured that (457 ms, against 307-357 ms alone).
  ["coldStart", coldStartCase],
  ["slowReaders", slowReadersCase],
  ["memory", memoryCase],
];
// Both measure RSS above a fresh gateway's (restartGateway): what an earlier case left allocated is not theirs.
const results: Record<string, CaseResult> = {};
let failure: unknown;
try {
  for (const [name, run] of cases.filter(([name]) => values.only === undefined || values.only.split(",").includes(name))) {
    log(`case ${name}`);
    results[name] = await run(ctx);
  }
} catch (err) {
  failure = err;
} finally {
  await Promise.all([ctx.gateway, ...servers.slice(1), sim].map((s) => s.proc.stop()));
}
if (failure) {
  log(`FAILED; process logs kept in ${dir}`);
  throw failure;
}

const rows = Object.values(results).flatMap((r) => r.targets);
const table = markdownTable(rows);
const machine = `${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, load average ${loadavg()
  .map((l) => l.toFixed(1))
  .join(" ")} at the end, Node ${process.version}`;
const summary = `${table}\n\n${smoke ? "Smoke run (tiny counts: the numbers mean nothing). " : ""}${new Date().toISOString().slice(0, 16)}Z, ${Math.round((Date.now() - startedAt) / 1000)} s; ${machine}.`;
mkdirSync(outDir, { recursive: true });
writeFileSync(
  join(outDir, "latest.json"),
  `${JSON.stringify({ smoke, date: new Date().toISOString(), machine, targets: rows, cases: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.data])) }, null, 2)}\n`,
);
writeFileSync(join(outDir, "latest.md"), `${summary}\n`);
if (values["update-docs"] && !smoke) updateDoc(join(ROOT, "docs/PERFORMANCE.md"), summary);
process.stdout.write(`${summary}\n`);
if (!values.keep) rmSync(dir, { recursive: true, force: true });
