// `npm start` and `npm run simulator`: build only when a source is newer than the built file, say so on
// stderr, then run it. Why not always build: `npm start` used to rebuild on every run, silently, 7.5 s on an
// idle box and 26 s under load. Usage: node scripts/start.mjs gateway|simulator [args...]
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../", import.meta.url).pathname;
const TARGETS = { gateway: "dist/src/main.js", simulator: "dist/simulator/main.js" };
/** What the build reads: tsconfig.build.json's folders, and the files that steer tsc and the bundler. */
const SOURCE_DIRS = ["src", "simulator", "generated", "bench"];
const SOURCE_FILES = ["package.json", "tsconfig.json", "tsconfig.build.json", "scripts/bundle.mjs"];

const [name, ...args] = process.argv.slice(2);
const target = TARGETS[name];
if (!target) {
  process.stderr.write(`usage: node scripts/start.mjs ${Object.keys(TARGETS).join("|")} [args...]\n`);
  process.exit(2);
}

const built = mtime(join(root, target));
if (built === undefined || newestSource() > built) {
  process.stderr.write("building (sources changed)…\n");
  // The build's output goes to stderr: stdout is the gateway's log (JSON lines) and the simulator's URL line.
  const build = spawnSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: ["ignore", process.stderr, "inherit"] });
  if (build.status !== 0) {
    process.stderr.write("build failed: see the errors above\n");
    process.exit(build.status ?? 1);
  }
}

const child = spawn(process.execPath, [join(root, target), ...args], { stdio: "inherit" });
// A terminal's Ctrl-C reaches the whole process group, child included: forwarding it too would be a second
// SIGINT, which makes the gateway exit without draining. A SIGINT sent to this process alone is forwarded.
for (const signal of ["SIGTERM", "SIGHUP", "SIGINT"])
  process.on(signal, () => {
    if (signal !== "SIGINT" || !process.stdin.isTTY) child.kill(signal);
  });
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : 1)));
// npm passes SIGTERM and SIGINT on, but a SIGHUP (a supervisor's "reload") or a SIGKILL ends npm alone, and its
// supervisor then believes the gateway gone while it serves on. When npm, our parent, is gone, the gateway drains
// and exits as on a SIGTERM. Send SIGHUP to this process or the gateway's to reload.
if (process.env.npm_lifecycle_event !== undefined) {
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && child.kill("SIGTERM"), 500).unref();
}

function signalNumber(signal) {
  return { SIGHUP: 1, SIGINT: 2, SIGTERM: 15, SIGKILL: 9 }[signal];
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function newestSource() {
  let newest = 0;
  for (const file of SOURCE_FILES) newest = Math.max(newest, mtime(join(root, file)) ?? 0);
  for (const dir of SOURCE_DIRS) newest = Math.max(newest, newestUnder(join(root, dir)));
  return newest;
}

function newestUnder(dir) {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestUnder(path));
    else if (entry.isFile()) newest = Math.max(newest, mtime(path) ?? 0);
  }
  return newest;
}
