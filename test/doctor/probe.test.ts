import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_APPS } from "../../simulator/index.js";
import { sha256 } from "../../src/auth/registry.js";
import { parseConfig } from "../../src/config/load.js";
import { DifyClient } from "../../src/dify/client.js";
import { formatProbe, probeConfig } from "../../src/doctor/probe.js";
import { createLogger } from "../../src/log/logger.js";
import { startGateway } from "../../src/server/server.js";
import { type InProcessSimulator, startInProcessSimulator } from "../helpers/in-process.js";

const TOKEN_HASH = sha256("doctor-test-token-0123456789").toString("hex");
const WRONG_KEY = "app-wrong-key-doctor-77aa";

let sim: InProcessSimulator;
const client = new DifyClient({ connectTimeoutMs: 2_000 });

beforeAll(async () => {
  sim = await startInProcessSimulator();
});
afterAll(async () => {
  await client.close();
  await sim.close();
});

/** One workspace; each app is [appId, key, mode?]. */
function config(baseUrl: string, apps: [string, string, string?][], upstream: Record<string, unknown> = {}) {
  const env: NodeJS.ProcessEnv = {};
  const entries = apps.map(([appId, key, mode], i) => {
    env[`DOCTOR_KEY_${i}`] = key;
    return { appId, key: { env: `DOCTOR_KEY_${i}` }, ...(mode ? { mode } : {}) };
  });
  const doc = {
    server: { listen: "127.0.0.1:0" },
    metrics: { enabled: false },
    upstream,
    workspaces: [{ id: "acme", difyBaseUrl: baseUrl, tokens: [{ sha256: TOKEN_HASH }], apps: entries }],
  };
  return parseConfig(doc, "doctor test", env);
}

async function lines(baseUrl: string, apps: [string, string, string?][], upstream?: Record<string, unknown>) {
  const cfg = config(baseUrl, apps, upstream);
  return (await probeConfig(cfg, client, cfg.upstream.connectTimeoutMs)).map(formatProbe);
}

const [chat, , , workflow] = DEMO_APPS as [(typeof DEMO_APPS)[number], unknown, unknown, (typeof DEMO_APPS)[number]];

describe("the doctor's probe of each app (GET /info)", () => {
  it("prints ok with Dify's mode for every demo app", async () => {
    const out = await lines(
      sim.url,
      DEMO_APPS.map((a) => [a.appId, a.key]),
    );
    expect(out).toEqual(DEMO_APPS.map((a) => `ok    acme/${a.appId} (${a.mode})`));
  });

  it("names the key to check when Dify refuses it, without printing the key", async () => {
    const out = await lines(sim.url, [
      [chat.appId, chat.key],
      ["wrong", WRONG_KEY],
    ]);
    expect(out[0]).toBe(`ok    acme/${chat.appId} (chat)`);
    expect(out[1]).toBe("FAIL  acme/wrong: the app key of acme/wrong was refused by Dify: check workspaces[0].apps[1].key");
    expect(out.join("\n")).not.toContain(WRONG_KEY);
  });

  it("says difyBaseUrl should end with /v1 when it does not", async () => {
    const out = await lines(sim.url.replace(/\/v1$/, ""), [[chat.appId, chat.key]]);
    expect(out[0]).toMatch(/^FAIL {2}acme\/.+: GET .+\/info answered HTTP 404: difyBaseUrl should end with \/v1$/);
  });

  it("hints at /v1 when the base URL answers with a page instead of Dify's JSON", async () => {
    const web = createHttpServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<html>Dify web UI</html>"));
    await new Promise<void>((r) => web.listen(0, "127.0.0.1", r));
    const { port } = web.address() as { port: number };
    try {
      const out = await lines(`http://127.0.0.1:${port}`, [[chat.appId, chat.key]]);
      expect(out[0]).toBe(
        `FAIL  acme/${chat.appId}: cannot reach Dify at http://127.0.0.1:${port}: Dify sent a response that is not JSON (difyBaseUrl should end with /v1)`,
      );
    } finally {
      web.close();
    }
  });

  it("says Dify cannot be reached, and why, for a closed port", async () => {
    const port = await closedPort();
    const out = await lines(`http://127.0.0.1:${port}/v1`, [[chat.appId, chat.key]]);
    expect(out[0]).toBe(`FAIL  acme/${chat.appId}: cannot reach Dify at http://127.0.0.1:${port}/v1: ECONNREFUSED`);
  });

  it("says Dify cannot be reached within upstream.connectTimeoutMs when it accepts but never answers", async () => {
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const { port } = silent.address() as { port: number };
    try {
      const started = performance.now();
      const out = await lines(`http://127.0.0.1:${port}/v1`, [[chat.appId, chat.key]], { connectTimeoutMs: 300 });
      expect(out[0]).toBe(
        `FAIL  acme/${chat.appId}: cannot reach Dify at http://127.0.0.1:${port}/v1: no answer within 300 ms (upstream.connectTimeoutMs)`,
      );
      expect(performance.now() - started).toBeLessThan(5_000);
    } finally {
      silent.close();
    }
  });

  it("names the mode to write when the config's differs from Dify's", async () => {
    const out = await lines(sim.url, [
      [workflow.appId, workflow.key, "chat"],
      [chat.appId, chat.key, "chat"],
    ]);
    expect(out[0]).toBe(
      `FAIL  acme/${workflow.appId}: Dify says the app is a workflow app, the config says chat: set workspaces[0].apps[0].mode to workflow (or remove it)`,
    );
    expect(out[1]).toBe(`ok    acme/${chat.appId} (chat)`);
  });
});

