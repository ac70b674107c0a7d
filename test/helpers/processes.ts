import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { request } from "undici";
import type { RecordedRequest } from "../../simulator/index.js";
import { isRunRequest } from "./demo-workspace.js";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A child process whose stdout lines we keep, stopped for sure at the end of the test file. */
export class Proc {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  #waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];

  constructor(readonly child: ChildProcess) {
    const onLine = (line: string) => {
      this.lines.push(line);
      this.#waiters = this.#waiters.filter((w) => (w.test(line) ? (w.resolve(line), false) : true));
    };
    createInterface({ input: child.stdout! }).on("line", onLine);
    createInterface({ input: child.stderr! }).on("line", onLine);
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  waitForLine(test: (line: string) => boolean, timeoutMs = 15_000): Promise<string> {
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for a line; output so far:\n${this.lines.join("\n")}`)),
        timeoutMs,
      );
      this.#waiters.push({
        test,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
      void this.exited.then((code) =>
        reject(new Error(`process exited (${code}) before the expected line; output:\n${this.lines.join("\n")}`)),
      );
    });
  }

  /** Parsed JSON log lines. */
  json(): Record<string, unknown>[] {
    return this.lines.flatMap((l) => {
      try {
        const v = JSON.parse(l) as unknown;
        return typeof v === "object" && v !== null ? [v as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

function node(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  return new Proc(spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] }));
}

export interface SimulatorProcess {
  proc: Proc;
  url: string;
  requests(): Promise<RecordedRequest[]>;
  /**
   * Requests that start a run (see isRunRequest). The gateway fires stop calls without waiting, and the start-up Dify
   * check is a GET, so either can land after `reset()`; assertions about "what this call sent" use this.
   */
  runs(): Promise<RecordedRequest[]>;
  reset(): Promise<void>;
}

export async function startSimulatorProcess(args: string[] = []): Promise<SimulatorProcess> {
  const proc = node(["dist/simulator/main.js", "--host", "127.0.0.1", "--port", "0", ...args]);
  const line = await proc.waitForLine((l) => l.startsWith("{") && l.includes('"url"'));
  const { url } = JSON.parse(line) as { url: string };
  const control = url.replace(/\/v1$/, "/__sim/requests");
  const requests = async () => (await (await request(control)).body.json()) as RecordedRequest[];
  return {
    proc,
    url,
    requests,
    async runs() {
      return (await requests()).filter((r) => isRunRequest(r));
    },
    async reset() {
      await (await request(control, { method: "DELETE" })).body.dump();
    },
  };
}

export interface GatewayProcess {
  proc: Proc;
  address: string;
  configFile: string;
  metricsUrl: string | undefined;
}

/** Starts the built gateway on a free port with the given config document. */
export async function startGatewayProcess(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), "gw-test-"));
  const configFile = join(dir, "config.json");
  // Tests run gateways side by side: metrics on an ephemeral port unless the test says otherwise.
  const server = { listen: "127.0.0.1:0", ...(config.server as Record<string, unknown> | undefined) };
  writeFileSync(configFile, JSON.stringify({ metrics: { listen: "127.0.0.1:0" }, ...config, server }, null, 2));
  const proc = node(["dist/src/main.js", "--config", configFile], env);
  const line = await proc.waitForLine((l) => l.includes("gateway listening"));
  const { port, metricsPort } = JSON.parse(line) as { port: number; metricsPort?: number };
  return {
    proc,
    address: `127.0.0.1:${port}`,
    configFile,
    metricsUrl: metricsPort ? `http://127.0.0.1:${metricsPort}/metrics` : undefined,
  };
}

/** Polls until `check` passes or the time is up; for effects that happen after a call returns (stop calls). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 5_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/*
 * A port free right now on 127.0.0.1: the drain's GOAWAY path needs a fixed port (grpc-js cannot drain port 0).
 * Picked below the kernel's ephemeral range: a port from listen(0) was handed, between our check and the gateway's
 * bind, to another test's outgoing connection or port-0 listener ("already in use", CI). Random, so that test
 * workers rarely pick alike, and checked by binding it.
 */
const handedOut = new Set<number>();
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (low - 10_000));
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error("no free port below the ephemeral range");
}

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return low > 11_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}
