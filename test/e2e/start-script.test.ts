import { execFile, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/*
 * scripts/start.mjs, copied into a small tree whose `npm run build` is a stand-in that counts its runs and writes
 * the two entry points: the real build takes 7-26 s and would rebuild this worktree's dist/ under other tests.
 */

const SCRIPT = new URL("../../scripts/start.mjs", import.meta.url).pathname;
const PACKAGE = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> };

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), "start-script-"));
  mkdirSync(join(root, "scripts"));
  copyFileSync(SCRIPT, join(root, "scripts/start.mjs"));
  mkdirSync(join(root, "src"));
  mkdirSync(join(root, "simulator/nested"), { recursive: true });
  writeFileSync(join(root, "src/main.ts"), "// source\n");
  writeFileSync(join(root, "simulator/nested/deep.ts"), "// source\n");
  writeFileSync(
    join(root, "package.json"),
    JSON.stringify({ name: "t", private: true, type: "module", scripts: { build: "node build.mjs" } }),
  );
  const entry = (name: string) => `console.log(JSON.stringify({ ran: ${JSON.stringify(name)}, args: process.argv.slice(2) }));`;
  writeFileSync(
    join(root, "build.mjs"),
    `import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
appendFileSync("builds.log", "x");
console.log("tsc output goes to stderr");
mkdirSync("dist/src", { recursive: true });
mkdirSync("dist/simulator", { recursive: true });
writeFileSync("dist/src/main.js", ${JSON.stringify(entry("gateway"))});
writeFileSync("dist/simulator/main.js", ${JSON.stringify(entry("simulator"))});
`,
  );
  return root;
}

function start(root: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, "scripts/start.mjs"), ...args], { cwd: root, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const builds = (root: string) => readFileSync(join(root, "builds.log"), "utf8").length;

describe("npm start / npm run simulator (scripts/start.mjs)", () => {
  it("builds when dist/ is missing or a source is newer, says so on stderr, and otherwise runs the built file at once", async () => {
    const root = tree();
    const first = await start(root, ["gateway", "--version"]);
    expect(first.stderr).toContain("building (sources changed)…");
    expect(first.stderr).toContain("tsc output goes to stderr");
    expect(JSON.parse(first.stdout)).toEqual({ ran: "gateway", args: ["--version"] });
    expect(first.code).toBe(0);
    expect(builds(root)).toBe(1);

    const second = await start(root, ["gateway", "--listen", "127.0.0.1:1"]);
    expect(second.stderr).toBe("");
    expect(JSON.parse(second.stdout)).toEqual({ ran: "gateway", args: ["--listen", "127.0.0.1:1"] });
    expect(builds(root)).toBe(1);

    const simulator = await start(root, ["simulator"]);
    expect(simulator.stderr).toBe("");
    expect(JSON.parse(simulator.stdout)).toEqual({ ran: "simulator", args: [] });

    // A source edited after the build, deep in a folder: mtimes one minute ahead, so no clock granularity matters.
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(root, "simulator/nested/deep.ts"), later, later);
    const third = await start(root, ["simulator"]);
    expect(third.stderr).toContain("building (sources changed)…");
    expect(builds(root)).toBe(2);
  });

  it("a failed build stops there, with its exit code, without running a stale file", async () => {
    const root = tree();
    writeFileSync(join(root, "build.mjs"), 'console.error("src/main.ts(1,1): error TS1005"); process.exit(3);\n');
    const { code, stdout, stderr } = await start(root, ["gateway"]);
    expect(code).toBe(3);
    expect(stdout).toBe("");
    expect(stderr).toContain("error TS1005");
    expect(stderr).toContain("build failed");
  });

  it.each([
    ["SIGTERM", "passed on by npm"],
    ["SIGHUP", "ends npm alone: the launcher sees its parent gone"],
    ["SIGKILL", "ends npm alone: the launcher sees its parent gone"],
  ] as const)(
    "npm start under a supervisor: a %s to npm's own PID (%s) drains the gateway, and nothing is left running",
    async (signal, _how) => {
      const root = tree();
      // The real `start` script line, and a gateway stand-in that runs until its SIGTERM and records it.
      writeFileSync(
        join(root, "package.json"),
        JSON.stringify({ name: "t", private: true, type: "module", scripts: { build: "node build.mjs", start: PACKAGE.scripts.start } }),
      );
      await start(root, ["gateway", "--version"]); // builds once, so dist/ is fresh below
      writeFileSync(
        join(root, "dist/src/main.js"),
        `import { writeFileSync } from "node:fs";
writeFileSync("gateway.pid", String(process.pid));
process.on("SIGTERM", () => { writeFileSync("sigterm.log", "drained"); process.exit(0); });
setInterval(() => {}, 1000);
`,
      );
      const npm = spawn("npm", ["start", "--silent"], { cwd: root, stdio: "ignore" });
      const npmExited = new Promise<number | null>((resolve) => npm.once("exit", (code) => resolve(code)));
      const until = Date.now() + 20_000;
      while (!existsSync(join(root, "gateway.pid")) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      const gatewayPid = Number(readFileSync(join(root, "gateway.pid"), "utf8"));
      npm.kill(signal);
      await npmExited;
      const alive = () => {
        try {
          process.kill(gatewayPid, 0);
          return true;
        } catch {
          return false;
        }
      };
      for (const deadline = Date.now() + 5_000; alive() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
      const orphaned = alive();
      if (orphaned) process.kill(gatewayPid, "SIGKILL");
      expect(orphaned, "the gateway outlived npm").toBe(false);
      expect(readFileSync(join(root, "sigterm.log"), "utf8")).toBe("drained");
    },
  );

  it("an unknown target gets the usage and exit 2", async () => {
    const { code, stderr } = await start(tree(), ["gatway"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^usage: node scripts\/start\.mjs gateway\|simulator/);
  });
});
