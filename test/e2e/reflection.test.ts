import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_APPS } from "../../simulator/index.js";
import { type Stack, startStack, TOKEN } from "../helpers/stack.js";

const run = promisify(execFile);
const BUF = new URL("../../node_modules/.bin/buf", import.meta.url).pathname;

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.stop();
});

/** `buf curl` is our grpcurl: it resolves every schema through server reflection. */
async function bufCurl(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const base = ["curl", "--protocol", "grpc", "--http2-prior-knowledge"];
  try {
    const { stdout, stderr } = await run(BUF, [...base, ...args], { timeout: 20_000 });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

const auth = ["-H", `authorization: Bearer ${TOKEN}`];

describe("server reflection, through buf curl", () => {
  it("lists every RPC and health without credentials", async () => {
    const { stdout, code } = await bufCurl(["--list-methods", `http://${s.gw.address}`]);
    expect(code).toBe(0);
    const methods = stdout.trim().split("\n").sort();
    expect(methods).toEqual(
      expect.arrayContaining([
        "dify.app.v1.ChatService/ChatInvoke",
        "dify.app.v1.ChatService/ChatInvokeStream",
        "dify.app.v1.CompletionService/CompletionInvoke",
        "dify.app.v1.CompletionService/CompletionInvokeStream",
        "dify.app.v1.WorkflowService/WorkflowInvoke",
        "dify.app.v1.WorkflowService/WorkflowInvokeStream",
        "dify.app.v1.FileService/UploadFile",
        "dify.app.v1.AppService/ListApps",
        "dify.app.v1.AppService/DescribeApp",
        "dify.app.v1.RunService/WatchRun",
        "dify.app.v1.RunService/GetWorkflowRun",
        "dify.app.v1.RunService/GetHumanInputForm",
        "dify.app.v1.RunService/SubmitHumanInputForm",
        "grpc.health.v1.Health/Check",
      ]),
    );
  });

  it("calls DescribeApp by reflection (the README's example)", async () => {
    const { stdout, code } = await bufCurl([
      ...auth,
      "-d",
      JSON.stringify({ app_id: DEMO_APPS.find((a) => a.form)!.appId }),
      `http://${s.gw.address}/dify.app.v1.AppService/DescribeApp`,
    ]);
    expect(code).toBe(0);
    const res = JSON.parse(stdout) as { mode: string; inputSchema: { required: string[] } };
    expect(res.mode).toBe("workflow");
    expect(res.inputSchema.required).toEqual(["topic", "tone"]);
  });

  it("answers the older v1alpha reflection protocol too, which many grpcurl builds use", async () => {
    const { stdout, code } = await bufCurl(["--reflect-protocol", "grpc-v1alpha", "--list-methods", `http://${s.gw.address}`]);
    expect(code).toBe(0);
    expect(stdout).toContain("dify.app.v1.WorkflowService/WorkflowInvokeStream");
  });

  it("calls health without credentials", async () => {
    const { stdout, code } = await bufCurl([`http://${s.gw.address}/grpc.health.v1.Health/Check`]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ status: "SERVING" });
  });

  const calls: [string, Record<string, unknown>, (out: string) => void][] = [
    [
      "ChatService/ChatInvoke",
      { app_id: "chat", query: "Hello", inputs: { lang: "en" } },
      (out) => expect(JSON.parse(out)).toMatchObject({ mode: "chat", raw: { event: "message" } }),
    ],
    [
      "ChatService/ChatInvokeStream",
      { app_id: "advanced-chat", query: "Hello" },
      (out) => expect(out).toContain('"event": "workflow_finished"'),
    ],
    [
      "WorkflowService/WorkflowInvoke",
      { app_id: "workflow", inputs: { topic: "gRPC" } },
      (out) => expect(JSON.parse(out)).toMatchObject({ data: { status: "succeeded" } }),
    ],
    ["WorkflowService/WorkflowInvokeStream", { app_id: "workflow", inputs: {} }, (out) => expect(out).toContain('"event": "text_chunk"')],
    [
      "CompletionService/CompletionInvoke",
      { app_id: "completion", inputs: { query: "Hi" } },
      (out) => expect(JSON.parse(out)).toMatchObject({ mode: "completion" }),
    ],
    [
      "CompletionService/CompletionInvokeStream",
      { app_id: "completion", inputs: { query: "Hi" } },
      (out) => expect(out).toContain('"event": "message_end"'),
    ],
  ];
  for (const [method, body, check] of calls) {
    it(`calls ${method} with a JSON body (Struct inputs included)`, async () => {
      const json = JSON.stringify({ ...body, app_id: s.appId(body.app_id as never) });
      const { stdout, stderr, code } = await bufCurl([...auth, "-d", json, `http://${s.gw.address}/dify.app.v1.${method}`]);
      expect(stderr).toBe("");
      expect(code).toBe(0);
      check(stdout);
    });
  }

  it("reports a gRPC error with its code (buf curl exits with code << 3)", async () => {
    const { code, stderr } = await bufCurl([
      ...auth,
      "-d",
      JSON.stringify({ app_id: "nope" }),
      `http://${s.gw.address}/dify.app.v1.WorkflowService/WorkflowInvoke`,
    ]);
    expect(code).toBe(5 << 3);
    expect(stderr).toContain("not_found");
  });
});
