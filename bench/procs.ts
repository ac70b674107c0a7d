/**
 * The processes a bench run starts, and what /proc says about them. Every server binds 127.0.0.1 and prints
 * one line naming its port; output goes to files in the run directory, never to a pipe nobody reads (a full
 * pipe would block a process mid-measurement).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const ROOT = new URL("../../", import.meta.url).pathname;
/** Linux's USER_HZ: utime and stime in /proc/<pid>/stat count 1/100 s ticks. */
const TICKS_PER_SECOND = 100;

export class BenchProcess {
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  log(): string {
    return readFileSync(this.logFile, "utf8");
  }

  /** Polls the log file for a line; the processes write a handful of lines, so re-reading is cheap. */
  async waitForLine(test: (line: string) => boolean, timeoutMs = 90_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    for (;;) {
      const line = this.log().split("\n").find(test);
      if (line) return line;
      if (exited) throw new Error(`${this.name} exited before it was ready; log ${this.logFile}:\n${this.log()}`);
      if (Date.now() > until) throw new Error(`${this.name} not ready after ${timeoutMs} ms; log ${this.logFile}:\n${this.log()}`);
      await sleep(10);
    }
  }

  /** CPU time used so far (user + system), in µs. */
  cpuMicros(): number {
    // The command name may contain spaces, so fields are counted after its closing parenthesis.
    const stat = readFileSync(`/proc/${this.pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime: fields 14 and 15 of the full line
    return (ticks * 1_000_000) / TICKS_PER_SECOND;
  }

  /** Time the main thread spent runnable but waiting for a CPU, in µs (/proc/<pid>/schedstat, ns). */
  runQueueWaitMicros(): number {
    return Number(readFileSync(`/proc/${this.pid}/schedstat`, "utf8").split(" ")[1]) / 1000;
  }

  /** Resident set size now, in MiB. */
  rssMiB(): number {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${this.pid}/status`, "utf8"));
    if (!match) throw new Error(`no VmRSS for ${this.name}`);
    return Number(match[1]) / 1024;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

const running = new Set<BenchProcess>();

/** A bench stopped by a signal (a test timeout, Ctrl-C) takes its servers down with it instead of orphaning them. */
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    for (const p of running) p.child.kill("SIGKILL");
    process.exit(1);
  });
}

/** Starts `node <script> args…` with stdout and stderr appended to `<dir>/<name>.log`. */
export function startNode(dir: string, name: string, args: string[], env: NodeJS.ProcessEnv = {}): BenchProcess {
  const logFile = join(dir, `${name}.log`);
  const fd = openSync(logFile, "a");
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", fd, fd] });
  const proc = new BenchProcess(name, child, logFile);
  running.add(proc);
  void proc.exited.then(() => running.delete(proc));
  return proc;
}

/** Runs a command to its end and returns its stdout; a non-zero exit is an error carrying stderr. */
export function run(command: string, args: string[], timeoutMs = 300_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString();
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${Buffer.concat(err).toString()}${stdout}`));
    });
  });
}

/** Runs a bench helper script with node and parses the JSON it prints last. */
export async function runNodeJson<T>(script: string, args: string[], timeoutMs?: number): Promise<T> {
  const stdout = await run(process.execPath, [join(ROOT, "dist/bench", script), ...args], timeoutMs);
  const last = stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(last) as T;
}

/** CPU used by each process while `work` runs, in µs. */
export async function cpuDuring<T>(procs: readonly BenchProcess[], work: () => Promise<T>): Promise<{ result: T; cpu: number[] }> {
  const before = procs.map((p) => p.cpuMicros());
  const result = await work();
  return { result, cpu: procs.map((p, i) => p.cpuMicros() - before[i]!) };
}
