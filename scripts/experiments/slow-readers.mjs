#!/usr/bin/env node
// Slow-reader memory experiment (issues 6 and 7). Not part of npm test.
//   node scripts/experiments/slow-readers.mjs [--streams 1000] [--seconds 60] [--read-every-ms 100] [--delay-ms 10] [--events 100000]
// Starts the built simulator and gateway (dist/, so `npm run build` first), opens N chat streams whose readers
// take one message every --read-every-ms (Dify produces one every --delay-ms: 10x faster by default), and samples
// each second: gateway RSS / heapUsed / arrayBuffers, and the events the simulator managed to write per stream.
// The readers run in this process; the gateway's memory is read by a preload (mem-probe.cjs) inside the gateway.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { credentials, Metadata } from "@grpc/grpc-js";
import { request } from "undici";

const ROOT = new URL("../../", import.meta.url).pathname;
const { ChatServiceClient } = await import(join(ROOT, "dist/generated/dify/app/v1/chat.js"));
const { DEMO_APPS } = await import(join(ROOT, "dist/simulator/index.js"));

const { values: a } = parseArgs({
  options: {
    streams: { type: "string", default: "1000" },
    seconds: { type: "string", default: "60" },
    "read-every-ms": { type: "string", default: "100" },
    "delay-ms": { type: "string", default: "10" },
    events: { type: "string", default: "10000" },
    "snapshot-at": { type: "string", default: "" },
    "gateway-args": { type: "string", default: "" },
  },
});
const N = Number(a.streams),
  SECONDS = Number(a.seconds),
  READ_EVERY = Number(a["read-every-ms"]);
const DELAY = Number(a["delay-ms"]),
  EVENTS = Number(a.events);

function start(args, env = {}, logFile) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  if (logFile) {
    const out = createWriteStream(logFile);
    child.stdout.pipe(out);
    child.stderr.pipe(out);
  }
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

const dir = mkdtempSync(join(tmpdir(), "slow-readers-"));
process.on("exit", () => {
  gw?.child.kill("SIGKILL");
  sim.child.kill("SIGKILL");
}); // no orphans if this script dies
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(1));
let gw;
const sim = start(["dist/simulator/main.js", "--host", "127.0.0.1", "--port", "0", "--token-delay-ms", "0", "--ping-interval-ms", "10000"]);
const { url } = JSON.parse(await sim.waitFor((l) => l.startsWith("{") && l.includes('"url"')));
const TOKEN = "bench-token-slow-readers";
const app = DEMO_APPS.find((x) => x.mode === "chat");
const config = {
  server: { listen: "127.0.0.1:0" },
  metrics: { listen: "127.0.0.1:0" },
  log: { level: "info" },
  upstream: {},
  workspaces: [
    {
      id: "ws-bench",
      difyBaseUrl: url,
      defaultUser: "u",
      tokens: [{ sha256: createHash("sha256").update(TOKEN).digest("hex") }],
      apps: [{ appId: app.appId, key: { env: "APP_KEY" } }],
    },
  ],
};
writeFileSync(join(dir, "config.json"), JSON.stringify(config));
const memFile = join(dir, "mem.jsonl");
const gwArgs = [
  "--require",
  join(ROOT, "scripts/experiments/mem-probe.cjs"),
  ...(a["gateway-args"] ? a["gateway-args"].split(" ") : []),
  "dist/src/main.js",
  "--config",
  join(dir, "config.json"),
];
gw = start(gwArgs, { APP_KEY: app.key, MEM_PROBE_FILE: memFile }, join(dir, "gateway.log"));
const { port } = JSON.parse(await gw.waitFor((l) => l.includes("gateway listening")));
console.error(`gateway pid ${gw.child.pid}, simulator pid ${sim.child.pid}, dir ${dir}`);

