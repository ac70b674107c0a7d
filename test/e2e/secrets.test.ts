import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { type ServiceError, status } from "@grpc/grpc-js";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppMode, DEMO_APPS } from "../../simulator/index.js";
import { sha256 } from "../../src/auth/registry.js";
import { bearer, clients, collect, details, unary } from "../helpers/grpc.js";
import { eventually, type GatewayProcess, startGatewayProcess } from "../helpers/processes.js";
import { type Stack, startStack, TOKEN } from "../helpers/stack.js";

/*
 * A whole scenario at trace level, errors included, then a scan of everything
 * the gateway said: every log line, every status message and details blob,
 * and check-config's output. No configured token or app key may appear.
 */
const SECRETS = [TOKEN, ...DEMO_APPS.map((a) => a.key)];
const said: string[] = [];

let s: Stack;
let unreachable: GatewayProcess;
beforeAll(async () => {
  s = await startStack({ upstream: { idleTimeoutMs: 800 }, logLevel: "trace" });
  unreachable = await startGatewayProcess(
    {
      server: { listen: "127.0.0.1:0" },
      log: { level: "trace" },
      workspaces: [
        {
          id: "down",
          difyBaseUrl: "http://127.0.0.1:9/v1",
          tokens: [{ sha256: sha256(TOKEN).toString("hex") }],
          apps: [{ appId: "app-down", key: { env: "K" } }],
        },
      ],
    },
    { K: DEMO_APPS[0]!.key },
  );
});
afterAll(async () => {
  await s?.stop();
  await unreachable?.proc.stop();
});

function record(err: ServiceError | undefined): ServiceError | undefined {
  if (err) said.push(err.details, err.message, JSON.stringify(details(err)), JSON.stringify(err.metadata.getMap()));
  return err;
}

const chatReq = (mode: AppMode, inputs: Record<string, unknown> = {}, query = "hello") => ({
  appId: s.appId(mode),
  query,
  inputs,
  files: [],
  user: "",
  conversationId: "",
});

async function chatUnary(req: ReturnType<typeof chatReq>, token = TOKEN) {
  try {
    said.push(JSON.stringify(await unary(s.c.chat.chatInvoke, s.c.chat, req, bearer(token))));
    return undefined;
  } catch (err) {
    return record(err as ServiceError);
  }
}

async function chatStream(req: ReturnType<typeof chatReq>, token = TOKEN) {
  const { messages, error } = await collect(s.c.chat.chatInvokeStream(req, bearer(token)));
  said.push(JSON.stringify(messages));
  return record(error);
}

describe("no secret in any output", () => {
  it("runs the scenario", async () => {
    const key = DEMO_APPS.find((a) => a.mode === "chat")!.key;
    const outcomes = await Promise.all([
      chatUnary(chatReq("chat")),
      chatStream(chatReq("advanced-chat")),
      unary(
        s.c.workflow.workflowInvoke,
        s.c.workflow,
        { appId: s.appId("workflow"), inputs: { topic: "x" }, files: [], user: "" },
        bearer(TOKEN),
      ).then((r) => said.push(JSON.stringify(r))),
      chatUnary(chatReq("chat", {}, "")),
      chatUnary({ ...chatReq("chat"), appId: "not-configured" }),
      chatUnary(chatReq("chat"), `${TOKEN}x`),
      chatUnary(chatReq("chat"), DEMO_APPS[0]!.key),
      chatUnary(
        chatReq("chat", { _sim: { fault: "http_error", status: 401, code: "unauthorized", message: `Access token ${key} is invalid` } }),
      ),
      chatUnary(chatReq("chat", { _sim: { fault: "http_error", status: 429, code: "too_many_requests", message: "slow down" } })),
      chatUnary(chatReq("chat", { _sim: { fault: "http_error", status: 502, body_text: `<html>bad gateway ${key}</html>` } })),
      chatStream(chatReq("chat", { _sim: { fault: "error_event", after: 2, message: `model failed for key ${key}` } })),
      chatStream(chatReq("chat", { _sim: { fault: "silent", after: 1 } })),
      chatStream(chatReq("chat", { _sim: { fault: "malformed_json", after: 1 } })),
      chatStream(chatReq("chat", { _sim: { fault: "reset", after: 2 } })),
    ]);
    expect(outcomes.filter((o) => o !== undefined).length).toBeGreaterThanOrEqual(10);

    const cancelled = s.c.chat.chatInvokeStream(chatReq("chat", { _sim: { events: 200, delay_ms: 20 } }), bearer(TOKEN));
    cancelled.on("error", (err: ServiceError) => said.push(err.details));
    const first = await new Promise<{ raw?: { task_id?: string } }>((resolve) => cancelled.once("data", resolve));
    cancelled.cancel();
    // The stop call (and what the gateway logs about it) is part of the scenario: wait for this run's own.
    await eventually(async () =>
      expect((await s.sim.requests()).map((r) => r.path)).toContain(`/v1/chat-messages/${first.raw?.task_id}/stop`),
    );

    const down = clients(unreachable.address);
    const err = await unary(
      down.chat.chatInvoke,
      down.chat,
      { appId: "app-down", query: "q", inputs: {}, files: [], user: "", conversationId: "" },
      bearer(TOKEN),
    ).catch((e: ServiceError) => e);
    down.close();
    expect((record(err as ServiceError) as ServiceError).code).toBe(status.UNAVAILABLE);

    const checked = await promisify(execFile)(process.execPath, ["dist/src/main.js", "check-config", s.gw.configFile], {
      env: { ...process.env, ...Object.fromEntries(DEMO_APPS.map((a, i) => [`TEST_APP_KEY_${i}`, a.key])) },
    });
    expect(checked.stdout).toContain("valid");
    said.push(checked.stdout, checked.stderr);

    // Metrics labels carry workspace ids and methods only; after all of the above, still no secret.
    const metrics = await (await request(s.gw.metricsUrl!)).body.text();
    expect(metrics).toContain("grpc_server_call_duration_seconds");
    said.push(metrics);
  });

  it("finds zero secrets in what the clients received, the CLI printed or /metrics serves", () => {
    const text = said.join("\n");
    expect(text.length).toBeGreaterThan(1_000);
    for (const secret of SECRETS) expect(text).not.toContain(secret);
  });

  it("finds zero secrets in any gateway log line, though trace level logs a lot", () => {
    const lines = [...s.gw.proc.lines, ...unreachable.proc.lines];
    expect(lines.length).toBeGreaterThan(15);
    for (const secret of SECRETS) expect(lines.filter((l) => l.includes(secret))).toEqual([]);
  });
});
