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
});
