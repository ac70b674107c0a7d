/**
 * Instructions per unary call of the gateway, tracing on (every call sampled, OTLP export to a local sink) and off,
 * counted by valgrind's callgrind: a count that, unlike CPU time on the shared 2-core box, does not move with
 * the other processes' load. Each gateway runs under callgrind with instrumentation off through start-up and
 * warm-up; it is switched on (callgrind_control) for CALLS unary calls and the export pause after them.
 * Run after `npm run build`: node scripts/experiments/instructions.mjs [calls] [warmup] [repeats]
 * CONCURRENCY=n: h2load's concurrent calls (default 16).
 * VARIANTS='before=dist-before;after=dist': instead, tracing off (unless named below), one gateway per build directory (copies of
 * dist/ inside the repo, so node_modules resolves), interleaved per round in rotating order: an old/new A/B.
 * A variant may name an environment after its directory: `name=dir@traces` (traces alone, as the bench's goal
 * row), `@on` (traces and OTLP metrics) or `@off` (the default), then `,KEY=VALUE` pairs added to it, e.g.
 * VARIANTS='off=dist;traces=dist@traces;batch2k=dist@traces,OTEL_BSP_MAX_EXPORT_BATCH_SIZE=2048'.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

const calls = Number(process.argv[2] ?? 1000);
const warmup = Number(process.argv[3] ?? 1000);
const repeats = Number(process.argv[4] ?? 1);
/** PROFILE=1: no valgrind; each gateway runs the unbundled build under --cpu-prof (profiles in the printed dir). */
const profile = process.env.PROFILE === "1";
/**
 * CONCURRENCY=1: one call at a time. The default 16 lets the count move with the machine's load (how many calls
 * share a socket read, a timer tick, a GC): two copies of one build gave 2.07 and 1.87 M per call.
 */
const concurrency = Number(process.env.CONCURRENCY ?? 16);
/** Calls per h2load run (CHUNK=n); a load of more calls runs in parts. */
const CHUNK = Number(process.env.CHUNK ?? 500);
const root = new URL("../../", import.meta.url).pathname;
const bench = (m) => import(join(root, "dist/bench", m));
const { startSimulator, writeGatewayConfig, GATEWAY_ENV } = await bench("servers.js");
const { grpcTarget, h2load, grpcStatus } = await bench("h2load.js");
const { TOKEN, UNARY_PATH, unaryRequestFrame } = await bench("app.js");

