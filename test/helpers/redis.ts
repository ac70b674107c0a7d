import { type ChildProcess, spawn } from "node:child_process";
import { connect } from "node:net";
import { freePort } from "./processes.js";

/** Debian's redis-server (scripts/system-deps.sh installs it). */
const REDIS_SERVER = "/usr/bin/redis-server";

/**
 * A throwaway redis-server for one test file: bound to 127.0.0.1 on a free port, no persistence, stopped by
 * its PID. `kill` and `start` take it down and bring it back on the same port (an outage mid-load).
 */
export class RedisServer {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      REDIS_SERVER,
      [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--protected-mode",
        "yes",
        "--loglevel",
        "warning",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once("exit", () => resolve()));
    const until = Date.now() + 10_000;
    while (!(await this.#answers())) {
      if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}) on port ${this.port}`);
      if (Date.now() > until) throw new Error(`redis-server did not answer on port ${this.port}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** SIGKILL: the outage a crash makes (no goodbye to the clients). */
  /** Stops (SIGSTOP) or resumes (SIGCONT) the server: a Redis that stalls, its connections open. */
  pause(paused: boolean): void {
    this.#child?.kill(paused ? "SIGSTOP" : "SIGCONT");
  }

  async kill(): Promise<void> {
    if (this.#child?.exitCode === null && this.#child.signalCode === null) this.#child.kill("SIGKILL");
    await this.#exited;
    this.#child = undefined;
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await this.#exited;
    clearTimeout(timer);
    this.#child = undefined;
  }

  /** Sends one RESP command and returns the raw reply (enough for the tests' FLUSHALL and KEYS). */
  command(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(this.port, "127.0.0.1");
      let reply = "";
      socket.on("data", (d) => {
        reply += d.toString("utf8");
        socket.end();
      });
      socket.on("end", () => resolve(reply));
      socket.on("error", reject);
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`);
    });
  }

  async #answers(): Promise<boolean> {
    try {
      return (await this.command("PING")).startsWith("+PONG");
    } catch {
      return false;
    }
  }
}
