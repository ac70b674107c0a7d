import { describe, expect, it } from "vitest";
import { composeAll, type ServerMiddleware, withMiddleware } from "../../src/middleware/types.js";
import { fakeContext, workspace } from "../core/fakes.js";
import { fakeNext, STREAM } from "./fake-next.js";

function tracing(name: string, trace: string[]): ServerMiddleware {
  return async function* (call, context) {
    trace.push(`${name} in`);
    try {
      return yield* call.next(call.request, context);
    } finally {
      trace.push(`${name} out`);
    }
  };
}

describe("composeAll", () => {
  it("runs the first middleware outermost, hands the request and context through, and returns the handler's result", async () => {
    const trace: string[] = [];
    const { next, calls } = fakeNext({ messages: ["a", "b"], result: "done", during: () => trace.push("handler") });
    const handler = withMiddleware(next, STREAM, composeAll([tracing("outer", trace), tracing("inner", trace)]));
    const { context } = fakeContext(workspace([]));
    const request = { appId: "x" };
    const gen = handler(request, context);
    const seen: unknown[] = [];
    for (let r = await gen.next(); ; r = await gen.next()) {
      seen.push(r.value);
      if (r.done) break;
    }
    expect(seen).toEqual(["a", "b", "done"]);
    expect(trace).toEqual(["outer in", "inner in", "handler", "inner out", "outer out"]);
    expect(calls[0]!.request).toBe(request);
    expect(calls[0]!.context).toBe(context);
  });

  it("with no middleware, is the handler itself", () => {
    const { next } = fakeNext({});
    expect(withMiddleware(next, STREAM, composeAll([]))).toBe(next);
  });
});
