#!/usr/bin/env node
// Gateway instructions per relayed stream event, counted by callgrind (not moved by the other processes' load):
//   node scripts/experiments/stream-instructions.mjs [--events 10000] [--streams 3] [--warmup 5]
// The gateway runs under valgrind with instrumentation off through start-up and --warmup streams; it is switched
// on (callgrind_control) for --streams streams of --events deltas read by one fast grpc-js reader, then dumped.
// PROFILE=1: no valgrind; the gateway runs under --cpu-prof instead (profile dir printed) for a line-level view.
// Each stream on a connection of its own (`connection: "close"`): under valgrind, an idle keep-alive connection
// was closed by the simulator as the gateway reused it (UND_ERR_SOCKET). Run after `npm run build`.
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
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
    streams: { type: "string", default: "3" },
    warmup: { type: "string", default: "5" },
  },
});
const EVENTS = Number(a.events);
const STREAMS = Number(a.streams);
const WARMUP = Number(a.warmup);
const profile = process.env.PROFILE === "1";

function start(command, env = {}) {
  const child = spawn(command[0], command.slice(1), { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
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

const dir = mkdtempSync(join(tmpdir(), "stream-instr-"));
const sim = start([process.execPath, "dist/simulator/main.js", "--host", "127.0.0.1", "--port", "0", "--token-delay-ms", "0"]);
const { url } = JSON.parse(await sim.waitFor((l) => l.startsWith("{") && l.includes('"url"')));
const TOKEN = "bench-token-instr";
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
const out = join(dir, "cg.out");
const command = profile
  ? [
      process.execPath,
      "--cpu-prof",
      `--cpu-prof-dir=${join(dir, "prof")}`,
      process.env.MAIN ?? "dist/src/cli.js",
      "--config",
      join(dir, "config.json"),
    ]
  : [
      "valgrind",
      "--tool=callgrind",
      "--instr-atstart=no",
      `--callgrind-out-file=${out}`,
      process.execPath,
      process.env.MAIN ?? "dist/src/main.js",
      "--config",
      join(dir, "config.json"),
    ];
const gw = start(command, { APP_KEY: app.key });
const exited = new Promise((_, reject) =>
  gw.child.once("exit", (code) => reject(new Error(`the gateway exited (${code}) before listening`))),
);
const { port } = JSON.parse(await Promise.race([gw.waitFor((l) => l.includes("gateway listening")), exited]));
const client = new ChatServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
const md = new Metadata();
md.set("authorization", `Bearer ${TOKEN}`);
const once = () =>
  new Promise((resolve, reject) => {
    let n = 0;
    const call = client.chatInvokeStream(
      { appId: app.appId, query: "q", inputs: { _sim: { events: EVENTS, connection: "close" } }, files: [], user: "u", conversationId: "" },
      md,
    );
    call.on("data", () => n++);
    call.on("error", reject);
    call.on("end", () => resolve(n));
  });
for (let i = 0; i < WARMUP; i++) await once();
await new Promise((r) => setTimeout(r, 1000));
const control = (...args) => execFileSync("callgrind_control", [...args, String(gw.child.pid)], { stdio: "pipe" });
if (!profile) control("-z");
if (!profile) control("-i", "on");
let messages = 0;
for (let i = 0; i < STREAMS; i++) messages += await once();
if (!profile) control("-i", "off");
if (!profile) control("-d");
client.close();
gw.child.kill("SIGTERM");
await new Promise((r) => gw.child.once("exit", r));
sim.child.kill("SIGTERM");
let ir = 0;
if (!profile)
  for (const f of readdirSync(dir).filter((f) => f.startsWith("cg.out"))) {
    const m = readFileSync(join(dir, f), "utf8").match(/^totals:\s*(\d+)/m);
    if (m) ir = Math.max(ir, Number(m[1]));
  }
console.log(
  JSON.stringify({
    events: EVENTS,
    streams: STREAMS,
    messages,
    instructionsPerEvent: profile ? undefined : Math.round(ir / messages),
    dir,
  }),
);
process.exit(0);
