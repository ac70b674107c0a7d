#!/usr/bin/env node
// Gateway CPU per relayed event (issue 6/7 experiment, not part of npm test):
//   node scripts/experiments/cpu-per-event.mjs [--events 10000] [--rounds 10] [--unary 4000 --concurrency 64]
//     [--variant 'A=' --variant 'B=ENV=value|ENV2=value']
// One fast reader at a time reads a stream of --events deltas; gateway CPU (utime+stime from /proc) over the
// rounds, divided by events relayed. Prints µs/event per round and the median. With --unary N, each round also
// makes N unary calls (h2load, the bench's
// request, --concurrency in flight on 4 connections) and prints gateway CPU µs per call. With --variant (issue 18,
// allocator): one gateway per variant (env entries added to the gateway's environment only, on top of the bench's
// GATEWAY_ENV), all started up front against one simulator, measured in turn each round (order rotated per round).
// A variant's GATEWAY_MAIN= runs another build's entry, e.g. a copy of an older dist/ inside the repo; its
// CONFIG_PATCH={"log":{"level":"warn"}} merges top-level sections into the config (ablations: what a concern costs);
// with PORT= it listens there and is awaited by connecting, for patches that silence the "listening" line.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { credentials, Metadata } from "@grpc/grpc-js";

const ROOT = new URL("../../", import.meta.url).pathname;
const { ChatServiceClient } = await import(join(ROOT, "dist/generated/dify/app/v1/chat.js"));
const { DEMO_APPS } = await import(join(ROOT, "dist/simulator/index.js"));
const { values: a } = parseArgs({
  options: {
    events: { type: "string", default: "10000" },
    rounds: { type: "string", default: "10" },
    unary: { type: "string", default: "0" },
    concurrency: { type: "string", default: "64" },
    variant: { type: "string", multiple: true },
  },
});
const EVENTS = Number(a.events),
  ROUNDS = Number(a.rounds),
  UNARY = Number(a.unary),
  CONCURRENCY = Number(a.concurrency);
const { GATEWAY_ENV } = await import(join(ROOT, "dist/bench/servers.js"));
const { APP_ID, APP_KEY: BENCH_APP_KEY, UNARY_PATH, unaryRequestFrame } = await import(join(ROOT, "dist/bench/app.js"));
const { grpcTarget, h2load } = await import(join(ROOT, "dist/bench/h2load.js"));
// Without --variant: one gateway in this script's own environment, as before.
const variants = a.variant
  ? a.variant.map((v) => {
      const [name, rest] = [v.slice(0, v.indexOf("=")), v.slice(v.indexOf("=") + 1)];
      const env = { ...GATEWAY_ENV };
      for (const x of rest.split("|").filter(Boolean)) env[x.slice(0, x.indexOf("="))] = x.slice(x.indexOf("=") + 1);
      return { name, env };
    })
  : [{ name: "gateway", env: {} }];

function start(args, env = {}) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const lines = [];
  const waiters = [];
  const onLine = (l) => {
    if (lines.length < 1000) lines.push(l);
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
  return { child, waitFor };
}
const cpuMs = (pid) => {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(s[11]) + Number(s[12])) * 10;
};

