import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_APPS } from "../../simulator/index.js";
import { sha256 } from "../../src/auth/registry.js";
import { bearer, clients, collect, details, unary } from "../helpers/grpc.js";
import { type InProcessGateway, type InProcessSimulator, startInProcessGateway, startInProcessSimulator } from "../helpers/in-process.js";

/*
 * Failures that are the operator's are logged at warn with the fix; a call on the wrong service for
 * the app's mode is told which service to call. Codes and reasons stay as the README's error table says.
 */

const TOKEN = "operator-hints-token-0123456789";
const WRONG_KEY = "app-revoked-key-hints-5a5a";
const app = (mode: string) => DEMO_APPS.find((a) => a.mode === mode)!;

let sim: InProcessSimulator;
let gw: InProcessGateway;
let c: ReturnType<typeof clients>;

beforeAll(async () => {
  sim = await startInProcessSimulator();
  const env = { K_CHAT: app("chat").key, K_WF: app("workflow").key, K_CP: app("completion").key, K_WRONG: WRONG_KEY };
  const tokens = [{ sha256: sha256(TOKEN).toString("hex") }];
  gw = await startInProcessGateway(
    {
      server: { listen: "127.0.0.1:0" },
      workspaces: [
        {
          id: "good",
          difyBaseUrl: sim.url,
          tokens,
          apps: [
            { appId: "chat", key: { env: "K_CHAT" } },
            // Configured mode: no /info needed to name the right service.
            { appId: "wf", key: { env: "K_WF" }, mode: "workflow" },
            // No mode in the config: the gateway asks /info.
            { appId: "cp", key: { env: "K_CP" } },
            { appId: "revoked", key: { env: "K_WRONG" } },
            // A chat app the config says is a workflow app.
            { appId: "mislabelled", key: { env: "K_CHAT" }, mode: "workflow" },
          ],
        },
        {
          id: "nov1",
          difyBaseUrl: sim.url.replace(/\/v1$/, ""),
          tokens: [{ sha256: sha256(`${TOKEN}-2`).toString("hex") }],
          apps: [{ appId: "wf", key: { env: "K_WF" }, mode: "workflow" }],
        },
      ],
    },
    env,
  );
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
const warns = () => gw.logs().filter((l) => l.level === 40) as { msg: string; appId?: string; workspace?: string }[];
const chatReq = (appId: string) => ({ appId, query: "q", inputs: {}, files: [], user: "eve", conversationId: "" });

describe("a call on the wrong service for the app's mode", () => {
  it("names the right service, from the configured mode; code and reason unchanged", async () => {
    const err = await failed(unary(c.chat.chatInvoke, c.chat, chatReq("wf"), bearer(TOKEN)));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(details(err).errorInfo?.reason).toBe("NOT_CHAT_APP");
    expect(err.details).toBe("Dify not_chat_app: app wf is a workflow app: call WorkflowService/WorkflowInvoke");
    expect(warns()).toContainEqual(
      expect.objectContaining({ appId: "wf", msg: expect.stringContaining("call WorkflowService/WorkflowInvoke") }),
    );
  });

  it("names the right service from Dify's /info when the config has no mode, on streams too", async () => {
    const { error } = await collect(c.chat.chatInvokeStream(chatReq("cp"), bearer(TOKEN)));
    expect(error?.code).toBe(status.FAILED_PRECONDITION);
    expect(error?.details).toBe("Dify not_chat_app: app cp is a completion app: call CompletionService/CompletionInvoke");
    const wf = await failed(
      unary(c.workflow.workflowInvoke, c.workflow, { appId: "chat", inputs: {}, files: [], user: "eve" }, bearer(TOKEN)),
    );
    expect(details(wf).errorInfo?.reason).toBe("NOT_WORKFLOW_APP");
    expect(wf.details).toBe("Dify not_workflow_app: app chat is a chat app: call ChatService/ChatInvoke");
    const cp = await failed(
      unary(c.completion.completionInvoke, c.completion, { appId: "wf", inputs: {}, files: [], user: "eve" }, bearer(TOKEN)),
    );
    expect(details(cp).errorInfo?.reason).toBe("APP_UNAVAILABLE");
    expect(cp.details).toBe("Dify app_unavailable: app wf is a workflow app: call WorkflowService/WorkflowInvoke");
  });
});

describe("warn lines a caller can cause", () => {
  it("come once a minute per mistake; every call's message still has the hint", async () => {
    const wrongService = () => warns().filter((l) => l.appId === "cp" && l.msg.includes("call CompletionService/CompletionInvoke"));
    const before = wrongService().length;
    for (let i = 0; i < 20; i++) {
      const err = await failed(unary(c.chat.chatInvoke, c.chat, chatReq("cp"), bearer(TOKEN)));
      expect(err.details).toContain("call CompletionService/CompletionInvoke");
    }
    expect(wrongService().length - before).toBeLessThanOrEqual(1);
    expect(wrongService().length).toBeGreaterThanOrEqual(1);
  });
});

describe("the operator's mistakes", () => {
  it("a refused app key: INTERNAL as before, the caller told it is the gateway's, a warn line naming where the key comes from, never the key", async () => {
    const err = await failed(unary(c.chat.chatInvoke, c.chat, chatReq("revoked"), bearer(TOKEN)));
    expect(err.code).toBe(status.INTERNAL);
    expect(details(err).errorInfo?.reason).toBe("UNAUTHORIZED");
    expect(err.details).toBe(
      "Dify unauthorized: Access token is invalid (the gateway's key for app revoked was refused: the gateway's operator must fix it)",
    );
    expect(warns()).toContainEqual(
      expect.objectContaining({ workspace: "good", appId: "revoked", msg: expect.stringContaining("(env K_WRONG)") }),
    );
    expect(gw.output()).not.toContain(WRONG_KEY);
    expect(err.details).not.toContain(WRONG_KEY);
  });

  it("a configured mode that is not the app's: the code Dify's answer maps to, the caller told it is the gateway's, a warn line with the fix", async () => {
    const err = await failed(
      unary(c.workflow.workflowInvoke, c.workflow, { appId: "mislabelled", inputs: {}, files: [], user: "eve" }, bearer(TOKEN)),
    );
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(details(err).errorInfo?.reason).toBe("NOT_WORKFLOW_APP");
    expect(err.details).toMatch(
      /^Dify not_workflow_app: .*\(the gateway's config gives app mislabelled the wrong mode: the gateway's operator must fix it\)$/,
    );
    expect(warns()).toContainEqual(
      expect.objectContaining({
        appId: "mislabelled",
        configuredMode: "workflow",
        msg: expect.stringContaining("set its mode to the app's own (check-config --probe reports it) or remove it"),
      }),
    );
  });

  it("a base URL without /v1: NOT_FOUND as before, a warn line saying difyBaseUrl should end with /v1", async () => {
    const err = await failed(
      unary(c.workflow.workflowInvoke, c.workflow, { appId: "wf", inputs: {}, files: [], user: "eve" }, bearer(`${TOKEN}-2`)),
    );
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toContain("the gateway's Dify URL for this workspace is wrong");
    expect(warns()).toContainEqual(
      expect.objectContaining({
        workspace: "nov1",
        msg: expect.stringMatching(/no route \/workflows\/run under .*: difyBaseUrl should end with \/v1$/),
      }),
    );
  });

  it("a conversation that does not exist stays the caller's NOT_FOUND with Dify's message, and no warn", async () => {
    const before = warns().length;
    const err = await failed(
      unary(c.chat.chatInvoke, c.chat, { ...chatReq("chat"), conversationId: "00000000-0000-4000-8000-000000000000" }, bearer(TOKEN)),
    );
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toContain("Conversation Not Exists");
    expect(warns()).toHaveLength(before);
  });
});
