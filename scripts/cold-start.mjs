#!/usr/bin/env node
// Cold start to SERVING: spawn the gateway with a production-like JSON config (auth on, metrics on,
// info logs to a file), poll grpc.health.v1.Health/Check over raw HTTP/2 every 2 ms, and report the
// median wall time from spawn to the first SERVING answer, next to a bare `node -e ''` baseline.
// CPU (user+sys from /proc/<pid>/stat at SERVING) is printed too: it is less noisy on a shared machine.
//
//   node scripts/cold-start.mjs [--runs 9] [--entry dist/src/main.js[,other.js…]] [-- extra node args]
// Several entries run interleaved (A B A B …), so that they see the same load.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: "string", default: "9" }, entry: { type: "string", default: "dist/src/main.js" }, baseline: { type: "boolean", default: true } },
});
const runs = Number(values.runs);
const root = new URL("../", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "cold-start-"));
const TICKS = 100; // USER_HZ on Linux

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS;
  } catch {
    return NaN;
  }
}

/** One Health/Check over a fresh HTTP/2 connection; resolves the status number or rejects. */
function check(port) {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": "/grpc.health.v1.Health/Check", "content-type": "application/grpc", te: "trailers" });
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("error", reject);
    req.on("end", () => {
      session.close();
      const body = Buffer.concat(chunks);
      // 5-byte frame header, then HealthCheckResponse { status = 1 (field 1 varint) }.
      resolve(body.length >= 7 && body[5] === 0x08 ? body[6] : 0);
    });
    req.end(Buffer.alloc(5));
  });
}

async function once(entry, args, env) {
  const port = await freePort();
  const config = join(dir, `gw-${port}.json`);
  const token = "cold-start-token-0123456789abcdef";
  writeFileSync(
    config,
    JSON.stringify({
      server: { listen: `127.0.0.1:${port}` },
      metrics: { enabled: true, listen: `127.0.0.1:${await freePort()}` },
      log: { level: "info" },
      workspaces: [
        {
          id: "acme",
          difyBaseUrl: "http://127.0.0.1:9/v1",
          tokens: [{ sha256: createHash("sha256").update(token).digest("hex") }],
          apps: [
            { appId: "chat-app", key: { env: "COLD_KEY" }, mode: "chat" },
            { appId: "flow-app", key: { env: "COLD_KEY" }, mode: "workflow" },
          ],
        },
      ],
    }),
  );
  const log = openSync(join(dir, `gw-${port}.log`), "w");
  const started = performance.now();
  const child = spawn(process.execPath, [...args, resolve(root, entry), "--config", config], {
    cwd: root,
    env: { ...process.env, ...env, COLD_KEY: "app-key" },
    stdio: ["ignore", log, log],
  });
  let exited = false;
  child.once("exit", () => (exited = true));
  for (;;) {
    if (exited) throw new Error(`gateway exited; see ${join(dir, `gw-${port}.log`)}`);
    const status = await check(port).catch(() => 0);
    if (status === 1) break;
    await new Promise((r) => setTimeout(r, 2));
  }
  const wall = performance.now() - started;
  const cpu = cpuMs(child.pid);
  child.kill("SIGKILL");
  await new Promise((r) => (exited ? r() : child.once("exit", r)));
  return { wall, cpu };
}

/** A bare `node -e`: wall time to exit, and the CPU it used up to its last statement. */
async function bare() {
  const started = performance.now();
  const child = spawn(process.execPath, ["-e", "const u = process.cpuUsage(); console.log((u.user + u.system) / 1000)"], { stdio: ["ignore", "pipe", "ignore"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  await new Promise((r) => child.once("exit", r));
  return { wall: performance.now() - started, cpu: Number(out) };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (xs) => xs.map((x) => x.toFixed(0)).join(" ");

const entries = values.entry.split(",");
const walls = entries.map(() => []);
const cpus = entries.map(() => []);
const bases = [];
const baseCpus = [];
for (const entry of entries) await once(entry, positionals, {}); // warm the page cache
for (let i = 0; i < runs; i++) {
  if (values.baseline) {
    const b = await bare();
    bases.push(b.wall);
    baseCpus.push(b.cpu);
  }
  for (const [k, entry] of entries.entries()) {
    const { wall, cpu } = await once(entry, positionals, {});
    walls[k].push(wall);
    cpus[k].push(cpu);
  }
}
for (const [k, entry] of entries.entries()) {
  console.log(`entry ${entry} ${positionals.join(" ")}`);
  console.log(`  spawn→SERVING ms: median ${median(walls[k]).toFixed(0)}  [${fmt(walls[k])}]`);
  console.log(`  CPU at SERVING ms: median ${median(cpus[k]).toFixed(0)}  [${fmt(cpus[k])}]`);
}
if (values.baseline) {
  console.log(`  node -e '' ms:     median ${median(bases).toFixed(0)}  [${fmt(bases)}]`);
  console.log(`  node -e '' CPU ms: median ${median(baseCpus).toFixed(0)}  [${fmt(baseCpus)}]`);
}
