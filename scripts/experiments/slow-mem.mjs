#!/usr/bin/env node
// Memory per slow-reader stream, variants interleaved (issue 18, slow readers). Not part of npm test.
//   node scripts/experiments/slow-mem.mjs --streams 200 --seconds 50 --t1 30 --t2 45 --rounds 3 \
//     --variant 'A=dist-before/src/main.js' --variant 'B=dist/src/main.js|ENV=value|--node-flag'
// Per variant and round: a fresh simulator and gateway (the bench's production config, `mem-probe.cjs`
// preloaded), the idle RSS, then the bench's own slow readers (`dist/bench/stream-client.js slow`: node:http2
// streams that read one gRPC message per interval) against Dify producing 1 KiB deltas every 20 ms. Sampled
// every second: RSS and `smaps_rollup` (anonymous), the probe's heapUsed / external / arrayBuffers, and at t1
// and t2 the events the simulator wrote, so the lead's growth (bounded or not) is printed with the memory.
// One JSON line per run; medians over the window [t1, t2]. `--snapshot-at S` writes a heap snapshot (SIGUSR2)
// into the run's directory at S seconds.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { request } from "undici";

const ROOT = new URL("../../", import.meta.url).pathname;
const { gatewayConfig, GATEWAY_ENV, startSimulator } = await import(join(ROOT, "dist/bench/servers.js"));
// The bench's process handling: output to `<dir>/<name>.log`, killed with this script on a signal.
const { startNode } = await import(join(ROOT, "dist/bench/procs.js"));

const { values: a } = parseArgs({
  options: {
    streams: { type: "string", default: "200" },
    seconds: { type: "string", default: "50" },
    t1: { type: "string", default: "30" },
    t2: { type: "string", default: "45" },
    rounds: { type: "string", default: "1" },
    variant: { type: "string", multiple: true, default: ["A=dist/src/main.js"] },
    "delay-ms": { type: "string", default: "20" },
    "read-every-ms": { type: "string", default: "200" },
    "snapshot-at": { type: "string", default: "" },
    "smaps-at": { type: "string", default: "" },
  },
});
const N = Number(a.streams);
const SECONDS = Number(a.seconds);
const T1 = Number(a.t1);
const T2 = Number(a.t2);
// Checked before anything starts: a window past the run's end failed after the processes were up, and left them.
if (!(T1 < T2 && T2 < SECONDS)) throw new Error(`--t1 ${T1} < --t2 ${T2} < --seconds ${SECONDS} is required`);

const variants = a.variant.map((v) => {
  const [name, rest] = [v.slice(0, v.indexOf("=")), v.slice(v.indexOf("=") + 1)];
  const [main, ...extra] = rest.split("|");
  const env = {};
  const flags = [];
  for (const x of extra) {
    if (x.startsWith("--")) flags.push(x);
    else if (x) env[x.slice(0, x.indexOf("="))] = x.slice(x.indexOf("=") + 1);
  }
  return { name, main, env, flags };
});

const jsonLines = (proc) =>
  proc
    .log()
    .split("\n")
    .filter((l) => l.startsWith("{"));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length ? s[s.length >> 1] : NaN;
};
const mib = (b) => +(b / 2 ** 20).toFixed(1);
function smaps(pid) {
  const out = {};
  for (const l of readFileSync(`/proc/${pid}/smaps_rollup`, "utf8").split("\n")) {
    const m = /^(\w+):\s+(\d+) kB/.exec(l);
    if (m) out[m[1]] = Number(m[2]) * 1024;
  }
  return out;
}