const md = new Metadata();
md.set("authorization", `Bearer ${TOKEN}`);
// Several channels, as many plugins would connect; one HTTP/2 connection per client.
const clients = Array.from(
  { length: Math.min(8, N) },
  () => new ChatServiceClient(`127.0.0.1:${port}`, credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 }),
);
// One short call first, so the gateway knows the app's mode (GET /info) before the streams open their
// connections to Dify gradually (below), instead of all at once past the simulator's accept backlog.
await new Promise((resolve) => {
  const warm = clients[0].chatInvokeStream(
    { appId: app.appId, query: "warm-up", inputs: { _sim: { events: 1 } }, files: [], user: "warm", conversationId: "" },
    md,
  );
  warm.on("data", () => {});
  warm.on("error", resolve);
  warm.on("end", resolve);
});
let received = 0,
  errors = 0,
  ended = 0;
const calls = [];
for (let i = 0; i < N; i++) {
  // Ramp up by 50 streams every 50 ms so the simulator's accept queue is not the first thing measured.
  if (i > 0 && i % 50 === 0) await new Promise((r) => setTimeout(r, 50));
  const call = clients[i % clients.length].chatInvokeStream(
    {
      appId: app.appId,
      query: `q${i}`,
      inputs: { _sim: { events: EVENTS, delay_ms: DELAY } },
      files: [],
      user: `slow-${i}`,
      conversationId: "",
    },
    md,
  );
  call.on("data", () => {
    received++;
    call.pause();
    setTimeout(() => call.resume(), READ_EVERY);
  });
  call.on("error", (e) => {
    if (e.code !== 1) {
      errors++;
      if (errors < 3) console.error("stream error", e.code, e.details);
    }
  });
  call.on("end", () => ended++);
  calls.push(call);
}

const control = url.replace(/\/v1$/, "/__sim/requests");
const rows = [];
const _t0 = Date.now();
const stat = (pid) => {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(s[11]) + Number(s[12])) * 10;
};
for (let s = 1; s <= SECONDS; s++) {
  await new Promise((r) => setTimeout(r, 1000));
  if (a["snapshot-at"] && s === Number(a["snapshot-at"])) {
    gw.child.kill("SIGUSR2");
    console.error("heap snapshot requested");
  }
  let runs;
  try {
    runs = (await (await request(control)).body.json()).filter((r) => r.path === "/v1/chat-messages");
  } catch (err) {
    console.error("simulator control request failed:", err.code ?? err.message);
    continue;
  }
  const sent = runs.map((r) => r.eventsSent ?? 0).sort((x, y) => x - y);
  const mem = existsSync(memFile) ? JSON.parse(readFileSync(memFile, "utf8").trim().split("\n").at(-1)) : {};
  const row = {
    s,
    streams: runs.length,
    received,
    simSentTotal: sent.reduce((x, y) => x + y, 0),
    aheadPerStreamMedian: sent.length ? sent[sent.length >> 1] - received / N : 0,
    simSentMax: sent.at(-1) ?? 0,
    rssMiB: +(mem.rss / 2 ** 20).toFixed(1),
    heapMiB: +(mem.heapUsed / 2 ** 20).toFixed(1),
    abMiB: +(mem.arrayBuffers / 2 ** 20).toFixed(1),
    gwCpuMs: stat(gw.child.pid),
    simCpuMs: stat(sim.child.pid),
    errors,
    ended,
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}
writeFileSync(join(dir, "rows.json"), JSON.stringify(rows));
if (a["snapshot-at"]) {
  // The gateway writes Heap.*.heapsnapshot into its cwd; it takes a while under load, so wait for its size to settle.
  let last = -1;
  for (;;) {
    await new Promise((r) => setTimeout(r, 3000));
    const f = readdirSync(ROOT).filter((x) => x.endsWith(".heapsnapshot"));
    const size = f.reduce((n, x) => n + statSync(join(ROOT, x)).size, 0);
    if (size > 0 && size === last) break;
    last = size;
  }
}
for (const c of calls) c.cancel();
await new Promise((r) => setTimeout(r, 500));
for (const c of clients) c.close();
gw.child.kill("SIGTERM");
sim.child.kill("SIGTERM");
await new Promise((r) => setTimeout(r, 1500));
gw.child.kill("SIGKILL");
sim.child.kill("SIGKILL");
console.error(`done; rows in ${dir}/rows.json`);
process.exit(0);
