import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { LOG_BATCH_BYTES, LOG_FLUSH_MS } from "../../src/log/logger.js";

const ROOT = new URL("../../", import.meta.url).pathname;

/**
 * Runs `body` in a node process that has the built gateway's JSON logger on its stdout (`createLogger` without a
 * destination: the batched one); resolves with each stdout line and the time it reached us, and the exit code.
 */
function run(body: string): Promise<{ lines: { line: Record<string, unknown>; at: number }[]; code: number | null }> {
  const script = `import { createLogger } from "./dist/src/log/logger.js";\nconst log = createLogger("info");\n${body}`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, stdio: ["ignore", "pipe", "ignore"] });
  const lines: { line: Record<string, unknown>; at: number }[] = [];
  let rest = "";
  child.stdout.on("data", (chunk: Buffer) => {
    const at = Date.now();
    const parts = (rest + chunk.toString()).split("\n");
    rest = parts.pop()!;
    for (const p of parts) lines.push({ line: JSON.parse(p) as Record<string, unknown>, at });
  });
  // "close": every byte of stdout read, not only the process gone.
  return new Promise((resolve) => child.once("close", (code) => resolve({ lines, code })));
}

const msgs = (r: Awaited<ReturnType<typeof run>>) => r.lines.map((l) => l.line.msg);
/** Fewer bytes than a batch: these lines are written only by the timer or at exit. */
const FEW = `for (let i = 0; i < 3; i++) log.info({ i }, "line " + i);`;

describe("JSON log lines on stdout are batched, and none is lost", () => {
  it("a quiet process's lines appear within the flush interval, not at the next batch", async () => {
    // The line is logged once the process is up; `time` (ISO) is when, by the same clock as ours.
    const r = await run(`setTimeout(() => log.info("quiet"), 500);\nsetTimeout(() => process.exit(0), 500 + ${LOG_FLUSH_MS} * 8);`);
    const quiet = r.lines.find((l) => l.line.msg === "quiet")!;
    expect(quiet).toBeDefined();
    // Written by the timer, long before the exit: at most one interval (two if a write to stdout outlasts one), plus
    // a loaded machine's scheduling.
    expect(quiet.at - Date.parse(quiet.line.time as string)).toBeLessThan(LOG_FLUSH_MS * 4);
  });

  it("writes what waits when the event loop ends", async () => {
    const r = await run(FEW);
    expect(r.code).toBe(0);
    expect(msgs(r)).toEqual(["line 0", "line 1", "line 2"]);
  });

  it("writes what waits on process.exit (the CLI's exit after a drain or a fatal error)", async () => {
    const r = await run(`${FEW}\nsetTimeout(() => { log.error("fatal"); process.exit(1); }, 10);`);
    expect(r.code).toBe(1);
    expect(msgs(r)).toEqual(["line 0", "line 1", "line 2", "fatal"]);
  });

  it("writes what waits when an uncaught exception ends the process", async () => {
    const r = await run(`${FEW}\nsetTimeout(() => { throw new Error("bug"); }, 10);`);
    expect(r.code).toBe(1);
    expect(msgs(r)).toEqual(["line 0", "line 1", "line 2"]);
  });

  it("keeps the order of many lines, batches included", async () => {
    const n = Math.ceil((LOG_BATCH_BYTES * 20) / 100);
    const r = await run(
      `for (let i = 0; i < ${n}; i++) { log.info({ i }, "x"); if (i % 50 === 0) await new Promise((r) => setImmediate(r)); }`,
    );
    expect(r.code).toBe(0);
    expect(r.lines.map((l) => l.line.i)).toEqual(Array.from({ length: n }, (_, i) => i));
  });
});
