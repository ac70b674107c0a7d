import type { ServiceError } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_APPS } from "../../simulator/index.js";
import { sha256 } from "../../src/auth/registry.js";
import { parseConfig } from "../../src/config/load.js";
import { bearer, clients, collect, details, unary } from "../helpers/grpc.js";
import { type InProcessGateway, type InProcessSimulator, startInProcessGateway, startInProcessSimulator } from "../helpers/in-process.js";

/*
 * Scoped tokens: one workspace with every demo app and four tokens. `full` (no name) reaches every app,
 * `plugin-chat` only the chat app, `old` expired an hour ago, `soon` expires SOON_MS after its test reloads it.
 */
const appOf = (mode: string) => DEMO_APPS.find((a) => a.mode === mode)!.appId;
const CHAT = appOf("chat");
const WORKFLOW = appOf("workflow");
const UNKNOWN = "f0000000-0000-4000-8000-00000000dead";
const TOKENS = {
  full: "tok-full-0c1d2e3f4a5b6c7d8e9f",
  chat: "tok-chat-1a2b3c4d5e6f7a8b9c0d",
  old: "tok-old-9f8e7d6c5b4a39281706",
  soon: "tok-soon-5a5a5a5a5a5a5a5a5a5a",
};
const SOON_MS = 3_000;
const env = Object.fromEntries(DEMO_APPS.map((a, i) => [`KEY_${i}`, a.key]));
const hex = (t: string) => sha256(t).toString("hex");

function configDoc(difyBaseUrl: string, soonExpiresAt: string, chatApps: string[] = [CHAT]) {
  return {
    server: { listen: "127.0.0.1:0" },
    workspaces: [
      {
        id: "ws-scoped",
        difyBaseUrl,
        tokens: [
          { sha256: hex(TOKENS.full) },
          { sha256: hex(TOKENS.chat), name: "plugin-chat", apps: chatApps },
          { sha256: hex(TOKENS.old), name: "old", expiresAt: new Date(Date.now() - 3_600_000).toISOString() },
          { sha256: hex(TOKENS.soon), name: "soon", expiresAt: soonExpiresAt },
        ],
        apps: DEMO_APPS.map((a, i) => ({ appId: a.appId, key: { env: `KEY_${i}` } })),
      },
    ],
  };
}

let sim: InProcessSimulator;
let gw: InProcessGateway;
let c: ReturnType<typeof clients>;
let soonExpiresAt: number;

beforeAll(async () => {
  sim = await startInProcessSimulator();
  soonExpiresAt = Date.now() + SOON_MS;
  gw = await startInProcessGateway(configDoc(sim.url, new Date(soonExpiresAt).toISOString()), env);
  c = clients(gw.address);
});
afterAll(async () => {
  c?.close();
  await gw?.close();
  await sim?.close();
});

const failed = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (err: ServiceError) => err,
  );
const chat = (token: string, appId = CHAT) =>
  unary(c.chat.chatInvoke, c.chat, { appId, query: "hi", inputs: {}, files: [], user: "u", conversationId: "" }, bearer(token));
const workflow = (token: string, appId = WORKFLOW) =>
  unary(c.workflow.workflowInvoke, c.workflow, { appId, inputs: {}, files: [], user: "u" }, bearer(token));
const notFoundShape = (err: ServiceError, appId: string) => ({
  code: err.code,
  details: err.details.replace(appId, "<app>"),
  errorInfo: { ...details(err).errorInfo, metadata: { ...details(err).errorInfo?.metadata, appId: "<app>" } },
});

describe("a token's apps allow-list", () => {
  it("reaches the apps it lists", async () => {
    await sim.reset();
    const res = (await chat(TOKENS.chat)) as { answer: string };
    expect(res.answer).toContain("hi");
    expect(await sim.runs()).toHaveLength(1);
  });

  it("gets for every other app of its workspace the very NOT_FOUND an app that exists nowhere gets, and Dify sees nothing", async () => {
    await sim.reset();
    const nowhere = await failed(workflow(TOKENS.chat, UNKNOWN));
    const unary = await failed(workflow(TOKENS.chat));
    const stream = await collect(
      c.workflow.workflowInvokeStream({ appId: WORKFLOW, inputs: {}, files: [], user: "u" }, bearer(TOKENS.chat)),
    );
    expect(unary.code).toBe(status.NOT_FOUND);
    expect(notFoundShape(unary, WORKFLOW)).toEqual(notFoundShape(nowhere, UNKNOWN));
    expect(stream.messages).toEqual([]);
    expect(notFoundShape(stream.error!, WORKFLOW)).toEqual(notFoundShape(nowhere, UNKNOWN));
    expect(await sim.requests()).toEqual([]);
  });

  it("leaves a token without `apps` every app of its workspace", async () => {
    await chat(TOKENS.full);
    await workflow(TOKENS.full);
  });
});

