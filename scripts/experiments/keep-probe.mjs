#!/usr/bin/env node
// Memory per open stream, A/B interleaved (issue 18). Not part of npm test; run against dist/ (`npm run build`).
//   node scripts/experiments/keep-probe.mjs --streams 1000 --delay-ms 100 --rounds 2 --variants 'A=;B=GW_X=1' [--snapshot]
// For each round and each variant (NAME=ENV_ASSIGNMENTS, space-separated, applied to the gateway process only), starts a
// fresh gateway (the bench's config, mem-probe.cjs preloaded), waits 2 s, opens the streams with the bench's
// stream-client (pre-encoded producer, readers keeping up), and after 5 s of settling samples the gateway for 15 s:
// RSS from /proc, heapUsed / external / arrayBuffers from the probe. --snapshot then writes a heap snapshot
// (heap-snapshot.cjs) with the streams still open. Results: one JSON line per measurement, then all of them.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

const ROOT = new URL("../../", import.meta.url).pathname;
const { gatewayConfig, GATEWAY_ENV } = await import(join(ROOT, "dist/bench/servers.js"));
const { values: a } = parseArgs({
  options: {
    streams: { type: "string", default: "1000" },
    "delay-ms": { type: "string", default: "100" },
    rounds: { type: "string", default: "2" },
    variants: { type: "string", default: "base=" },
    snapshot: { type: "boolean", default: false },
    settle: { type: "string", default: "5000" },
    window: { type: "string", default: "15000" },
    "node-args": { type: "string", default: "" },
  },
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const dir = mkdtempSync(join(tmpdir(), "keep-probe-"));
const children = new Set();
process.on("exit", () => children.forEach((c) => c.kill("SIGKILL")));
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(1));

function start(args, env = {}) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  const lines = [];
  const waiters = [];
  const onLine = (l) => {
    lines.push(l);
    for (const w of waiters.splice(0)) if (!w(l)) waiters.push(w);
  };
  createInterface({ input: child.stdout }).on("line", onLine);
  createInterface({ input: child.stderr }).on("line", onLine);
  const waitFor = (test) =>
    new Promise((resolve) => {
      const hit = lines.find(test);
      if (hit) resolve(hit);
      else waiters.push((l) => (test(l) ? (resolve(l), true) : false));
    });
  return { child, lines, waitFor };
}
const rss = (pid) => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;
const cpu = (pid) => {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10_000;
};
const stop = async (c) => {
  if (c.exitCode !== null) return;
  const exited = new Promise((r) => c.once("exit", r));
  c.kill("SIGTERM");
  const t = setTimeout(() => c.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(t);
};

const sim = start(["dist/simulator/main.js", "--host", "127.0.0.1", "--port", "0", "--token-delay-ms", "0", "--ping-interval-ms", "10000"]);
const { url } = JSON.parse(await sim.waitFor((l) => l.startsWith("{") && l.includes('"url"')));
const configFile = join(dir, "gateway.json");
writeFileSync(configFile, JSON.stringify(gatewayConfig(url)));
const variants = a.variants.split(";").map((v) => {
  const [name, assignments = ""] = v.split(/=(.*)/s);
  return {
    name,
    env: Object.fromEntries(
      assignments
        .split(" ")
        .filter(Boolean)
        .map((kv) => kv.split(/=(.*)/s)),
    ),
  };
});
const N = Number(a.streams);
const SETTLE = Number(a.settle);
const WINDOW = Number(a.window);

async function measure(variant, round) {
  const probe = join(dir, `probe-${variant.name}-${round}.jsonl`);
  const nodeArgs = [...a["node-args"].split(" ").filter(Boolean), ...(variant.env.NODE_ARGS ?? "").split(",").filter(Boolean)];
  mkdirSync(join(dir, `${variant.name}-${round}`), { recursive: true });
  const gw = start(
    [
      ...nodeArgs,
      "--require",
      join(ROOT, "scripts/experiments/mem-probe.cjs"),
      "--require",
      join(ROOT, "scripts/experiments/heap-snapshot.cjs"),
      variant.env.MAIN ?? "dist/src/main.js",
      "--config",
      configFile,
    ],
    {
      ...GATEWAY_ENV,
      ...variant.env,
      MEM_PROBE_FILE: probe,
      SNAP_DIR: join(dir, `${variant.name}-${round}`),
    },
  );
  const line = await gw.waitFor((l) => l.includes("gateway listening"));
  const port = JSON.parse(line).port ?? JSON.parse(line).address?.split(":").pop();
  await sleep(2000);
  const idle = median([0, 1, 2, 3, 4].map(() => rss(gw.child.pid)));
  const streamsFrom = Date.now();
  const client = start([
    "dist/bench/stream-client.js",
    "keep",
    `127.0.0.1:${port}`,
    String(N),
    a["delay-ms"],
    String(SETTLE + WINDOW + (a.snapshot ? 120_000 : 0)),
  ]);
  let latest;
  createInterface({ input: client.child.stdout }).on("line", (l) => {
    try {
      latest = JSON.parse(l);
    } catch {}
  });
  const at = async (ms) => {
    while (!latest || latest.t < ms) {
      if (client.child.exitCode !== null) throw new Error(`client exited: ${client.lines.slice(-3).join("\n")}`);
      await sleep(20);
    }
    return { p: latest, cpu: cpu(gw.child.pid), wall: performance.now() };
  };
  const x = await at(SETTLE);
  const samples = [];
  const timer = setInterval(() => samples.push(rss(gw.child.pid)), 250);
  while (!latest || latest.t < SETTLE + WINDOW - 600) {
    if (client.child.exitCode !== null) break;
    await sleep(50);
  }
  clearInterval(timer);
  const y = await at(SETTLE + WINDOW - 600);
  const allProbes = readFileSync(probe, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const probes = allProbes.filter((p) => p.t > Date.now() - WINDOW + 1000);
  // The last sample before the streams opened: the idle gateway's heap, for the same breakdown.
  const idleProbe = allProbes.filter((p) => p.t < streamsFrom).at(-1) ?? {};
  const steady = median(samples);
  const res = {
    variant: variant.name,
    round,
    idle: +idle.toFixed(1),
    steady: +steady.toFixed(1),
    kibPerStream: Math.round(((steady - idle) * 1024) / N),
    heapUsedMiB: +(median(probes.map((p) => p.heapUsed)) / 2 ** 20).toFixed(1),
    arrayBuffersMiB: +(median(probes.map((p) => p.arrayBuffers)) / 2 ** 20).toFixed(1),
    externalMiB: +(median(probes.map((p) => p.external)) / 2 ** 20).toFixed(1),
    // The young generation's physical size, the old generation's used and physical size, V8's malloc (mem-probe.cjs).
    newPhysMiB: +(median(probes.map((p) => p.newPhys ?? 0)) / 2 ** 20).toFixed(1),
    oldUsedMiB: +(median(probes.map((p) => p.oldUsed ?? 0)) / 2 ** 20).toFixed(1),
    oldPhysMiB: +(median(probes.map((p) => p.oldPhys ?? 0)) / 2 ** 20).toFixed(1),
    mallocedMiB: +(median(probes.map((p) => p.malloced ?? 0)) / 2 ** 20).toFixed(1),
    idleHeap: Object.fromEntries(
      ["heapUsed", "arrayBuffers", "newPhys", "oldUsed", "oldPhys", "malloced"].map((k) => [
        k,
        +((idleProbe[k] ?? 0) / 2 ** 20).toFixed(1),
      ]),
    ),
    eventsPerSec: Math.round((y.p.sum - x.p.sum) / ((y.wall - x.wall) / 1000)),
    cpuUsPerEvent: +((y.cpu - x.cpu) / Math.max(1, y.p.sum - x.p.sum)).toFixed(1),
    // The collector's pause time per second and its count per second, over the window.
    gcMsPerSec: +((probes.at(-1).gcMs - probes[0].gcMs) / ((probes.at(-1).t - probes[0].t) / 1000)).toFixed(1),
    scavengesPerSec: +((probes.at(-1).scavenges - probes[0].scavenges) / ((probes.at(-1).t - probes[0].t) / 1000)).toFixed(1),
    majorsPerSec: +((probes.at(-1).majors - probes[0].majors) / ((probes.at(-1).t - probes[0].t) / 1000)).toFixed(2),
    failed: y.p.failed,
    errors: y.p.errors,
  };
  if (a.snapshot) {
    // After the window (writing it stalls the gateway), with the streams still open.
    gw.child.kill("SIGUSR2");
    mkdirSync(join(dir, `${variant.name}-${round}`), { recursive: true });
    while (!readdirSync(join(dir, `${variant.name}-${round}`)).some((f) => f.endsWith(".done"))) await sleep(1000);
  }
  await stop(client.child);
  await stop(gw.child);
  await sleep(Math.min(10_000, 2_000 + N));
  console.log(JSON.stringify(res));
  return res;
}

const all = [];
for (let r = 0; r < Number(a.rounds); r++) for (const v of variants) all.push(await measure(v, r));
console.log(JSON.stringify({ dir, results: all }));
await stop(sim.child);
process.exit(0);
