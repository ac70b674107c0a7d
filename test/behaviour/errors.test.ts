import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_APPS } from "../../simulator/index.js";
import { bearer, collect, details, unary } from "../helpers/grpc.js";
import { type InProcessStack, startInProcessStack } from "../helpers/in-process.js";

let s: InProcessStack;
beforeAll(async () => {
  s = await startInProcessStack({ upstream: { idleTimeoutMs: 1_500 } });
});
afterAll(async () => {
  await s?.stop();
});

const failed = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (err: ServiceError) => err,
  );

function completion(inputs: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return failed(
    unary(
      s.c.completion.completionInvoke,
      s.c.completion,
      { appId: s.appId("completion"), inputs, files: [], user: "eve", ...extra },
      s.md(),
    ),
  );
}

// Proxy 502/503 pages, connection resets, incomplete, malformed and silent streams, a code-less error event and an
// unreachable Dify are in test/reliability/upstream-faults.test.ts, with their log lines, stop calls and bounds.

function expectNoSecret(err: ServiceError) {
  for (const app of DEMO_APPS) expect(`${err.details} ${JSON.stringify(details(err))}`).not.toContain(app.key);
}

describe("upstream HTTP errors before the stream map per the table (docs/dify-upstream.md, gRPC side)", () => {
  const table: [number, string, status, boolean][] = [
    [400, "invalid_param", status.INVALID_ARGUMENT, false],
    [400, "bad_request", status.INVALID_ARGUMENT, false],
    [413, "file_too_large", status.RESOURCE_EXHAUSTED, false],
    [400, "app_unavailable", status.FAILED_PRECONDITION, false],
    [400, "provider_not_initialize", status.FAILED_PRECONDITION, false],
    [400, "provider_quota_exceeded", status.FAILED_PRECONDITION, false],
    [400, "model_currently_not_support", status.FAILED_PRECONDITION, false],
    [400, "completion_request_error", status.FAILED_PRECONDITION, false],
    [400, "conversation_completed", status.FAILED_PRECONDITION, false],
    [401, "unauthorized", status.INTERNAL, false],
    [403, "forbidden", status.PERMISSION_DENIED, false],
    [404, "not_found", status.NOT_FOUND, false],
    [429, "too_many_requests", status.RESOURCE_EXHAUSTED, true],
    [429, "rate_limit_error", status.RESOURCE_EXHAUSTED, false],
    [500, "internal_server_error", status.INTERNAL, false],
  ];
  for (const [httpStatus, code, grpcCode, retryable] of table) {
    it(`${httpStatus} ${code} → ${status[grpcCode]}`, async () => {
      const err = await completion({ _sim: { fault: "http_error", status: httpStatus, code, message: `simulated ${code}` } });
      expect(err.code).toBe(grpcCode);
      expect(err.details).toContain(`simulated ${code}`);
      const d = details(err);
      expect(d.status?.code).toBe(grpcCode);
      expect(d.errorInfo).toMatchObject({
        reason: code.toUpperCase(),
        domain: "dify",
        metadata: { upstreamStatus: String(httpStatus), upstreamCode: code },
      });
      expect(d.retryInfo !== undefined).toBe(retryable);
      if (code === "rate_limit_error") expect(d.quotaFailure?.violations).toHaveLength(1);
      expectNoSecret(err);
    });
  }

  it("an app on the wrong interface gets Dify's route errors as FAILED_PRECONDITION", async () => {
    const wf = await failed(
      unary(s.c.workflow.workflowInvoke, s.c.workflow, { appId: s.appId("chat"), inputs: {}, files: [], user: "eve" }, s.md()),
    );
    expect(wf.code).toBe(status.FAILED_PRECONDITION);
    expect(details(wf).errorInfo?.reason).toBe("NOT_WORKFLOW_APP");
    const cp = await failed(
      unary(s.c.completion.completionInvoke, s.c.completion, { appId: s.appId("chat"), inputs: {}, files: [], user: "eve" }, s.md()),
    );
    expect(details(cp).errorInfo?.reason).toBe("APP_UNAVAILABLE");
    const ch = await failed(
      unary(
        s.c.chat.chatInvoke,
        s.c.chat,
        { appId: s.appId("workflow"), query: "q", inputs: {}, files: [], user: "eve", conversationId: "" },
        s.md(),
      ),
    );
    expect(details(ch).errorInfo?.reason).toBe("NOT_CHAT_APP");
  });

  it("a conversation that does not exist → NOT_FOUND from Dify", async () => {
    const err = await failed(
      unary(
        s.c.chat.chatInvoke,
        s.c.chat,
        { appId: s.appId("chat"), query: "q", inputs: {}, files: [], user: "eve", conversationId: "00000000-0000-4000-8000-000000000000" },
        s.md(),
      ),
    );
    expect(err.code).toBe(status.NOT_FOUND);
    expect(details(err).errorInfo?.reason).toBe("NOT_FOUND");
  });
});

