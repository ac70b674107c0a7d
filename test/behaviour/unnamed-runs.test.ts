import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../../src/auth/registry.js";
import { bearer, clients, unary } from "../helpers/grpc.js";
import { type InProcessGateway, startInProcessGateway } from "../helpers/in-process.js";
import { eventually } from "../helpers/processes.js";

/*
 * A caller that leaves before Dify's first event leaves a run that may be live on Dify until an event names it and
 * the gateway stops it. Until then it holds its workspace's slot: cancelling early cannot start more runs than the
 * limit (a probe cancelled 2,000 calls at 20 ms and had 1,370 upstream requests open on a workspace limited to 100).
 */

const TOKEN = "tok-unnamed-runs-4d5e6f7a8b";
const APP = "a1b2c3d4-0000-4000-8000-00000000e1e1";
const HEADERS_MS = 800;

let runs = 0;
const stops: string[] = [];
const dify = createServer((req: IncomingMessage, res: ServerResponse) => {
  if (req.url?.endsWith("/stop")) {
    stops.push(req.url);
    res.writeHead(200, { "content-type": "application/json" }).end('{"result":"success"}');
    return;
  }
  const task = `t-${++runs}`;
  // Like Dify for a chat app: the headers come with the first event, the model's first token.
  setTimeout(() => {
    if (res.destroyed) return;
    res.writeHead(200, { "content-type": "text/event-stream" });
    const ev = { task_id: task, message_id: "m", conversation_id: "c", created_at: 1 };
    res.write(`data: ${JSON.stringify({ ...ev, event: "message", answer: "hi" })}\n\n`);
    res.end(`data: ${JSON.stringify({ ...ev, event: "message_end", metadata: {} })}\n\n`);
  }, HEADERS_MS);
});

let gw: InProcessGateway;
beforeAll(async () => {
  await new Promise<void>((resolve) => dify.listen(0, "127.0.0.1", resolve));
  const { port } = dify.address() as { port: number };
  gw = await startInProcessGateway(
    {
      workspaces: [
        {
          id: "ws-unnamed",
          difyBaseUrl: `http://127.0.0.1:${port}/v1`,
          tokens: [{ sha256: sha256(TOKEN).toString("hex") }],
          apps: [{ appId: APP, key: { env: "K" }, mode: "chat" }],
          maxConcurrentCalls: 1,
        },
      ],
    },
    { K: "app-key-unnamed-runs" },
  );
});
afterAll(async () => {
  await gw?.gateway.close(0);
  await new Promise((resolve) => dify.close(resolve));
});

const request = { appId: APP, query: "q", inputs: {}, files: [], user: "", conversationId: "" };

describe("a caller leaving before its run's first event", () => {
  it("holds the workspace's slot until the run is named and stopped", async () => {
    const c = clients(gw.address);
    const left = await unary(c.chat.chatInvoke, c.chat, request, bearer(TOKEN), { deadline: Date.now() + 100 }).catch(
      (e: ServiceError) => e,
    );
    expect((left as ServiceError).code).toBe(status.DEADLINE_EXCEEDED);
    const refused = await unary(c.chat.chatInvoke, c.chat, request, bearer(TOKEN)).catch((e: ServiceError) => e);
    expect((refused as ServiceError).code).toBe(status.RESOURCE_EXHAUSTED);
    await eventually(async () => expect(stops).toEqual(["/v1/chat-messages/t-1/stop"]), 5_000);
    await eventually(async () => expect((await unary(c.chat.chatInvoke, c.chat, request, bearer(TOKEN))).answer).toBe("hi"), 5_000);
    c.close();
    expect(runs).toBe(2);
  });
});