describe("expiresAt", () => {
  it("refuses an expired token with UNAUTHENTICATED TOKEN_EXPIRED, warns once per token, and Dify sees nothing", async () => {
    await sim.reset();
    const first = await failed(chat(TOKENS.old));
    const second = await failed(workflow(TOKENS.old));
    for (const err of [first, second]) {
      expect(err.code).toBe(status.UNAUTHENTICATED);
      expect(details(err).errorInfo).toEqual({ reason: "TOKEN_EXPIRED", domain: "dify-grpc-gateway", metadata: {} });
      expect(err.details).toMatch(/expired/);
    }
    expect(await sim.requests()).toEqual([]);
    const warnings = gw.logs().filter((l) => l.level === 40 && l.tokenName === "old");
    expect(warnings).toEqual([expect.objectContaining({ workspace: "ws-scoped", msg: expect.stringMatching(/expiresAt/) })]);
    expect(gw.logs().filter((l) => l.msg === "call rejected: token expired" && l.tokenName === "old")).toHaveLength(2);
  });

  it("works until its expiresAt and is refused from that instant on, with no reload then", async () => {
    // Set here, not at start-up: a loaded machine may take longer than SOON_MS to reach this test.
    soonExpiresAt = Date.now() + SOON_MS;
    gw.gateway.reload(parseConfig(configDoc(sim.url, new Date(soonExpiresAt).toISOString()), "reloaded", env));
    await chat(TOKENS.soon);
    expect(Date.now()).toBeLessThan(soonExpiresAt);
    await new Promise((r) => setTimeout(r, Math.max(0, soonExpiresAt - Date.now()) + 50));
    const err = await failed(chat(TOKENS.soon));
    expect(details(err).errorInfo?.reason).toBe("TOKEN_EXPIRED");
  });
});

describe("names in logs and metrics", () => {
  it("the call's log line names its token by its name, or by a digest prefix; never the token", async () => {
    await chat(TOKENS.chat);
    await chat(TOKENS.full);
    const lines = gw.logs().filter((l) => l.msg === "call finished");
    expect(lines.some((l) => l.tokenName === "plugin-chat")).toBe(true);
    expect(lines.some((l) => l.tokenName === `sha256:${hex(TOKENS.full).slice(0, 12)}`)).toBe(true);
    for (const t of Object.values(TOKENS)) expect(gw.output()).not.toContain(t);
  });

  it("dify_gateway_token_calls_total counts calls by token name and outcome", async () => {
    const text = await (await fetch(gw.metricsUrl!)).text();
    expect(text).toMatch(/dify_gateway_token_calls_total\{workspace="ws-scoped",token="plugin-chat",outcome="OK"\} [1-9]/);
    expect(text).toMatch(/dify_gateway_token_calls_total\{workspace="ws-scoped",token="plugin-chat",outcome="NOT_FOUND"\} [1-9]/);
    expect(text).toMatch(/dify_gateway_token_calls_total\{workspace="ws-scoped",token="old",outcome="UNAUTHENTICATED"\} 2/);
    for (const t of Object.values(TOKENS)) expect(text).not.toContain(t);
  });
});

describe("reload", () => {
  it("applies a changed allow-list to the next call", async () => {
    const next = parseConfig(configDoc(sim.url, new Date(soonExpiresAt).toISOString(), [CHAT, WORKFLOW]), "reloaded", env);
    gw.gateway.reload(next);
    await workflow(TOKENS.chat);
    const restored = parseConfig(configDoc(sim.url, new Date(soonExpiresAt).toISOString()), "reloaded", env);
    gw.gateway.reload(restored);
    expect((await failed(workflow(TOKENS.chat))).code).toBe(status.NOT_FOUND);
  });
});