describe("start-up runs the same checks in the background", () => {
  it("logs one warn line per problem, after SERVING, and never the key", async () => {
    const cfg = config(sim.url, [
      [chat.appId, chat.key],
      ["wrong", WRONG_KEY],
    ]);
    const out: string[] = [];
    const log = createLogger("info", { write: (l: string) => void out.push(l) });
    const gateway = await startGateway(cfg, log, { probeDify: true });
    try {
      // The listening line comes first: the check does not delay start-up.
      expect(out.some((l) => l.includes("gateway listening"))).toBe(true);
      await gateway.difyChecked;
      const warns = out
        .map((l) => JSON.parse(l) as { level: number; msg: string; appId?: string })
        .filter((l) => l.level === 40 && l.msg.startsWith("Dify check"));
      expect(warns).toEqual([
        expect.objectContaining({
          appId: "wrong",
          msg: "Dify check: the app key of acme/wrong was refused by Dify: check workspaces[0].apps[1].key",
        }),
      ]);
      expect(out.join("")).not.toContain(WRONG_KEY);
    } finally {
      await gateway.close(0);
    }
  });
});

describe("start-up does not wait for Dify", () => {
  it("returns and serves while a Dify that never answers is still being asked; a shutdown meanwhile logs no false warning", async () => {
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const { port } = silent.address() as { port: number };
    const cfg = config(`http://127.0.0.1:${port}/v1`, [[chat.appId, chat.key]], { connectTimeoutMs: 20_000 });
    const out: string[] = [];
    const log = createLogger("info", { write: (l: string) => void out.push(l) });
    try {
      const started = performance.now();
      const gateway = await startGateway(cfg, log, { probeDify: true });
      // The probe waits up to 20 s; start-up took well under that (generous margin for a noisy box).
      expect(performance.now() - started).toBeLessThan(5_000);
      let settled = false;
      void gateway.difyChecked.then(() => (settled = true));
      await new Promise((r) => setTimeout(r, 100));
      expect(settled).toBe(false);
      const closing = performance.now();
      await gateway.close(0);
      await gateway.difyChecked;
      // The shutdown cancelled the probe rather than waiting out its 20 s.
      expect(performance.now() - closing).toBeLessThan(5_000);
      expect(out.filter((l) => l.includes("Dify check"))).toEqual([]);
    } finally {
      silent.close();
    }
  });
});

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}
