import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_APPS } from "../../simulator/index.js";
import { sha256 } from "../../src/auth/registry.js";
import { bearer, clients, collect, details, healthCheck, type StreamResult, unary } from "../helpers/grpc.js";
import {
  eventually,
  freePort,
  type GatewayProcess,
  type SimulatorProcess,
  startGatewayProcess,
  startSimulatorProcess,
} from "../helpers/processes.js";

const TOKEN = "tok-shutdown-8d7c6b5a4f3e2d1c";
const HANG_TOKEN = "tok-shutdown-hang-5e4d3c2b1a09";
const GRACE_MS = 2_000;
const chat = DEMO_APPS.find((a) => a.mode === "chat")!;

let sim: SimulatorProcess;
let gw: GatewayProcess;
/** A Dify that accepts requests and never answers them. */
const hanging = createHttpServer((req, res) => void held.push({ req, res }));
const held: { req: IncomingMessage; res: ServerResponse }[] = [];
beforeAll(async () => {
  sim = await startSimulatorProcess();
  await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
  const hangingUrl = `http://127.0.0.1:${(hanging.address() as { port: number }).port}/v1`;
  gw = await startGatewayProcess(
    {
      server: { listen: `127.0.0.1:${await freePort()}` },
      shutdown: { graceMs: GRACE_MS },
      workspaces: [
        {
          id: "acme",
          difyBaseUrl: sim.url,
          tokens: [{ sha256: sha256(TOKEN).toString("hex") }],
          apps: [{ appId: chat.appId, key: { env: "K" } }],
        },
        // No mode: a call first asks Dify's /info, which here never answers (only upstream.connectTimeoutMs, 10 s, bounds it).
        {
          id: "hang",
          difyBaseUrl: hangingUrl,
          tokens: [{ sha256: sha256(HANG_TOKEN).toString("hex") }],
          apps: [{ appId: chat.appId, key: { env: "K" } }],
        },
      ],
    },
    { K: chat.key },
  );
});
afterAll(async () => {
  await gw?.proc.stop("SIGKILL");
  await sim?.proc.stop();
  for (const h of held) h.res.destroy();
  await new Promise((resolve) => hanging.close(resolve));
});

/** A stream of `events` deltas, 50 ms apart; resolves `started` at its first message. */
function slowStream(c: ReturnType<typeof clients>, events: number) {
  const call = c.chat.chatInvokeStream(
    { appId: chat.appId, query: "drain", inputs: { _sim: { events, delay_ms: 50 } }, files: [], user: "", conversationId: "" },
    bearer(TOKEN),
  );
  let started!: () => void;
  const first = new Promise<void>((r) => (started = r));
  const done = collect(call, (_m, all) => all.length === 1 && started());
  return { first, done };
}

describe("SIGTERM drains gracefully", () => {
  let short: { done: Promise<StreamResult<{ event: string }>> };
  let long: { done: Promise<StreamResult<{ event: string }>> };
  let signalledAt = 0;
  let exitedAt = 0;
  let exitCode: number | null = null;
  let healthAfter = "";
  let livenessAfter = "";
  let newCall: unknown;
  let waiting: Promise<unknown>;

  it("SERVING before, then NOT_SERVING at once; liveness stays SERVING; new calls get UNAVAILABLE", async () => {
    expect(await healthCheck(gw.address)).toBe("SERVING");
    expect(await healthCheck(gw.address, "dify.app.v1.ChatService")).toBe("SERVING");
    const c = clients(gw.address);
    short = slowStream(c, 20); // about 1 s: finishes within the grace
    long = slowStream(c, 400); // about 20 s: outlives it
    await Promise.all([(short as ReturnType<typeof slowStream>).first, (long as ReturnType<typeof slowStream>).first]);
    waiting = unary(
      c.chat.chatInvoke,
      c.chat,
      { appId: chat.appId, query: "stuck", inputs: {}, files: [], user: "", conversationId: "" },
      bearer(HANG_TOKEN),
    ).catch((e: unknown) => e);
    await eventually(async () => expect(held.map((h) => h.req.url)).toEqual([expect.stringMatching(/\/info$/)]));
    const exited = gw.proc.exited.then((code) => {
      exitedAt = Date.now();
      exitCode = code;
    });

    signalledAt = Date.now();
    gw.proc.child.kill("SIGTERM");
    await gw.proc.waitForLine((l) => l.includes("draining"));
    healthAfter = await healthCheck(gw.address);
    livenessAfter = await healthCheck(gw.address, "liveness");
    newCall = await unary(
      c.chat.chatInvoke,
      c.chat,
      { appId: chat.appId, query: "late", inputs: {}, files: [], user: "", conversationId: "" },
      bearer(TOKEN),
    ).catch((e: unknown) => e);

    expect(healthAfter).toBe("NOT_SERVING");
    expect(livenessAfter).toBe("SERVING");
    const err = newCall as { code: number };
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(details(err as never).retryInfo).toBeDefined();
    await exited;
    c.close();
  });

  it("lets a stream that fits in the grace finish with OK", async () => {
    const { messages, error } = await short.done;
    expect(error).toBeUndefined();
    expect(messages.at(-1)?.event).toBe("message_end");
  });

  it("ends a stream that outlives the grace with UNAVAILABLE, and stops its Dify run", async () => {
    const { messages, error } = await long.done;
    expect(error?.code).toBe(status.UNAVAILABLE);
    expect(details(error!).errorInfo?.reason).toBe("SHUTTING_DOWN");
    expect(messages.length).toBeGreaterThan(10);
    expect(messages.length).toBeLessThan(400);
    const stops = await eventually(async () => {
      const found = (await sim.requests()).filter((r) => r.path.endsWith("/stop"));
      expect(found).toHaveLength(1);
      return found;
    });
    expect(stops[0]!.path).toContain("/chat-messages/");
  });

  it("ends a call still waiting on a Dify that never answers with UNAVAILABLE too, and logs it", async () => {
    const err = (await waiting) as ServiceError;
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(details(err).errorInfo?.reason).toBe("SHUTTING_DOWN");
    expect(gw.proc.json().filter((l) => l.workspace === "hang" && l.grpcCode === "UNAVAILABLE")).toHaveLength(1);
  });

  it("exits 0 within grace + 2 s", () => {
    expect(exitCode).toBe(0);
    expect(exitedAt - signalledAt).toBeLessThan(GRACE_MS + 2_000);
    expect(exitedAt - signalledAt).toBeGreaterThanOrEqual(GRACE_MS - 100);
  });

  it("has written every line when it exits (stdout is batched): the calls' lines, and 'shut down' last", async () => {
    // The pipe may deliver the last bytes after the exit event: wait for them, they must come.
    await eventually(async () => expect(gw.proc.json().at(-1)?.msg).toBe("shut down"));
    const calls = gw.proc.json().filter((l) => l.workspace === "acme" && typeof l.grpcCode === "string");
    expect(calls.map((l) => l.grpcCode)).toEqual(expect.arrayContaining(["OK", "UNAVAILABLE"]));
  });
});
