import { status } from "@grpc/grpc-js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChatInvokeRequest, ChatInvokeStreamRequest, ChatServiceService } from "../../generated/dify/app/v1/chat.js";
import { CompletionInvokeRequest, CompletionServiceService } from "../../generated/dify/app/v1/completion.js";
import { WorkflowInvokeStreamRequest, WorkflowServiceService } from "../../generated/dify/app/v1/workflow.js";
import { GatewayError } from "../../src/grpc/gateway-error.js";
import { withInputsDecoder } from "../../src/invoke/decode.js";
import { DEFAULT_INPUTS_LIMITS, MAX_INPUTS_DEPTH } from "../../src/invoke/inputs.js";
import { CHAT, COMPLETION, type InterfaceSpec, WORKFLOW } from "../../src/invoke/interfaces.js";
import { type InvokeRequest, validateCommon } from "../../src/invoke/request.js";
import * as arb from "./arbitraries.js";
import { depthOf, sameJson, wellFormed } from "./oracle.js";
import { encodeStruct, inputsField } from "./wire.js";

/** Struct entries plus list items at all levels: what `limits` counts as keys. */
function keysIn(v: unknown): number {
  if (Array.isArray(v)) return v.length + v.reduce((n: number, x) => n + keysIn(x), 0);
  if (v === null || typeof v !== "object") return 0;
  return Object.values(v).reduce((n: number, x) => n + 1 + keysIn(x), 0);
}

/** Over the inputs bounds (issue 12 item 9), checked while decoding, before depth is known for sure. */
function overBounds(inputs: Record<string, unknown> | undefined): boolean {
  if (!inputs) return false;
  return keysIn(inputs) > DEFAULT_INPUTS_LIMITS.maxKeys || encodeStruct(inputs).finish().length > DEFAULT_INPUTS_LIMITS.maxBytes;
}

/**
 * Requests through the real encoding: bytes as a client library sends them, decoded by the very
 * deserializer the server registers. fast-check prints the seed and counterexample on failure.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);

type Codec = { encode(m: never): { finish(): Uint8Array }; decode(b: Uint8Array): InvokeRequest };
const TARGETS: Record<string, { spec: InterfaceSpec; codec: Codec; deserialize: (b: Buffer) => InvokeRequest }> = {
  chat: { spec: CHAT, codec: ChatInvokeRequest as never, deserialize: des(ChatServiceService, "chatInvoke") },
  chatStream: { spec: CHAT, codec: ChatInvokeStreamRequest as never, deserialize: des(ChatServiceService, "chatInvokeStream") },
  workflowStream: {
    spec: WORKFLOW,
    codec: WorkflowInvokeStreamRequest as never,
    deserialize: des(WorkflowServiceService, "workflowInvokeStream"),
  },
  completion: { spec: COMPLETION, codec: CompletionInvokeRequest as never, deserialize: des(CompletionServiceService, "completionInvoke") },
};

function des(service: Parameters<typeof withInputsDecoder>[0], method: string) {
  const def = withInputsDecoder(service)[method];
  if (!def) throw new Error(method);
  return (b: Buffer) => def.requestDeserialize(b) as InvokeRequest;
}

const request = fc.record({
  appId: arb.appId,
  inputs: arb.inputs,
  files: arb.files,
  user: arb.text,
  query: arb.query,
  conversationId: arb.conversationId,
});

/** The wire bytes: the other fields by the generated encoder, `inputs` before, after or around them. */
function encode(
  codec: Codec,
  req: { inputs: Record<string, unknown> } & Record<string, unknown>,
  splitAt: number,
  inputsFirst: boolean,
): { bytes: Buffer; occurrences: number } {
  const rest = codec.encode({ ...req, inputs: undefined } as never).finish();
  const inputs = inputsField(req.inputs, splitAt);
  return { bytes: Buffer.concat(inputsFirst ? [...inputs, rest] : [rest, ...inputs]), occurrences: inputs.length };
}

function hasKey(v: unknown, key: string): boolean {
  if (v === null || typeof v !== "object") return false;
  return (!Array.isArray(v) && Object.hasOwn(v, key)) || Object.values(v).some((x) => hasKey(x, key));
}

