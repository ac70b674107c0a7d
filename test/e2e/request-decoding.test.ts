import { credentials, makeGenericClientConstructor, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkflowInvokeRequest, WorkflowServiceService } from "../../generated/dify/app/v1/workflow.js";
import { MAX_INPUTS_DEPTH } from "../../src/invoke/inputs.js";
import { details, unary } from "../helpers/grpc.js";
import { type Stack, startStack } from "../helpers/stack.js";
import { encodeStruct } from "../invoke/wire.js";

/** Requests at the edges of what the gateway decodes, through a real gateway process. */
let s: Stack;
beforeAll(async () => {
  s = await startStack();
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

/** A workflow client whose `inputs` bytes are written like Python's or Go's: every key kept, no depth limit on encoding. */
const RawWorkflow = makeGenericClientConstructor(
  {
    workflowInvoke: {
      ...WorkflowServiceService.workflowInvoke,
      requestSerialize: (req: { appId: string; user: string; inputs: Record<string, unknown> | Uint8Array }) =>
        Buffer.concat([
          Buffer.from(WorkflowInvokeRequest.encode({ appId: req.appId, user: req.user, files: [], inputs: undefined }).finish()),
          Buffer.from([0x12]),
          lengthPrefixed(req.inputs instanceof Uint8Array ? req.inputs : encodeStruct(req.inputs).finish()),
        ]),
    },
  },
  "WorkflowService",
);

function lengthPrefixed(b: Uint8Array, length = b.length): Buffer {
  const len: number[] = [];
  let n = length;
  while (n > 0x7f) {
    len.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  len.push(n);
  return Buffer.concat([Buffer.from(len), b]);
}

/** The Struct bytes of nest(levels), built inside out without recursion (no encoder survives 100,000 levels). */
function deepStructBytes(levels: number): Buffer {
  const leaf = encodeStruct({ leaf: "🚀" }).finish();
  const headers: Buffer[] = [];
  let size = leaf.length;
  for (let i = 1; i < levels; i++) {
    // Struct { fields: entry { key: "k", value: Value { struct_value: <inner> } } }
    const value = Buffer.concat([Buffer.from([0x2a]), varint(size)]);
    const entryBody = 3 + 1 + varint(value.length + size).length + value.length + size;
    const header = Buffer.concat([
      Buffer.from([0x0a]),
      varint(entryBody),
      Buffer.from([0x0a, 0x01, 0x6b, 0x12]),
      varint(value.length + size),
      value,
    ]);
    headers.push(header);
    size += header.length;
  }
  return Buffer.concat([...headers.reverse(), leaf]);
}

function varint(n: number): Buffer {
  return lengthPrefixed(new Uint8Array(0), n);
}

function nest(levels: number): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf: "🚀" };
  for (let i = 1; i < levels; i++) v = { k: v };
  return v;
}

async function invoke(inputs: Record<string, unknown> | Uint8Array, appId?: string): Promise<{ err?: ServiceError }> {
  const client = new RawWorkflow(s.gw.address, credentials.createInsecure()) as unknown as { workflowInvoke: unknown; close(): void };
  try {
    await unary(client.workflowInvoke as never, client, { appId: appId ?? s.appId("workflow"), user: "eve", inputs }, s.md(), {
      deadline: Date.now() + 10_000,
    });
    return {};
  } catch (err) {
    return { err: err as ServiceError };
  } finally {
    client.close();
  }
}

describe("inputs at the edges", () => {
  it(`${MAX_INPUTS_DEPTH} levels of nesting reach Dify unchanged`, async () => {
    await s.sim.reset();
    const inputs = nest(MAX_INPUTS_DEPTH);
    expect(deepStructBytes(MAX_INPUTS_DEPTH)).toEqual(Buffer.from(encodeStruct(inputs).finish()));
    expect((await invoke(inputs)).err).toBeUndefined();
    const runs = (await s.sim.runs()) as { body: { inputs: unknown } }[];
    expect(runs.map((r) => r.body.inputs)).toEqual([inputs]);
  });

  it.each([MAX_INPUTS_DEPTH + 1, 1_000, 100_000])("%i levels → INVALID_ARGUMENT naming inputs, nothing sent upstream", async (levels) => {
    await s.sim.reset();
    const { err } = await invoke(deepStructBytes(levels));
    // 100,000 levels are also over the 1 MiB inputs bound, which is checked first (issue 12 item 9).
    expect(err?.details).toMatch(new RegExp(`^inputs: (nests deeper than ${MAX_INPUTS_DEPTH} levels|must be at most \\d+ bytes encoded)`));
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(details(err as ServiceError).badRequest?.fieldViolations[0]?.field).toBe("inputs");
    expect(await s.sim.runs()).toEqual([]);
  });

  it("NaN and Infinity → INVALID_ARGUMENT naming the value, not a silent null", async () => {
    const { err } = await invoke({ a: { b: [1, Number.NaN] } });
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(details(err as ServiceError).badRequest?.fieldViolations[0]?.field).toBe("inputs.a.b[1]");
    expect((await invoke({ x: Number.POSITIVE_INFINITY })).err?.code).toBe(status.INVALID_ARGUMENT);
  });

  it("a __proto__ key reaches Dify as a key", async () => {
    await s.sim.reset();
    const inputs = JSON.parse('{"__proto__": {"polluted": 1}, "b": 2}') as Record<string, unknown>;
    expect((await invoke(inputs)).err).toBeUndefined();
    const runs = (await s.sim.runs()) as { body: { inputs: unknown } }[];
    expect(JSON.stringify(runs[0]?.body.inputs)).toBe('{"__proto__":{"polluted":1},"b":2}');
  });

  it("an over-long app_id → INVALID_ARGUMENT at once (a 5,000-char id used to hang the call)", async () => {
    const { err } = await invoke({}, "x".repeat(5_000));
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(details(err as ServiceError).badRequest?.fieldViolations[0]?.field).toBe("app_id");
  });
});
