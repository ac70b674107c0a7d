import { EventEmitter } from "node:events";
import type { ServerWritableStream } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { MAX_QUEUED_MESSAGES, writeOrWait } from "../../src/grpc/writer.js";

/** A stand-in for a grpc-js server stream whose buffer is full until told otherwise. */
class FullStream extends EventEmitter {
  written: unknown[] = [];
  full = true;
  write(m: unknown): boolean {
    this.written.push(m);
    return !this.full;
  }
}

/** A stand-in whose writes stay queued (the caller's HTTP/2 window is shut) until `flush()`; its mark is grpc-js's 16. */
class StalledStream extends EventEmitter {
  queued: { message: unknown; done?: (err?: Error | null) => void }[] = [];
  get writableLength(): number {
    return this.queued.length;
  }
  write(message: unknown, done?: (err?: Error | null) => void): boolean {
    this.queued.push({ message, done });
    return this.queued.length < 16;
  }
  flush(err?: Error): void {
    for (const { done } of this.queued.splice(0)) done?.(err);
  }
}

const asCall = (s: FullStream | StalledStream) => s as unknown as ServerWritableStream<unknown, unknown>;

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

  it(`keeps at most ${MAX_QUEUED_MESSAGES} messages queued on a call whose reader is slow, then waits for them to be written`, async () => {
    const s = new StalledStream();
    const signal = new AbortController().signal;
    let written = 0;
    const writing = (async () => {
      for (let i = 0; i < 40; i++) {
        await writeOrWait(asCall(s), i, signal);
        written++;
      }
    })();
    for (let round = 0; round < 10; round++) {
      await new Promise((r) => setTimeout(r, 5));
      // Never grpc-js's own mark of 16: the writer waited at the limit.
      expect(s.writableLength).toBe(MAX_QUEUED_MESSAGES);
      s.flush();
    }
    await writing;
    expect(written).toBe(40);
  });

  it("a write that fails while waiting at the limit rejects with the call's error, or the cancel's reason", async () => {
    const s = new StalledStream();
    for (let i = 0; i < MAX_QUEUED_MESSAGES - 1; i++) expect(writeOrWait(asCall(s), i, new AbortController().signal)).toBeUndefined();
    const failing = writeOrWait(asCall(s), "last", new AbortController().signal);
    s.flush(new Error("stream reset"));
    await expect(failing).rejects.toThrow("stream reset");

    const cancelled = new AbortController();
    for (let i = 0; i < MAX_QUEUED_MESSAGES - 1; i++) writeOrWait(asCall(s), i, cancelled.signal);
    const waiting = writeOrWait(asCall(s), "last", cancelled.signal);
    cancelled.abort(new Error("cancelled by the client"));
    await expect(waiting).rejects.toThrow("cancelled by the client");
  });
});
