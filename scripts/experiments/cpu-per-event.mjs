#!/usr/bin/env node
// Gateway CPU per relayed event (issue 6/7 experiment, not part of npm test):
//   node scripts/experiments/cpu-per-event.mjs [--events 10000] [--rounds 10]
// One fast reader at a time reads a stream of --events deltas; gateway CPU (utime+stime from /proc) over the
// rounds, divided by events relayed. Prints µs/event per round and the median.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { credentials, Metadata } from "@grpc/grpc-js";

const ROOT = new URL("../../", import.meta.url).pathname;
const { ChatServiceClient } = await import(join(ROOT, "dist/generated/dify/app/v1/chat.js"));
const { DEMO_APPS } = await import(join(ROOT, "dist/simulator/index.js"));
const { values: a } = parseArgs({ options: { events: { type: "string", default: "10000" }, rounds: { type: "string", default: "10" } } });
const EVENTS = Number(a.events),
  ROUNDS = Number(a.rounds);

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
writeFileSync(
  join(dir, "config.json"),
  JSON.stringify({
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
        apps: [{ appId: app.appId, key: { env: "APP_KEY" } }],
      },
    ],
  }),
);
const gw = start(["dist/src/main.js", "--config", join(dir, "config.json")], { APP_KEY: app.key });
const { port } = JSON.parse(await gw.waitFor((l) => l.includes("gateway listening")));
const client = new ChatServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
const md = new Metadata();
md.set("authorization", `Bearer ${TOKEN}`);
const once = () =>
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
await once();
await once(); // warm-up
const results = [];
for (let r = 0; r < ROUNDS; r++) {
  const c0 = cpuMs(gw.child.pid),
    s0 = cpuMs(sim.child.pid),
    k0 = process.cpuUsage(),
    t0 = performance.now();
  const n = await once();
  const us = ((cpuMs(gw.child.pid) - c0) * 1000) / n;
  const simUs = ((cpuMs(sim.child.pid) - s0) * 1000) / n;
  const k = process.cpuUsage(k0);
  results.push(us);
  // The simulator's and this client's CPU too: on 2 cores the three share them.
  console.log(
    JSON.stringify({
      round: r,
      messages: n,
      wallMs: Math.round(performance.now() - t0),
      gwCpuUsPerEvent: +us.toFixed(2),
      simCpuUsPerEvent: +simUs.toFixed(2),
      clientCpuUsPerEvent: +((k.user + k.system) / n).toFixed(2),
    }),
  );
}
results.sort((x, y) => x - y);
console.log(JSON.stringify({ medianGwCpuUsPerEvent: +results[results.length >> 1].toFixed(2) }));
client.close();
gw.child.kill("SIGTERM");
sim.child.kill("SIGTERM");
setTimeout(() => process.exit(0), 1000);