/** What the handler does next: checks, then the body. Only a GatewayError INVALID_ARGUMENT may come out. */
function checkAndBuild(spec: InterfaceSpec, req: InvokeRequest): GatewayError | Record<string, unknown> {
  try {
    validateCommon(req);
    spec.validate(req);
    return spec.body(req, req.user);
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    return err;
  }
}

describe("requests through the protobuf encoding, fuzzed", () => {
  it(`decode to exactly what was sent, Struct inputs up to ${MAX_INPUTS_DEPTH} levels; deeper ones are INVALID_ARGUMENT "inputs" (${RUNS} cases)`, () => {
    let deep = 0;
    let compared = 0;
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(TARGETS)), request, fc.nat(10), fc.boolean(), (target, req, splitAt, inputsFirst) => {
        const { spec, codec, deserialize } = TARGETS[target] as (typeof TARGETS)[string];
        const { bytes, occurrences } = encode(codec, req, splitAt, inputsFirst);
        const decoded = deserialize(bytes);
        expect(decoded.appId).toBe(wellFormed(req.appId));
        expect(decoded.user).toBe(wellFormed(req.user));
        expect(decoded.files).toEqual(wellFormed(req.files));
        if (spec === CHAT) expect([decoded.query, decoded.conversationId]).toEqual(wellFormed([req.query, req.conversationId]));
        const outcome = checkAndBuild(spec, decoded);
        if (depthOf(req.inputs) > MAX_INPUTS_DEPTH || overBounds(req.inputs)) {
          deep++;
          expect(decoded.inputsRejected?.field).toBe("inputs");
          expect(outcome).toBeInstanceOf(GatewayError);
          const field = (outcome as GatewayError).details.fieldViolations?.[0]?.field;
          // app_id is checked first; otherwise the depth is what is named.
          expect(field === "inputs" || (field === "app_id" && (decoded.appId.trim() === "" || decoded.appId.length > 256))).toBe(true);
          return;
        }
        // Exactly: every key (`__proto__` too), every string as UTF-8 carries it, every double bit for bit but the sign of 0.
        const sent = wellFormed(req.inputs);
        expect(sameJson(decoded.inputs, sent, true), "inputs changed in decoding").toBe(true);
        // Where ts-proto's generated decoder copes (≤ ~32 levels, no `__proto__` key, inputs sent once:
        // it keeps the last occurrence where protobuf merges them), ours agrees with it.
        if (depthOf(req.inputs) <= 30 && !hasKey(req.inputs, "__proto__") && occurrences === 1) {
          expect(sameJson(codec.decode(bytes).inputs, decoded.inputs, true)).toBe(true);
          compared++;
        }
      }),
      { numRuns: RUNS },
    );
    expect(deep).toBeGreaterThan(RUNS / 100);
    expect(compared).toBeGreaterThan(RUNS / 2);
  }, 120_000);

  it(`corrupted request bytes decode to a request the checks answer, or fail the decode with an Error grpc-js turns into INTERNAL (${RUNS} cases)`, () => {
    const valid = fc.record({
      appId: fc.uuid(),
      inputs: arb.inputs,
      files: arb.files,
      user: arb.text,
      query: arb.text,
      conversationId: fc.constant(""),
    });
    const edit = fc.oneof(
      fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
      fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
    );
    let decodedCount = 0;
    let failed = 0;
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(TARGETS)), valid, fc.array(edit, { minLength: 1, maxLength: 4 }), (target, req, edits) => {
        const { spec, codec, deserialize } = TARGETS[target] as (typeof TARGETS)[string];
        let { bytes } = encode(codec, req, 0, false);
        for (const e of edits) {
          const at = bytes.length === 0 ? 0 : e.at % bytes.length;
          if (e.kind === "flip") bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([e.byte]), bytes.subarray(at + 1)]);
          else if (e.kind === "cut") bytes = bytes.subarray(0, at);
          else bytes = Buffer.concat([bytes.subarray(0, at), e.bytes, bytes.subarray(at)]);
        }
        let decoded: InvokeRequest;
        try {
          decoded = deserialize(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
          failed++;
          return;
        }
        decodedCount++;
        checkAndBuild(spec, decoded);
      }),
      { numRuns: RUNS },
    );
    expect(decodedCount).toBeGreaterThan(0);
    expect(failed).toBeGreaterThan(0);
  }, 120_000);
});
