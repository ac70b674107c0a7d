import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { drain } from "../../src/middleware/drain.js";
import { Lifecycle } from "../../src/middleware/lifecycle.js";
import { fakeContext, workspace } from "../core/fakes.js";
import { fakeNext, run, STREAM } from "./fake-next.js";

describe("drain middleware", () => {
  it("counts the call in flight while its handler runs, and passes its messages through", async () => {
    const lifecycle = new Lifecycle();
    let during = -1;
    const { next } = fakeNext({ messages: [1, 2], result: undefined, during: () => (during = lifecycle.active) });
    const out = await run(drain(lifecycle), STREAM, next, fakeContext(workspace([])).context);
    expect(out).toMatchObject({ messages: [1, 2], error: undefined });
    expect(during).toBe(1);
    expect(lifecycle.active).toBe(0);
  });

  it("refuses a new call once draining with UNAVAILABLE SHUTTING_DOWN, without running the handler", async () => {
    const lifecycle = new Lifecycle();
    void lifecycle.drain(10_000, 0);
    const { next, calls } = fakeNext({ result: "x" });
    const out = await run(drain(lifecycle), STREAM, next, fakeContext(workspace([])).context);
    expect(out.error).toMatchObject({ code: status.UNAVAILABLE, details: { reason: "SHUTTING_DOWN", retryDelayMs: 1_000 } });
    expect(calls).toHaveLength(0);
  });

  it("lets a drain whose grace ran out terminate the running call through its context", async () => {
    const lifecycle = new Lifecycle();
    const call = fakeContext(workspace([]));
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    const middleware = drain(lifecycle);
    const gen = middleware<unknown, number>(
      {
        request: {},
        method: STREAM,
        next: async function* (_req, ctx) {
          await blocked;
          ctx.signal.throwIfAborted();
          return 0;
        },
      },
      call.context,
    );
    const pending = gen.next().catch((e: unknown) => e);
    await Promise.resolve();
    const drained = lifecycle.drain(10, 1_000);
    await new Promise((r) => setTimeout(r, 30));
    expect(call.terminated.map((e) => e.details.reason)).toEqual(["SHUTTING_DOWN"]);
    release();
    expect(await pending).toMatchObject({ details: { reason: "SHUTTING_DOWN" } });
    expect(await drained).toEqual({ terminated: 1 });
    expect(lifecycle.active).toBe(0);
  });
});