async function once(v, round) {
  const dir = mkdtempSync(join(tmpdir(), `slow-mem-${v.name}-`));
  const { proc: sim, url } = await startSimulator(dir);
  writeFileSync(join(dir, "gateway.json"), JSON.stringify(gatewayConfig(url)));
  const memFile = join(dir, "mem.jsonl");
  const gw = startNode(
    dir,
    "gateway",
    [
      "--require",
      join(ROOT, "scripts/experiments/mem-probe.cjs"),
      "--heapsnapshot-signal=SIGUSR2",
      ...v.flags,
      v.main,
      "--config",
      join(dir, "gateway.json"),
    ],
    { ...GATEWAY_ENV, MEM_PROBE_FILE: memFile, ...v.env },
  );
  const { port } = JSON.parse(await gw.waitForLine((l) => l.includes("gateway listening")));
  await sleep(2000);
  const idle = [];
  const idleAnon = smaps(gw.pid).Anonymous;
  for (let i = 0; i < 5; i++) {
    idle.push(smaps(gw.pid).Rss);
    await sleep(200);
  }
  const probe = () => (existsSync(memFile) ? JSON.parse(readFileSync(memFile, "utf8").trim().split("\n").at(-1)) : {});
  await sleep(1100);
  const idleProbe = probe();
  const reader = startNode(dir, "reader", [
    "dist/bench/stream-client.js",
    "slow",
    `127.0.0.1:${port}`,
    String(N),
    "100000",
    a["delay-ms"],
    a["read-every-ms"],
    String(SECONDS * 1000),
    "1024",
  ]);
  // The reader's clock starts once all streams have their headers: wait for its first progress line.
  await reader.waitForLine((l) => l.startsWith("{"));
  const control = url.replace(/\/v1$/, "/__sim/requests");
  const sentNow = async () =>
    (await (await request(control)).body.json()).filter((r) => r.path?.endsWith("-messages")).map((r) => r.eventsSent ?? 0);
  const rows = [];
  const lead = {};
  const gwCpu0 = gw.cpuMicros();
  for (let s = 1; s <= SECONDS - 2; s++) {
    await sleep(1000);
    if (a["snapshot-at"] && s === Number(a["snapshot-at"])) gw.child.kill("SIGUSR2");
    if (a["smaps-at"] && s === Number(a["smaps-at"])) {
      writeFileSync(join(dir, "smaps.txt"), readFileSync(`/proc/${gw.pid}/smaps`));
      // glibc's own view (gdb attached for a moment): per arena, the bytes it holds and the free bytes in its bins.
      const xml = join(dir, "malloc.xml");
      spawnSync(
        "gdb",
        [
          "-p",
          String(gw.pid),
          "-batch",
          "-ex",
          `set $f = (void*) fopen("${xml}", "w")`,
          "-ex",
          "call (int) malloc_info(0, $f)",
          "-ex",
          "call (int) fclose($f)",
        ],
        { stdio: "ignore", timeout: 60_000 },
      );
    }
    const sm = smaps(gw.pid);
    const p = probe();
    const last = JSON.parse(jsonLines(reader).at(-1));
    rows.push({
      s,
      rss: sm.Rss,
      anon: sm.Anonymous,
      heapUsed: p.heapUsed,
      external: p.external,
      ab: p.arrayBuffers,
      malloced: p.malloced,
      heapPhys: p.heapPhys,
      newPhys: p.newPhys,
      oldPhys: p.oldPhys,
      delivered: last.sum,
    });
    if (s === T1 || s === T2 || s % 10 === 0) {
      const sent = await sentNow();
      lead[s] = {
        sent: sent.reduce((x, y) => x + y, 0) / N,
        delivered: last.sum / N,
        t: last.t,
        streams: sent.length,
        failed: last.failed,
      };
      rows.at(-1).lead = Math.round(lead[s].sent - lead[s].delivered);
    }
  }
  const gwCpu = (gw.cpuMicros() - gwCpu0) / 1000;
  const win = rows.filter((r) => r.s >= T1 && r.s <= T2);
  const m = (k) => median(win.map((r) => r[k]));
  const idleRss = median(idle);
  const leadAt = (s) => lead[s].sent - lead[s].delivered;
  const windowS = (lead[T2].t - lead[T1].t) / 1000;
  const out = {
    variant: v.name,
    round,
    streams: N,
    idleRss: mib(idleRss),
    peakRss: mib(Math.max(...rows.map((r) => r.rss))),
    steadyRss: mib(m("rss")),
    kibPerStream: Math.round((m("rss") - idleRss) / N / 1024),
    anon: mib(m("anon")),
    heapUsed: mib(m("heapUsed")),
    idleHeapUsed: mib(idleProbe.heapUsed),
    idleHeapPhys: mib(idleProbe.heapPhys),
    idleAnon: mib(idleAnon),
    external: mib(m("external")),
    idleExternal: mib(idleProbe.external),
    ab: mib(m("ab")),
    heapPhys: mib(m("heapPhys")),
    newPhys: mib(m("newPhys")),
    oldPhys: mib(m("oldPhys")),
    sentRate: +((lead[T2].sent - lead[T1].sent) / windowS).toFixed(2),
    readRate: +((lead[T2].delivered - lead[T1].delivered) / windowS).toFixed(2),
    leadT1: Math.round(leadAt(T1)),
    leadGrowth: +(leadAt(T2) - leadAt(T1)).toFixed(1),
    failed: lead[T2].failed,
    gwCpuMs: gwCpu,
    leads: rows
      .filter((r) => r.lead !== undefined)
      .map((r) => `${r.s}:${r.lead}`)
      .join(" "),
    dir,
  };
  if (a["snapshot-at"]) {
    let last = -1;
    for (;;) {
      await sleep(2000);
      const size = readdirSync(ROOT)
        .filter((f) => f.endsWith(".heapsnapshot"))
        .reduce((n, f) => n + readFileSync(join(ROOT, f)).length, 0);
      if (size > 0 && size === last) break;
      last = size;
    }
  }
  writeFileSync(join(dir, "rows.json"), JSON.stringify(rows));
  await Promise.all([reader, gw, sim].map((p) => p.stop()));
  return out;
}

for (let r = 1; r <= Number(a.rounds); r++) {
  const order = variants.map((_, i) => variants[(i + r - 1) % variants.length]);
  for (const v of order) console.log(JSON.stringify(await once(v, r)));
}
process.exit(0);
