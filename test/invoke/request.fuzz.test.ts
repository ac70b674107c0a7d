import { status } from "@grpc/grpc-js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/grpc/gateway-error.js";
import { MAX_ECHOED_FIELD_CHARS } from "../../src/invoke/inputs.js";
import { CHAT, COMPLETION, type InterfaceSpec, WORKFLOW } from "../../src/invoke/interfaces.js";
import { type InvokeRequest, validateCommon } from "../../src/invoke/request.js";
import * as arb from "./arbitraries.js";
import { hasNonFinite, type RequestShape, resolvePath, sameJson, violations } from "./oracle.js";

/**
 * Request translation, in process: the checks and the JSON body every handler builds, for 10,000
 * random requests per run. fast-check prints the seed and the shrunk counterexample on failure.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);

const request = fc.record({
  appId: arb.appId,
  inputs: arb.inputs,
  files: arb.files,
  user: arb.text,
  query: arb.query,
  conversationId: arb.conversationId,
});
const SPECS: Record<string, InterfaceSpec> = { chat: CHAT, workflow: WORKFLOW, completion: COMPLETION };
const spec = fc.constantFrom("chat", "workflow", "completion");

/** What a handler does with a request before anything goes upstream. */
function translate(s: InterfaceSpec, req: RequestShape): Record<string, unknown> {
  const r: InvokeRequest = { ...req };
  validateCommon(r);
  s.validate(r);
  return s.body(r, req.user);
}

describe("request translation, fuzzed", () => {
  it(`valid requests become a body whose JSON carries them exactly; invalid ones are INVALID_ARGUMENT naming the field (${RUNS} cases)`, () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(spec, request, (kind, req) => {
        const s = SPECS[kind] as InterfaceSpec;
        const expected = violations(req, s === CHAT);
        let body: Record<string, unknown>;
        try {
          body = translate(s, req);
        } catch (err) {
          // Nothing but a GatewayError, and only INVALID_ARGUMENT, with one violation that is really wrong.
          if (!(err instanceof GatewayError)) throw err;
          expect(err.code).toBe(status.INVALID_ARGUMENT);
          const field = err.details.fieldViolations?.[0]?.field ?? "";
          expect(err.message.startsWith(`${field}: `)).toBe(true);
          expect(err.details.metadata?.field).toBe(field);
          const named =
            expected.fields.has(field) ||
            (field === "inputs" && expected.inputsTooDeep) ||
            (field.startsWith("inputs") && resolvePath(req.inputs, field).some((v) => typeof v === "number" && !Number.isFinite(v))) ||
            // A path too long to echo is cut (issue 12 item 15): it can no longer be resolved, only be bounded.
            (field.length === MAX_ECHOED_FIELD_CHARS && field.endsWith("...") && field.startsWith("inputs") && hasNonFinite(req.inputs));
          expect(field.length).toBeLessThanOrEqual(MAX_ECHOED_FIELD_CHARS);
          expect(field).toMatch(/^[\x20-\x7e]*$/);
          expect(named, `${field} is not wrong in this request`).toBe(true);
          // The status must stay small enough to deliver, whatever the caller sent.
          expect(Buffer.byteLength(err.toStatus().details)).toBeLessThan(1024);
          rejected++;
          return;
        }
        expect(expected.fields, "a wrong field was accepted").toEqual(new Set());
        expect(expected.inputsTooDeep || expected.inputsNonFinite, "inputs JSON cannot carry were accepted").toBe(false);
        const sent = JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
        expect(sameJson(sent.inputs, req.inputs), "inputs changed on the way to JSON").toBe(true);
        expect(sent.user).toBe(req.user);
        expect(sent.response_mode).toBe("streaming");
        if (s === CHAT) {
          expect(sent.query).toBe(req.query);
          expect(sent.conversation_id).toBe(req.conversationId);
        }
        const files = req.files.map((f) =>
          f.transferMethod === "remote_url"
            ? { type: f.type, transfer_method: f.transferMethod, url: f.url }
            : { type: f.type, transfer_method: f.transferMethod, upload_file_id: f.uploadFileId },
        );
        expect(sent.files ?? []).toEqual(files);
        accepted++;
      }),
      { numRuns: RUNS },
    );
    // Both outcomes are exercised in earnest, not just one of them.
    expect(accepted).toBeGreaterThan(RUNS / 50);
    expect(rejected).toBeGreaterThan(RUNS / 50);
  }, 120_000);
});
