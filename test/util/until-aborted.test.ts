import { describe, expect, it } from "vitest";
import { AbortableWaits } from "../../src/util/until-aborted.js";

describe("AbortableWaits", () => {
  it("gives each wait its promise's value, one after another", async () => {
    const waits = new AbortableWaits(new AbortController().signal);
    for (let i = 0; i < 3; i++) expect(await waits.wait(Promise.resolve(i))).toBe(i);
    await expect(waits.wait(Promise.reject(new Error("upstream broke")))).rejects.toThrow("upstream broke");
    waits.dispose();
  });

  it("ends the wait in progress with the signal's reason after earlier waits settled, and leaves the promise running", async () => {
    const leave = new AbortController();
    const waits = new AbortableWaits(leave.signal);
    await waits.wait(Promise.resolve("first chunk"));
    let finish!: (v: string) => void;
    const pending = new Promise<string>((resolve) => (finish = resolve));
    const waiting = waits.wait(pending);
    leave.abort(new Error("the caller left"));
    await expect(waiting).rejects.toThrow("the caller left");
    finish("read on in the background");
    await expect(pending).resolves.toBe("read on in the background");
    // Once aborted, every later wait fails at once.
    await expect(waits.wait(Promise.resolve("late"))).rejects.toThrow("the caller left");
    waits.dispose();
  });

  it("after dispose, an abort no longer reaches a wait", async () => {
    const leave = new AbortController();
    const waits = new AbortableWaits(leave.signal);
    let finish!: (v: string) => void;
    const waiting = waits.wait(new Promise<string>((resolve) => (finish = resolve)));
    waits.dispose();
    leave.abort(new Error("too late"));
    finish("value");
    await expect(waiting).resolves.toBe("value");
  });

  it("ends the waits by abort() too, once, and makes its signal only when asked, aborted as the waits are", async () => {
    const call = new AbortController();
    const leave = new AbortableWaits(call.signal);
    const early = leave.signal;
    expect(early.aborted).toBe(false);
    const waiting = leave.wait(new Promise(() => {}));
    leave.abort(new Error("Dify went silent"));
    await expect(waiting).rejects.toThrow("Dify went silent");
    expect(early.aborted).toBe(true);
    expect((early.reason as Error).message).toBe("Dify went silent");
    // The first reason stays: a later abort, by the call or again by the run, changes nothing.
    call.abort(new Error("the caller left"));
    leave.abort(new Error("again"));
    expect(leave.aborted).toBe(true);
    expect((leave.reason as Error).message).toBe("Dify went silent");
    await expect(leave.wait(Promise.resolve("late"))).rejects.toThrow("Dify went silent");
    leave.dispose();

    const call2 = new AbortController();
    const leave2 = new AbortableWaits(call2.signal);
    call2.abort(new Error("the caller left"));
    // A signal first asked for after the abort is born aborted, with the reason.
    expect(leave2.signal.aborted).toBe(true);
    expect((leave2.signal.reason as Error).message).toBe("the caller left");
    leave2.dispose();
  });

  it("takes a signal that already aborted as aborted", async () => {
    const call = new AbortController();
    call.abort(new Error("gone before"));
    const leave = new AbortableWaits(call.signal);
    expect(leave.aborted).toBe(true);
    await expect(leave.wait(Promise.resolve(1))).rejects.toThrow("gone before");
    leave.dispose();
  });
});
