import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_APPS } from "../../simulator/index.js";
import { sha256 } from "../../src/auth/registry.js";
import { bearer, clients, collect, unary } from "../helpers/grpc.js";
import { type GatewayProcess, Proc, type SimulatorProcess, startGatewayProcess, startSimulatorProcess } from "../helpers/processes.js";

const OLD = "tok-before-rotation-1a2b3c4d5e";
const NEW = "tok-after-rotation-6f7e8d9c0b";
const chat = DEMO_APPS.find((a) => a.mode === "chat")!;

let sim: SimulatorProcess;
let gw: GatewayProcess;
let c: ReturnType<typeof clients>;

const config = (token: string, extra: Record<string, unknown> = {}) => ({
  server: { listen: "127.0.0.1:0" },
  metrics: { listen: "127.0.0.1:0" },
  workspaces: [
    {
      id: "acme",
      difyBaseUrl: sim.url,
      tokens: [{ sha256: sha256(token).toString("hex") }],
      apps: [{ appId: chat.appId, key: { env: "CHAT_KEY" } }],
    },
  ],
  ...extra,
});

beforeAll(async () => {
  sim = await startSimulatorProcess();
  gw = await startGatewayProcess(config(OLD), { CHAT_KEY: chat.key });
  c = clients(gw.address);
});
afterAll(async () => {
  c?.close();
  await gw?.proc.stop();
  await sim?.proc.stop();
});

const ask = (token: string) =>
  unary(c.chat.chatInvoke, c.chat, { appId: chat.appId, query: "hi", inputs: {}, files: [], user: "", conversationId: "" }, bearer(token));
const rejected = (p: Promise<unknown>) =>
  p.then(
    () => expect.fail("expected UNAUTHENTICATED"),
    (err: ServiceError) => expect(err.code).toBe(status.UNAUTHENTICATED),
  );

/** Sends SIGHUP and waits for the line that reports its outcome. */
async function hangUp(outcome: string): Promise<Record<string, unknown>> {
  const before = gw.proc.lines.length;
  gw.proc.child.kill("SIGHUP");
  const line = await gw.proc.waitForLine((l) => gw.proc.lines.indexOf(l) >= before && l.includes(outcome));
  return JSON.parse(line) as Record<string, unknown>;
}

describe("SIGHUP re-reads the config", () => {
  it("rotates a token without a restart while a stream in flight runs on", async () => {
    const events = 40;
    const stream = c.chat.chatInvokeStream(
      { appId: chat.appId, query: "long", inputs: { _sim: { events, delay_ms: 50 } }, files: [], user: "", conversationId: "" },
      bearer(OLD),
    );
    let resolveFirst: () => void;
    const first = new Promise<void>((r) => (resolveFirst = r));
    const done = collect(stream, () => resolveFirst());
    await first;

    writeFileSync(gw.configFile, JSON.stringify(config(NEW)));
    await hangUp("config reloaded");
    await ask(NEW);
    await rejected(ask(OLD));

    const { messages, error } = await done;
    expect(error).toBeUndefined();
    expect(messages.filter((m) => m.event === "message")).toHaveLength(events);
    expect(messages.at(-1)?.event).toBe("message_end");
  });

  it("rejects a bad new config, names the problem, and keeps the running one", async () => {
    writeFileSync(gw.configFile, JSON.stringify({ ...config(NEW), upstream: { idleTimeoutMs: -1 } }));
    const line = await hangUp("config reload rejected");
    expect(line.level).toBe(50);
    expect(JSON.stringify(line.problems)).toContain("upstream.idleTimeoutMs");
    await ask(NEW);
    await rejected(ask(OLD));

    writeFileSync(gw.configFile, "workspaces: [");
    await hangUp("config reload rejected");
    await ask(NEW);
  });

  it("applies what it can and names the settings that need a restart", async () => {
    writeFileSync(gw.configFile, JSON.stringify(config(NEW, { server: { listen: "127.0.0.1:1" } })));
    await hangUp("config reloaded");
    const warning = await gw.proc.waitForLine((l) => l.includes("apply only after a restart"));
    expect((JSON.parse(warning) as { fields: string[] }).fields).toEqual(["server.listen"]);
    await ask(NEW);
  });

  it("never logs either token", () => {
    const out = gw.proc.lines.join("\n");
    for (const secret of [OLD, NEW, chat.key]) expect(out).not.toContain(secret);
  });

  it("a SIGHUP while the gateway is still starting neither kills it nor is lost: the reload runs once it is up", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "gw-hup-")), "config.json");
    writeFileSync(file, JSON.stringify(config(OLD)));
    const early = new Proc(
      spawn(process.execPath, ["dist/src/main.js", "--config", file], {
        env: { ...process.env, CHAT_KEY: chat.key },
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
    try {
      // As soon as the process catches SIGHUP (its first module's doing; Node's own bootstrap comes before, when no
      // JavaScript can listen), long before it listens: start-up then still loads the bundle (~0.4 s).
      await until(() => catchesSighup(early.child.pid!));
      expect(early.lines.some((l) => l.includes("gateway listening"))).toBe(false);
      early.child.kill("SIGHUP");
      await early.waitForLine((l) => l.includes("gateway listening"));
      await early.waitForLine((l) => l.includes("config reloaded"));
      expect(early.child.exitCode).toBeNull();
      expect(early.child.signalCode).toBeNull();
    } finally {
      expect(await early.stop()).toBe(0);
    }
  });
});

/** Whether a process has a handler for SIGHUP (signal 1: bit 0 of SigCgt in /proc/<pid>/status). */
function catchesSighup(pid: number): boolean {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^SigCgt:\s*([0-9a-f]+)$/m);
  return line !== null && (BigInt(`0x${line[1]}`) & 1n) === 1n;
}

async function until(check: () => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 2));
  }
}