const dir = mkdtempSync(join(tmpdir(), "cpu-per-event-"));
const sim = start(["dist/simulator/main.js", "--host", "127.0.0.1", "--port", "0", "--token-delay-ms", "0"]);
const { url } = JSON.parse(await sim.waitFor((l) => l.startsWith("{") && l.includes('"url"')));
const TOKEN = "bench-token-cpu";
const app = DEMO_APPS.find((x) => x.mode === "chat");
const config = {
  server: { listen: "127.0.0.1:0" },
  metrics: { listen: "127.0.0.1:0" },
  log: { level: "info" },
  upstream: {},
  workspaces: [
    {
      id: "ws",
      difyBaseUrl: url,
      defaultUser: "u",
      tokens: [{ sha256: createHash("sha256").update(TOKEN).digest("hex") }],
      apps: [
        { appId: app.appId, key: { env: "APP_KEY" } },
        { appId: APP_ID, key: { env: "BENCH_APP_KEY" }, mode: "completion" },
      ],
    },
  ],
};
function configFile(v) {
  const file = join(dir, `config-${v.name}.json`);
  const patch = JSON.parse(v.env.CONFIG_PATCH ?? "{}");
  const merged = { ...config, ...(v.env.PORT ? { server: { listen: `127.0.0.1:${v.env.PORT}` } } : {}) };
  for (const [k, val] of Object.entries(patch)) merged[k] = { ...config[k], ...val };
  writeFileSync(file, JSON.stringify(merged));
  return file;
}
async function connectable(port) {
  for (;;) {
    const ok = await new Promise((resolve) => {
      const sock = connect(port, "127.0.0.1", () => (sock.destroy(), resolve(true)));
      sock.on("error", () => resolve(false));
    });
    if (ok) return port;
    await new Promise((r) => setTimeout(r, 100));
  }
}
const md = new Metadata();
md.set("authorization", `Bearer ${TOKEN}`);
const gateways = [];
for (const v of variants) {
  const gw = start([v.env.GATEWAY_MAIN ?? "dist/src/main.js", "--config", configFile(v)], {
    ...v.env,
    APP_KEY: app.key,
    BENCH_APP_KEY,
  });
  const port = v.env.PORT
    ? await connectable(Number(v.env.PORT))
    : JSON.parse(await gw.waitFor((l) => l.includes("gateway listening"))).port;
  gateways.push({
    ...v,
    gw,
    address: `127.0.0.1:${port}`,
    client: new ChatServiceClient(`127.0.0.1:${port}`, credentials.createInsecure()),
    ev: [],
    un: [],
  });
}
const once = (client) =>
  new Promise((resolve, reject) => {
    let n = 0;
    const call = client.chatInvokeStream(
      { appId: app.appId, query: "q", inputs: { _sim: { events: EVENTS } }, files: [], user: "u", conversationId: "" },
      md,
    );
    call.on("data", () => n++);
    call.on("error", reject);
    call.on("end", () => resolve(n));
  });
// The bench's unary load (bench/cases/unary.ts): h2load, the bench's completion request, 64 calls in flight on 4
// connections; the bench's app is in this config next to the chat app.
const unaryCalls = async (g, n) => {
  const t = grpcTarget(dir, g.name, g.address, UNARY_PATH, unaryRequestFrame(), TOKEN);
  const r = await h2load(t, n, CONCURRENCY, 4);
  if (r.succeeded !== n) throw new Error(`unary ${g.name}: ${r.succeeded} of ${n} succeeded`);
};
for (const g of gateways) {
  await once(g.client);
  await once(g.client); // warm-up
  if (UNARY) await unaryCalls(g, UNARY);
}
for (let r = 0; r < ROUNDS; r++) {
  const order = gateways.map((_, i) => gateways[(i + r) % gateways.length]);
  for (const g of order) {
    const c0 = cpuMs(g.gw.child.pid),
      s0 = cpuMs(sim.child.pid),
      k0 = process.cpuUsage(),
      t0 = performance.now();
    const n = await once(g.client);
    const us = ((cpuMs(g.gw.child.pid) - c0) * 1000) / n;
    const simUs = ((cpuMs(sim.child.pid) - s0) * 1000) / n;
    const k = process.cpuUsage(k0);
    g.ev.push(us);
    const row = {
      variant: g.name,
      round: r,
      messages: n,
      wallMs: Math.round(performance.now() - t0),
      gwCpuUsPerEvent: +us.toFixed(2),
      simCpuUsPerEvent: +simUs.toFixed(2),
      clientCpuUsPerEvent: +((k.user + k.system) / n).toFixed(2),
    };
    if (UNARY) {
      const u0 = cpuMs(g.gw.child.pid);
      await unaryCalls(g, UNARY);
      row.gwCpuUsPerUnaryCall = +(((cpuMs(g.gw.child.pid) - u0) * 1000) / UNARY).toFixed(1);
      g.un.push(row.gwCpuUsPerUnaryCall);
    }
    // The simulator's and this client's CPU too: on 2 cores the three share them.
    console.log(JSON.stringify(row));
  }
}
const med = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
for (const g of gateways)
  console.log(
    JSON.stringify({
      variant: g.name,
      medianGwCpuUsPerEvent: +med(g.ev).toFixed(2),
      ...(UNARY ? { medianGwCpuUsPerUnaryCall: med(g.un) } : {}),
    }),
  );
for (const g of gateways) {
  g.client.close();
  g.gw.child.kill("SIGTERM");
}
sim.child.kill("SIGTERM");
setTimeout(() => process.exit(0), 1000);
