import { EventEmitter } from "node:events";
import type { ServerWritableStream } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { writeOrWait } from "../../src/grpc/writer.js";

/** A stand-in for a grpc-js server stream whose buffer is full until told otherwise. */
class FullStream extends EventEmitter {
  written: unknown[] = [];
  full = true;
  write(m: unknown): boolean {
    this.written.push(m);
    return !this.full;
  }
}

const asCall = (s: FullStream) => s as unknown as ServerWritableStream<unknown, unknown>;

/** As the adapter uses it: awaits the wait when there is one. */
const writeMessage = async (call: ServerWritableStream<unknown, unknown>, message: unknown, signal: AbortSignal) => {
  await writeOrWait(call, message, signal);
};

describe("writeOrWait", () => {
  it("returns at once while grpc-js accepts more", async () => {
    const s = new FullStream();
    s.full = false;
    await writeMessage(asCall(s), 1, new AbortController().signal);
    expect(s.written).toEqual([1]);
  });

  it("waits for 'drain' when write() returns false", async () => {
    const s = new FullStream();
    let resolved = false;
    const p = writeMessage(asCall(s), 1, new AbortController().signal).then(() => (resolved = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(resolved).toBe(false);
    s.emit("drain");
    await p;
    expect(resolved).toBe(true);
  });

  it("stops waiting when the call is cancelled, because a cancelled call never drains", async () => {
    const s = new FullStream();
    const ac = new AbortController();
    const p = writeMessage(asCall(s), 1, ac.signal);
    ac.abort(new Error("cancelled by the client"));
    await expect(p).rejects.toThrow("cancelled by the client");
  });

  it("does not write to a call that is already cancelled", async () => {
    const s = new FullStream();
    const ac = new AbortController();
    ac.abort(new Error("gone"));
    await expect(writeMessage(asCall(s), 1, ac.signal)).rejects.toThrow("gone");
    expect(s.written).toEqual([]);
  });
});
