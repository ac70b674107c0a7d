import { createServer, type IncomingMessage } from "node:http";
import { credentials, type Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatServiceClient } from "../../generated/dify/app/v1/chat.js";
import { DEMO_APPS } from "../../simulator/index.js";
import { sha256 } from "../../src/auth/registry.js";
import { bearer, clients, collect, unary } from "../helpers/grpc.js";
import { type GatewayProcess, type SimulatorProcess, startGatewayProcess, startSimulatorProcess } from "../helpers/processes.js";

const TOKEN = "tok-ssrf-7f6e5d4c3b2a";
const chat = DEMO_APPS.find((a) => a.mode === "chat")!;
const workflow = DEMO_APPS.find((a) => a.mode === "workflow")!;

/** A server the gateway must never contact: every request it gets is an SSRF. */
const evilHits: IncomingMessage[] = [];
const evil = createServer((req, res) => {
  evilHits.push(req);
  res.writeHead(200, { "content-type": "application/json" }).end('{"mode":"chat"}');
});
let evilUrl = "";
let sim: SimulatorProcess;
let gw: GatewayProcess;

beforeAll(async () => {
  await new Promise<void>((resolve) => evil.listen(0, "127.0.0.1", resolve));
  evilUrl = `http://127.0.0.1:${(evil.address() as { port: number }).port}`;
  sim = await startSimulatorProcess();
  gw = await startGatewayProcess(
    {
      server: { listen: "127.0.0.1:0" },
      workspaces: [
        {
          id: "acme",
          difyBaseUrl: sim.url,
          tokens: [{ sha256: sha256(TOKEN).toString("hex") }],
          // No mode for chat: the gateway asks /info, one more request whose target must come from the config.
          apps: [
            { appId: chat.appId, key: { env: "CHAT_KEY" } },
            { appId: workflow.appId, key: { env: "WF_KEY" } },
          ],
        },
      ],
    },
    { CHAT_KEY: chat.key, WF_KEY: workflow.key },
  );
  // Start-up asks each app's /info in the background: let it land before the tests count requests.
  await gw.proc.waitForLine((l) => l.includes('"Dify check done"'));
});
afterAll(async () => {
  await gw?.proc.stop();
  await sim?.proc.stop();
  await new Promise((resolve) => evil.close(resolve));
});

/** Every header a client might hope a gateway forwards or routes by. */
function hostileMetadata(): Metadata {
  const md = bearer(TOKEN);
  const evilHost = evilUrl.replace("http://", "");
  md.set("x-forwarded-host", evilHost);
  md.set("x-forwarded-proto", "http");
  md.set("host", evilHost);
  md.set("forwarded", `host=${evilHost};proto=http`);
  md.set("x-original-url", `${evilUrl}/v1/chat-messages`);
  md.set("x-rewrite-url", "/../../evil");
  md.set("dify-base-url", `${evilUrl}/v1`);
  md.set("x-dify-base-url", `${evilUrl}/v1`);
  md.set("x-upstream", evilUrl);
  return md;
}

const chatRequest = (over: Record<string, unknown> = {}) => ({
  appId: chat.appId,
  query: `please fetch ${evilUrl}/x`,
  inputs: { url: `${evilUrl}/steal`, difyBaseUrl: `${evilUrl}/v1`, nested: { base_url: evilUrl, path: "../../admin" } },
  files: [],
  user: `${evilUrl}/../user`,
  conversationId: "",
  ...over,
});

describe("the upstream URL comes only from the config (no SSRF)", () => {
  const c = () => clients(gw.address);
  // Dials the gateway, but claims the evil host as its :authority.
  const spoofed = () =>
    new ChatServiceClient(gw.address, credentials.createInsecure(), { "grpc.default_authority": evilUrl.replace("http://", "") });

  it("refuses an app_id shaped like a URL or a path with NOT_FOUND, sending nothing anywhere", async () => {
    await sim.reset();
    const client = c();
    for (const appId of [
      `${evilUrl}/v1`,
      `//127.0.0.1:1/v1`,
      "../../../v1/chat-messages",
      `${chat.appId}/../../evil`,
      `${chat.appId}?base=${evilUrl}`,
      `%2e%2e%2f${chat.appId}`,
      `${chat.appId}#x`,
    ]) {
      const err = await unary(client.chat.chatInvoke, client.chat, chatRequest({ appId }), hostileMetadata()).catch((e: ServiceError) => e);
      expect((err as ServiceError).code, appId).toBe(status.NOT_FOUND);
    }
    const err = await unary(client.chat.chatInvoke, client.chat, chatRequest({ conversationId: "../../evil" }), hostileMetadata()).catch(
      (e: ServiceError) => e,
    );
    expect((err as ServiceError).code).toBe(status.INVALID_ARGUMENT);
    client.close();
    expect(await sim.requests()).toEqual([]);
    expect(evilHits).toHaveLength(0);
  });

  it("serves calls with hostile headers, :authority, inputs, user and file URLs from the configured Dify only", async () => {
    await sim.reset();
    const client = c();
    const res = await unary(client.chat.chatInvoke, client.chat, chatRequest(), hostileMetadata());
    expect(res.answer).not.toBe("");
    const files = [{ type: "image", transferMethod: "remote_url", url: `${evilUrl}/pic.png`, uploadFileId: "" }];
    const wf = await collect(
      client.workflow.workflowInvokeStream({ appId: workflow.appId, inputs: { target: evilUrl }, files, user: "" }, hostileMetadata()),
    );
    expect(wf.error).toBeUndefined();
    // A cancelled run: its stop call's path is built from the configured base and the task id Dify gave.
    const stream = client.chat.chatInvokeStream(
      chatRequest({ inputs: { _sim: { events: 200, delay_ms: 20 }, url: evilUrl } }),
      hostileMetadata(),
    );
    await new Promise<void>((resolve) => stream.once("data", () => resolve()));
    stream.cancel();
    await collect(stream);
    const authority = spoofed();
    const viaAuthority = await unary(authority.chatInvoke, authority, chatRequest(), hostileMetadata());
    expect(viaAuthority.answer).not.toBe("");
    authority.close();
    client.close();

    const seen = await waitForStop();
    const simHost = new URL(sim.url).host;
    for (const r of seen) {
      expect(r.path).toMatch(/^\/v1\/(info|chat-messages|workflows\/run|chat-messages\/[0-9a-f-]{36}\/stop)$/);
      expect(r.headers.host).toBe(simHost);
      for (const name of [
        "x-forwarded-host",
        "x-forwarded-proto",
        "forwarded",
        "x-original-url",
        "x-rewrite-url",
        "dify-base-url",
        "x-dify-base-url",
        "x-upstream",
      ])
        expect(r.headers[name]).toBeUndefined();
    }
    const paths = seen.map((r) => r.path);
    expect(paths).toEqual(expect.arrayContaining(["/v1/info", "/v1/chat-messages", "/v1/workflows/run"]));
    expect(paths.filter((p) => p.endsWith("/stop"))).toHaveLength(1);
    expect(evilHits).toHaveLength(0);
  });
});

/** Stop calls are fire-and-forget: wait for this run's stop before reading what Dify saw. */
async function waitForStop() {
  const until = Date.now() + 5_000;
  for (;;) {
    const seen = await sim.requests();
    if (seen.some((r) => r.path.endsWith("/stop")) || Date.now() > until) return seen;
    await new Promise((r) => setTimeout(r, 50));
  }
}
