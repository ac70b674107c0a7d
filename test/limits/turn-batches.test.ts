import { setImmediate as nextTurn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { TurnBatches } from "../../src/limits/turn-batches.js";

/** A batcher whose `send` records each batch and answers each item doubled, or fails when told to. */
function recording(max = 100) {
  const sent: [string, number[]][] = [];
  let fail: Error | undefined;
  const batches = new TurnBatches<number, number>(async (key, items) => {
    sent.push([key, [...items]]);
    if (fail) throw fail;
    return items.map((n) => n * 2);
  }, max);
  return { batches, sent, failWith: (err: Error) => (fail = err) };
}

describe("TurnBatches", () => {
  it("sends what one turn added under a key as one batch, in order, and answers each item its own result", async () => {
    const { batches, sent } = recording();
    const answers = Promise.all([batches.add("a", 1), batches.add("b", 10), batches.add("a", 2), batches.add("a", 3)]);
    expect(sent).toEqual([]);
    expect(await answers).toEqual([2, 20, 4, 6]);
    expect(sent).toEqual([
      ["a", [1, 2, 3]],
      ["b", [10]],
    ]);
  });

  it("starts a new batch in the next turn", async () => {
    const { batches, sent } = recording();
    const first = batches.add("a", 1);
    await nextTurn();
    const second = batches.add("a", 2);
    expect(await Promise.all([first, second])).toEqual([2, 4]);
    expect(sent).toEqual([
      ["a", [1]],
      ["a", [2]],
    ]);
  });

  it("sends a batch as soon as it holds `max` items", async () => {
    const { batches, sent } = recording(2);
    const answers = Promise.all([1, 2, 3, 4, 5].map((n) => batches.add("a", n)));
    expect(sent).toEqual([
      ["a", [1, 2]],
      ["a", [3, 4]],
    ]);
    expect(await answers).toEqual([2, 4, 6, 8, 10]);
    expect(sent.at(-1)).toEqual(["a", [5]]);
  });

  it("rejects every waiting item of a batch whose send failed", async () => {
    const { batches, failWith } = recording();
    failWith(new Error("redis down"));
    const answers = await Promise.allSettled([batches.add("a", 1), batches.add("a", 2)]);
    expect(answers.map((a) => a.status === "rejected" && (a.reason as Error).message)).toEqual(["redis down", "redis down"]);
  });

  it("rejects every item of a batch whose send throws instead of rejecting", async () => {
    const batches = new TurnBatches<number, number>(() => {
      throw new Error("bad arguments");
    }, 100);
    const answers = await Promise.allSettled([batches.add("a", 1), batches.add("a", 2)]);
    expect(answers.map((a) => a.status)).toEqual(["rejected", "rejected"]);
  });

  it("sends posted items, whose results nobody waits for, and a failed send of them is no unhandled rejection", async () => {
    const { batches, sent, failWith } = recording();
    failWith(new Error("redis down"));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      batches.post("a", 1);
      batches.post("a", 2);
      await nextTurn();
      await nextTurn();
      expect(sent).toEqual([["a", [1, 2]]]);
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("flush sends what is pending at once (a close does not wait for the turn to end)", () => {
    const { batches, sent } = recording();
    batches.post("a", 1);
    batches.post("b", 2);
    batches.flush();
    expect(sent).toEqual([
      ["a", [1]],
      ["b", [2]],
    ]);
  });
});
