import { execFileSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/log/logger.js";
import { stdoutLog } from "../../src/log/stdout.js";

/*
 * The log's stdout bound, against a real pipe (a FIFO) whose reader never reads: what is held stays under the bound,
 * the rest is dropped and counted, and an exit does not wait on the reader longer than its budget.
 */

const MAX_BYTES = 256 * 1024;
/** What can leave the buffer without being read: the pipe's capacity (64 KiB on Linux) and one write in flight. */
const PIPE_AND_WRITE = 64 * 1024 + 16 * 1024;

let readers: number[] = [];
afterEach(() => {
  // Frees a write blocked on the full pipe (it fails with EPIPE once the read end is gone).
  for (const fd of readers) closeSync(fd);
  readers = [];
});

function fifo(): string {
  const path = join(mkdtempSync(join(tmpdir(), "gw-log-")), "stdout");
  execFileSync("mkfifo", [path]);
  // Opened first and never read: the writer's open then returns at once.
  readers.push(openSync(path, constants.O_RDONLY | constants.O_NONBLOCK));
  return path;
}

function exits() {
  const codes: number[] = [];
  let first!: (at: number) => void;
  const exited = new Promise<number>((r) => (first = r));
  return { codes, exited, exit: (code: number) => void (codes.push(code), first(performance.now())) };
}

describe("stdout log with a reader that never reads", () => {
  it("holds at most its bound, drops and counts the rest, and keeps accepting lines without blocking", async () => {
    const out = stdoutLog(fifo(), MAX_BYTES, exits().exit);
    let dropped = 0;
    out.onDrop(() => dropped++);
    await new Promise((r) => out.stream.once("ready", r));
    const log = createLogger("info", out.stream);
    const line = "x".repeat(250);
    const lines = 8_000;
    const t0 = performance.now();
    for (let i = 0; i < lines; i++) log.info({ i, line }, "a call's line");
    const tookMs = performance.now() - t0;
    const lineBytes = Buffer.byteLength(
      `${JSON.stringify({ level: 30, time: new Date().toISOString(), service: "dify-grpc-gateway", i: 1000, line, msg: "a call's line" })}\n`,
    );
    const kept = (lines - dropped) * lineBytes;
    expect(dropped).toBeGreaterThan(0);
    expect(kept).toBeLessThan(MAX_BYTES + PIPE_AND_WRITE + 2 * lineBytes);
    // 8,000 lines in well under a second: nothing waited on the pipe.
    expect(tookMs).toBeLessThan(1_000);
  });

  it("exits within its budget when the reader is stalled, giving up the lines left", async () => {
    const { exit, exited, codes } = exits();
    const out = stdoutLog(fifo(), MAX_BYTES, exit);
    await new Promise((r) => out.stream.once("ready", r));
    const log = createLogger("info", out.stream);
    for (let i = 0; i < 2_000; i++) log.info({ i, line: "y".repeat(250) }, "a call's line");
    const t0 = performance.now();
    out.exit(0, 200);
    const at = await exited;
    expect(codes[0]).toBe(0);
    expect(at - t0).toBeGreaterThanOrEqual(190);
    expect(at - t0).toBeLessThan(1_000);
    // pino's exit hook, which would then block on the full pipe, is covered in a process: test/e2e/stdout-reader.test.ts.
  });

  it("exits at once when the reader has gone (EPIPE), whatever was still waiting", async () => {
    const { exit, exited, codes } = exits();
    const out = stdoutLog(fifo(), MAX_BYTES, exit);
    await new Promise((r) => out.stream.once("ready", r));
    const log = createLogger("info", out.stream);
    closeSync(readers.pop()!);
    for (let i = 0; i < 100; i++) log.info({ i }, "a line for nobody");
    const t0 = performance.now();
    out.exit(3, 5_000);
    const at = await exited;
    expect(codes[0]).toBe(3);
    expect(at - t0).toBeLessThan(1_000);
  });
});
