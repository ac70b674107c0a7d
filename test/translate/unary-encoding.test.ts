import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChatInvokeResponse } from "../../generated/dify/app/v1/chat.js";
import { CompletionInvokeResponse } from "../../generated/dify/app/v1/completion.js";
import { WorkflowInvokeResponse } from "../../generated/dify/app/v1/workflow.js";
import { CHAT, COMPLETION, type InterfaceSpec, WORKFLOW } from "../../src/invoke/interfaces.js";
import { type UnaryResponse, unaryResponseSerializer } from "../../src/translate/unary-encoding.js";
import { json, jsonKey, jsonText } from "../helpers/json-arbitrary.js";

/**
 * The unary responses' hand-written `raw` encoder (src/translate/unary-encoding.ts) against the generated one, on
 * blocking-mode dicts as the aggregators build them from parsed JSON: a client must not be able to tell which wrote
 * its answer.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

type Generated = { encode(m: never): { finish(): Uint8Array } };
const TARGETS: [string, InterfaceSpec, Generated][] = [
  ["chat", CHAT, ChatInvokeResponse as never],
  ["completion", COMPLETION, CompletionInvokeResponse as never],
  ["workflow", WORKFLOW, WorkflowInvokeResponse as never],
];

const text = jsonText;
/** The typed fields' keys too, so that the typed views are filled alongside `raw`. */
const typedFields = fc.record(
  {
    answer: text,
    message_id: text,
    conversation_id: text,
    task_id: text,
    workflow_run_id: text,
    mode: text,
    created_at: fc.integer(),
    metadata: json,
    data: json,
  },
  { requiredKeys: [] },
);
const rawDict = fc.tuple(fc.dictionary(jsonKey, json, { maxKeys: 8 }), typedFields).map(([rest, typed]) => {
  Reflect.deleteProperty(rest, "__proto__");
  // Through JSON text, as the SSE decoder builds events (e.g. -0 becomes 0).
  return JSON.parse(JSON.stringify({ ...rest, ...typed })) as Record<string, unknown>;
});
const extras = fc.record({
  reasoning: text,
  pause: fc.option(fc.record({ workflowRunId: text, forms: fc.constant([] as never[]) }), { nil: undefined }),
});

function encoded(encode: () => Uint8Array): Buffer | Error {
  try {
    return Buffer.from(encode());
  } catch (err) {
    return err as Error;
  }
}

describe("unary responses: the raw Struct written straight from the aggregated JSON", () => {
  for (const [name, spec, codec] of TARGETS) {
    it(`${name}: byte-identical to the generated encoder`, () => {
      const serialize = unaryResponseSerializer(spec.unaryResponseEncode);
      fc.assert(
        fc.property(rawDict, extras, (raw, more) => {
          let message: UnaryResponse;
          try {
            message = spec.unaryResponse(raw, more);
          } catch {
            return; // A typed view that refuses the dict fails before either encoder runs.
          }
          const expected = encoded(() => codec.encode(message as never).finish());
          const actual = encoded(() => serialize(message));
          if (expected instanceof Error) expect(actual).toBeInstanceOf(Error);
          else expect(actual).toEqual(expected);
        }),
        { numRuns: RUNS },
      );
    });
  }

  it("decodes to the same response, and leaves the message it encoded untouched", () => {
    const raw = { event: "message", answer: "hi", message_id: "m", metadata: { usage: { total_tokens: 3 } }, created_at: 7 };
    const message = COMPLETION.unaryResponse(raw, { reasoning: "r", pause: undefined });
    const bytes = unaryResponseSerializer(COMPLETION.unaryResponseEncode)(message);
    expect(message.raw).toBe(raw);
    expect(CompletionInvokeResponse.decode(bytes)).toEqual(
      CompletionInvokeResponse.decode(CompletionInvokeResponse.encode(message as never).finish()),
    );
    expect(CompletionInvokeResponse.decode(bytes).raw).toEqual(raw);
  });
});
