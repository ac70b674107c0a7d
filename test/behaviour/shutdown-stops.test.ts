import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../../src/auth/registry.js";
import { bearer, clients, collect } from "../helpers/grpc.js";
import { type InProcessGateway, startInProcessGateway } from "../helpers/in-process.js";

/*
 * A shutdown whose stop calls Dify does not answer: the gateway gives them up when its budget runs out, says so in
 * the log before its last line, and still exits within grace + the post-grace budget (1.5 s).
 */

const TOKEN = "tok-shutdown-stops-3c2b1a09f8e7";
const APP = "a1b2c3d4-0000-4000-8000-00000000c4a7";
const GRACE_MS = 100;

/** A Dify that streams a chat run's events every 20 ms and never answers a stop call. */
const held: ServerResponse[] = [];
const stopsSeen: string[] = [];
const dify = createServer((req: IncomingMessage, res: ServerResponse) => {
  held.push(res);
  if (req.url?.endsWith("/stop")) {
    stopsSeen.push(req.url);
    return; // never answered
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  const timer = setInterval(() => {
    const event = { event: "message", task_id: "task-held", message_id: "m-1", conversation_id: "c-1", answer: "x", created_at: 1 };
    res.write(`data: ${JSON.stringify(event)}\n\n`);
  }, 20);
  res.on("close", () => clearInterval(timer));
});

let gw: InProcessGateway;
beforeAll(async () => {
  await new Promise<void>((resolve) => dify.listen(0, "127.0.0.1", resolve));
  const { port } = dify.address() as { port: number };
  gw = await startInProcessGateway(
    {
      workspaces: [
        {
          id: "ws-stops",
          difyBaseUrl: `http://127.0.0.1:${port}/v1`,
          tokens: [{ sha256: sha256(TOKEN).toString("hex") }],
          apps: [{ appId: APP, key: { env: "K" }, mode: "chat" }],
        },
      ],
    },
    { K: "app-key-shutdown-stops" },
  );
});
afterAll(async () => {
  for (const res of held) res.destroy();
  await new Promise((resolve) => dify.close(resolve));
});

describe("a shutdown whose stop calls Dify never answers", () => {
  it("gives them up within its budget and logs each one before 'shut down', its last line", async () => {
    const c = clients(gw.address);
    let started!: () => void;
    const first = new Promise<void>((r) => (started = r));
    const call = c.chat.chatInvokeStream({ appId: APP, query: "hold", inputs: {}, files: [], user: "", conversationId: "" }, bearer(TOKEN));
    const done = collect(call, (_m, all) => all.length === 1 && started());
    await first;

    const t0 = performance.now();
    await gw.gateway.close(GRACE_MS);
    const took = performance.now() - t0;
    const out = await done;
    c.close();

    expect(out.error?.code).toBe(status.UNAVAILABLE);
    expect(stopsSeen).toEqual(["/v1/chat-messages/task-held/stop"]);
    expect(took).toBeLessThan(GRACE_MS + 1_500 + 250);
    const lines = gw.logs();
    const gaveUp = lines.findIndex((l) => l.msg === "could not stop the unfinished run on Dify");
    expect(lines[gaveUp]).toMatchObject({ taskId: "task-held", err: "the shutdown's time ran out before Dify answered" });
    expect(lines.at(-1)?.msg).toBe("shut down");
    expect(gaveUp).toBeLessThan(lines.length - 1);
    expect(lines.filter((l) => l.msg === "stopped the unfinished run on Dify")).toHaveLength(0);
    const stopCalls = (await gw.gateway.metrics.stopCalls.get()).values;
    expect(stopCalls).toEqual([expect.objectContaining({ labels: { interface: "chat", result: "failed" }, value: 1 })]);
  });
});