describe("failures after the stream started", () => {
  it("an error event is forwarded, then ends the stream with its mapped status", async () => {
    const { messages, error } = await collect(
      s.c.completion.completionInvokeStream(
        {
          appId: s.appId("completion"),
          inputs: { _sim: { fault: "error_event", after: 2, status: 400, code: "completion_request_error", message: "model exploded" } },
          files: [],
          user: "eve",
        },
        s.md(),
      ),
    );
    expect(messages.map((m) => m.event)).toEqual(["message", "message", "error"]);
    expect(messages[2]?.raw).not.toHaveProperty("task_id");
    expect(error?.code).toBe(status.FAILED_PRECONDITION);
    expect(details(error!).errorInfo?.reason).toBe("COMPLETION_REQUEST_ERROR");
  });

  it("a failed chatflow on the chat interface → INTERNAL WORKFLOW_RUN_FAILED, both events forwarded", async () => {
    const { messages, error } = await collect(
      s.c.chat.chatInvokeStream(
        {
          appId: s.appId("advanced-chat"),
          query: "q",
          inputs: { _sim: { fault: "workflow_failed" } },
          files: [],
          user: "eve",
          conversationId: "",
        },
        s.md(),
      ),
    );
    expect(messages.map((m) => m.event).slice(-2)).toEqual(["workflow_finished", "error"]);
    expect(messages.map((m) => m.event)).not.toContain("message_end");
    expect(error?.code).toBe(status.INTERNAL);
    expect(details(error!).errorInfo).toMatchObject({
      reason: "WORKFLOW_RUN_FAILED",
      metadata: { upstreamCode: "invalid_param", workflowStatus: "failed" },
    });
  });

  it("pings count as activity: a pinging upstream is not idle", async () => {
    const err = await failed(
      unary(
        s.c.workflow.workflowInvoke,
        s.c.workflow,
        { appId: s.appId("workflow"), inputs: { _sim: { fault: "pings_only", ping_every_ms: 200 } }, files: [], user: "eve" },
        s.md(),
        { deadline: Date.now() + 3_000 },
      ),
    );
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
  });
});

describe("requests the gateway rejects itself", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["empty app_id", { appId: "" }, "app_id"],
    ["empty query", { query: "" }, "query"],
    ["conversation_id that is not a UUID", { conversationId: "abc" }, "conversation_id"],
    [
      "file with an unknown type",
      { files: [{ type: "spreadsheet", transferMethod: "remote_url", url: "https://x", uploadFileId: "" }] },
      "files[0].type",
    ],
    ["remote file without url", { files: [{ type: "image", transferMethod: "remote_url", url: "", uploadFileId: "" }] }, "files[0].url"],
    [
      "local file without upload_file_id",
      { files: [{ type: "document", transferMethod: "local_file", url: "", uploadFileId: "" }] },
      "files[0].upload_file_id",
    ],
  ];
  for (const [name, patch, field] of cases) {
    it(`${name} → INVALID_ARGUMENT naming ${field}`, async () => {
      await s.sim.reset();
      const req = { appId: s.appId("chat"), query: "q", inputs: {}, files: [], user: "eve", conversationId: "", ...patch };
      const err = await failed(unary(s.c.chat.chatInvoke, s.c.chat, req, s.md()));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details.startsWith(`${field}:`)).toBe(true);
      expect(details(err).badRequest?.fieldViolations[0]?.field).toBe(field);
      expect(await s.sim.runs()).toEqual([]);
    });
  }

  it("an unknown app → NOT_FOUND, with no upstream request", async () => {
    await s.sim.reset();
    const err = await failed(
      unary(s.c.workflow.workflowInvoke, s.c.workflow, { appId: "no-such-app", inputs: {}, files: [], user: "eve" }, s.md()),
    );
    expect(err.code).toBe(status.NOT_FOUND);
    expect(details(err).errorInfo?.reason).toBe("APP_NOT_FOUND");
    expect(await s.sim.runs()).toEqual([]);
  });

  it("a call without a valid bearer token → UNAUTHENTICATED", async () => {
    for (const md of [undefined, bearer("wrong-token")]) {
      const err = await failed(
        unary(
          s.c.workflow.workflowInvoke,
          s.c.workflow,
          { appId: s.appId("workflow"), inputs: {}, files: [], user: "eve" },
          md ?? new (await import("@grpc/grpc-js")).Metadata(),
        ),
      );
      expect(err.code).toBe(status.UNAUTHENTICATED);
    }
  });
});
