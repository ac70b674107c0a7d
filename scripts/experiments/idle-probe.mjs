// Issue 18, idle RSS (fifth pass): interleaved idle RSS of gateway variants, a fresh gateway per variant and round,
// started as the bench starts it (`node <main.js> --config <the bench's production config>`, one simulator).
// Usage: node scripts/experiments/idle-probe.mjs --rounds 8 --variant 'A=.varA/dist/src/main.js' \
//          --variant 'B=dist/src/main.js|MALLOC_ARENA_MAX=2|--some-v8-flag'
// NODE_BIN=/path/to/node among the env entries runs that Node binary (e.g. scripts/lts-node.sh's) instead of this one.
// A variant is name=main.js, then optional "|"-separated KEY=VALUE env entries and --node-flags.
// Per start, one JSON line: ms to "listening", the process's CPU ms until then, RSS (median of 5 samples 2 s after
// "listening", as bench/cases/memory.ts idleCase does) and /proc/<pid>/smaps_rollup's anonymous and file-backed parts.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { APP_KEY } from "../../dist/bench/app.js";
import { writeGatewayConfig } from "../../dist/bench/servers.js";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "8" }, variant: { type: "string", multiple: true } } });
const variants = values.variant.map((v) => {
  const [head, ...rest] = v.split("|");
  const [name, main] = head.split("=");
  const env = Object.fromEntries(rest.filter((r) => !r.startsWith("--")).map((r) => r.split("=")));
  return { name, main, env, flags: rest.filter((r) => r.startsWith("--")) };
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), "idle-probe-"));
const pageKiB = 4;
const ticks = 100; // USER_HZ

function waitLine(proc, pred) {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout });
    rl.on("line", (l) => {
      if (pred(l)) resolve(l);
    });
    proc.once("exit", (c) => reject(new Error(`exited ${c}`)));
  });
}
const rssMiB = (pid) => (Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]) * pageKiB) / 1024;
const cpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / ticks;
};
function rollup(pid) {
  const o = {};
  for (const l of readFileSync(`/proc/${pid}/smaps_rollup`, "utf8").split("\n")) {
    const m = /^(\w+):\s+(\d+) kB/.exec(l);
    if (m) o[m[1]] = Number(m[2]) / 1024;
  }
  return { anonMiB: +o.Anonymous.toFixed(1), fileMiB: +(o.Rss - o.Anonymous).toFixed(1) };
}

const sim = spawn(
  process.execPath,
  ["dist/simulator/main.js", "--host", "127.0.0.1", "--port", "0", "--token-delay-ms", "0", "--ping-interval-ms", "10000"],
  {
    stdio: ["ignore", "pipe", "inherit"],
  },
);
const simLine = await waitLine(sim, (l) => l.startsWith("{") && l.includes('"url"'));
const config = writeGatewayConfig(dir, JSON.parse(simLine).url);
try {
  for (let round = 0; round < Number(values.rounds); round++) {
    // Rotate the order each round, so neither variant always starts first.
    const order = variants.map((_, i) => variants[(i + round) % variants.length]);
    for (const v of order) {
      const t0 = performance.now();
      const gw = spawn(v.env.NODE_BIN ?? process.execPath, [...v.flags, v.main, "--config", config], {
        stdio: ["ignore", "pipe", "ignore"],
        env: { ...process.env, BENCH_APP_KEY: APP_KEY, ...v.env },
      });
      await waitLine(gw, (l) => l.includes("gateway listening"));
      const listenMs = performance.now() - t0;
      const startCpu = cpuMs(gw.pid);
      await sleep(2000);
      const samples = [];
      for (let i = 0; i < 5; i++, await sleep(100)) samples.push(rssMiB(gw.pid));
      samples.sort((a, b) => a - b);
      const row = {
        variant: v.name,
        round,
        listenMs: Math.round(listenMs),
        startCpuMs: startCpu,
        rssMiB: +samples[2].toFixed(1),
        ...rollup(gw.pid),
      };
      console.log(JSON.stringify(row));
      gw.kill("SIGTERM");
      await new Promise((r) => gw.once("exit", r));
    }
  }
} finally {
  sim.kill("SIGTERM");
}