const dir = mkdtempSync(join(tmpdir(), "gw-instr-"));
const sim = await startSimulator(dir);
let sinkBytes = 0;
const sink = createServer((req, res) => {
  req.on("data", (c) => (sinkBytes += c.length));
  req.on("end", () => res.writeHead(200, { "content-type": "application/x-protobuf" }).end());
}).listen(0, "127.0.0.1");
await new Promise((r) => sink.once("listening", r));
const otlp = `http://127.0.0.1:${sink.address().port}`;
/** Gateways still running, stopped if a measurement fails. */
const children = new Set();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function measure(name, env, distDir = "dist") {
  const config = writeGatewayConfig(dir, sim.url, undefined, `gateway-${name}`);
  const logFile = join(dir, `${name}.log`);
  const out = join(dir, `cg.${name}`);
  const command = profile
    ? [process.execPath, "--cpu-prof", `--cpu-prof-dir=${join(dir, `prof-${name}`)}`, "dist/src/cli.js", "--config", config]
    : [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        `--callgrind-out-file=${out}`,
        process.execPath,
        `${distDir}/src/main.js`,
        "--config",
        config,
      ];
  const child = spawn(command[0], command.slice(1), {
    cwd: root,
    env: { ...process.env, ...GATEWAY_ENV, ...env },
    stdio: ["ignore", openSync(logFile, "a"), openSync(logFile, "a")],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  let address;
  for (let i = 0; i < 600 && !address; i++) {
    await sleep(200);
    const line = readFileSync(logFile, "utf8")
      .split("\n")
      .find((l) => l.includes("gateway listening"));
    if (line) address = `127.0.0.1:${JSON.parse(line).port}`;
  }
  if (!address) throw new Error(`${name}: no "gateway listening" in ${logFile}`);
  const target = grpcTarget(dir, `instr-${name}`, address, UNARY_PATH, unaryRequestFrame(), TOKEN);
  if ((await grpcStatus(target)) !== "0") throw new Error(`${name}: call failed`);
  // In parts: h2load runs under the bench's 300 s limit, which a slow valgrind run on a loaded box can pass.
  const load = async (n) => {
    let succeeded = 0;
    for (let done = 0; done < n; done += CHUNK) succeeded += (await h2load(target, Math.min(CHUNK, n - done), concurrency, 1)).succeeded;
    return { succeeded };
  };
  await load(warmup);
  await sleep(3000);
  const control = (...args) => execFileSync("callgrind_control", [...args, String(child.pid)], { stdio: "pipe" });
  if (!profile) control("-z");
  if (!profile) control("-i", "on");
  const result = await load(calls);
  await sleep(3000); // the batch exports after the load (OTEL_BSP_SCHEDULE_DELAY 1 s)
  if (!profile) control("-i", "off");
  if (!profile) control("-d");
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  if (result.succeeded !== calls) throw new Error(`${name}: ${result.succeeded} of ${calls} succeeded`);
  // The dump has the instrumented window only (zeroed before it); its "totals:" line is the total Ir.
  const dumps = readdirSync(dir).filter((f) => f.startsWith(`cg.${name}`));
  let ir = 0;
  for (const f of dumps) {
    const m = readFileSync(join(dir, f), "utf8").match(/^totals:\s*(\d+)/m);
    if (m) ir = Math.max(ir, Number(m[1]));
  }
  return ir / calls;
}

const env = {
  on: {
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp,
    OTEL_TRACES_SAMPLER: "always_on",
    OTEL_BSP_MAX_QUEUE_SIZE: "100000",
    OTEL_BSP_SCHEDULE_DELAY: "1000",
  },
  off: {},
};
// The same tracing with OTLP metrics off: what the bench's goal row measures.
env.traces = { ...env.on, OTEL_METRICS_EXPORTER: "none" };
const rows = [];
const variants = (process.env.VARIANTS ?? "")
  .split(";")
  .filter(Boolean)
  .map((v) => {
    const [name, ...rest] = v.split("=");
    const [where, ...pairs] = rest.join("=").split(",");
    const [distDir, preset = "off"] = where.split("@");
    const extra = Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]));
    return [name, distDir, { ...env[preset], ...extra }];
  });
try {
  for (let r = 0; r < repeats && variants.length > 0; r++) {
    const row = {};
    for (let i = 0; i < variants.length; i++) {
      const [name, distDir, variantEnv] = variants[(i + r) % variants.length];
      row[name] = Math.round(await measure(`${name}${r}`, variantEnv, distDir));
    }
    rows.push(row);
    console.error(JSON.stringify(row));
  }
  for (let r = 0; r < repeats && variants.length === 0; r++) {
    const off = await measure(`off${r}`, env.off);
    const traces = await measure(`traces${r}`, env.traces);
    const on = await measure(`on${r}`, env.on);
    rows.push({
      off: Math.round(off),
      traces: Math.round(traces),
      on: Math.round(on),
      tracesRatio: +(traces / off).toFixed(3),
      ratio: +(on / off).toFixed(3),
    });
    console.error(JSON.stringify(rows.at(-1)));
  }
  console.log(JSON.stringify({ calls, warmup, instructionsPerCall: rows, exportedBytes: sinkBytes, dir }));
} finally {
  for (const child of children) child.kill("SIGKILL");
  sink.close();
  await sim.proc.stop();
  if (!existsSync(dir)) console.error("no dir");
}
