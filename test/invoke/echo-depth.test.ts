/**
 * Issue 12 item 10: what the gateway accepts, its own clients can read. `inputs` at MAX_INPUTS_DEPTH come back
 * in workflow and node events; the stream messages the gateway builds from those must decode with the
 * TypeScript client's decoder and with Debian's python3-protobuf at its default recursion limit.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { WorkflowInvokeStreamResponse } from "../../generated/dify/app/v1/workflow.js";
import { GatewayError } from "../../src/grpc/gateway-error.js";
import { MAX_INPUTS_DEPTH } from "../../src/invoke/inputs.js";
import { WORKFLOW } from "../../src/invoke/interfaces.js";
import { toStreamMessage } from "../../src/translate/events.js";
import { deliverable } from "../../src/transport/response-size.js";

function nest(levels: number): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf: "x" };
  for (let i = 1; i < levels; i++) v = { a: v };
  return v;
}

/** The stream messages that echo `inputs`, encoded as the gateway sends them. */
function echoes(levels: number): Uint8Array[] {
  const inputs = nest(levels);
  const events = [
    { event: "workflow_started", task_id: "t", workflow_run_id: "r", data: { id: "r", workflow_id: "w", inputs, created_at: 1 } },
    {
      event: "node_started",
      task_id: "t",
      workflow_run_id: "r",
      data: { id: "n", node_id: "start", node_type: "start", title: "Start", index: 1, inputs, created_at: 1 },
    },
    {
      event: "node_finished",
      task_id: "t",
      workflow_run_id: "r",
      data: {
        id: "n",
        node_id: "start",
        node_type: "start",
        title: "Start",
        index: 1,
        inputs,
        outputs: inputs,
        status: "succeeded",
        created_at: 1,
      },
    },
  ];
  return events.map((ev) => WorkflowInvokeStreamResponse.encode(toStreamMessage(ev, WORKFLOW.typedEvents) as never).finish());
}

const PYTHON = "/usr/bin/python3";
const PY_DECODE = `
import sys
sys.path.insert(0, "clients/python")
from dify_app_client._proto.dify.app.v1 import workflow_pb2
for path in sys.argv[1:]:
    m = workflow_pb2.WorkflowInvokeStreamResponse()
    try:
        m.ParseFromString(open(path, "rb").read())
        print("ok")
    except Exception as e:
        print("fail", type(e).__name__)
`;

function pythonDecodes(messages: Uint8Array[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), "echo-depth-"));
  const files = messages.map((m, i) => {
    const file = join(dir, `${i}.bin`);
    writeFileSync(file, m);
    return file;
  });
  const out = spawnSync(PYTHON, ["-c", PY_DECODE, ...files], { encoding: "utf8" });
  expect(out.status, out.stderr).toBe(0);
  return out.stdout.trim().split("\n");
}

describe("echoed inputs decode in the shipped clients", () => {
  it(`at MAX_INPUTS_DEPTH (${MAX_INPUTS_DEPTH}) levels: TypeScript and Python decode every echoing event`, () => {
    const messages = echoes(MAX_INPUTS_DEPTH);
    for (const m of messages) expect(() => WorkflowInvokeStreamResponse.decode(m)).not.toThrow();
    expect(pythonDecodes(messages)).toEqual(messages.map(() => "ok"));
  });

  it("the bound is not loose by much: a few levels more break both clients (so the test can fail)", () => {
    const messages = echoes(MAX_INPUTS_DEPTH + 3);
    expect(() => WorkflowInvokeStreamResponse.decode(messages[0]!)).toThrow(/recursion limit/);
    expect(pythonDecodes(messages)[0]).toBe("fail DecodeError");
  });
});

describe("deliverable", () => {
  it("passes a response a default client can receive, and refuses a bigger one with RESOURCE_EXHAUSTED RESPONSE_TOO_LARGE", () => {
    const ok = Buffer.alloc(4 * 1024 * 1024);
    expect(deliverable(ok)).toBe(ok);
    let thrown: unknown;
    try {
      deliverable(Buffer.alloc(4 * 1024 * 1024 + 1));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    expect((thrown as GatewayError).code).toBe(status.RESOURCE_EXHAUSTED);
    expect((thrown as GatewayError).details).toMatchObject({
      reason: "RESPONSE_TOO_LARGE",
      metadata: { responseBytes: "4194305", maxBytes: "4194304" },
    });
  });
});
