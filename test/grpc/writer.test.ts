import { EventEmitter } from "node:events";
import type { ServerWritableStream } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { MAX_QUEUED_BYTES, writeOrWait } from "../../src/grpc/writer.js";

/** A stand-in for a grpc-js server stream whose buffer is full until told otherwise. */
class FullStream extends EventEmitter {
  written: unknown[] = [];
  full = true;
  writableLength = 0;
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

const kib = (fill: number) => Buffer.alloc(1024, fill);
const ONE = Buffer.from([1]);

const asCall = (s: FullStream | StalledStream) => s as unknown as ServerWritableStream<unknown, Uint8Array>;

/** As the adapter uses it: awaits the wait when there is one. */
const writeMessage = async (call: ServerWritableStream<unknown, Uint8Array>, message: Uint8Array, signal: AbortSignal) => {
  await writeOrWait(call, message, signal);
};

describe("writeOrWait", () => {
  it("returns at once while grpc-js accepts more", async () => {
    const s = new FullStream();
    s.full = false;
    await writeMessage(asCall(s), ONE, new AbortController().signal);
    expect(s.written).toEqual([ONE]);
  });

  it("waits for 'drain' when write() returns false", async () => {
    const s = new FullStream();
    let resolved = false;
    const p = writeMessage(asCall(s), ONE, new AbortController().signal).then(() => (resolved = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(resolved).toBe(false);
    s.emit("drain");
    await p;
    expect(resolved).toBe(true);
  });

  it("stops waiting when the call is cancelled, because a cancelled call never drains", async () => {
    const s = new FullStream();
    const ac = new AbortController();
    const p = writeMessage(asCall(s), ONE, ac.signal);
    ac.abort(new Error("cancelled by the client"));
    await expect(p).rejects.toThrow("cancelled by the client");
  });

  it("does not write to a call that is already cancelled", async () => {
    const s = new FullStream();
    const ac = new AbortController();
    ac.abort(new Error("gone"));
    await expect(writeMessage(asCall(s), ONE, ac.signal)).rejects.toThrow("gone");
    expect(s.written).toEqual([]);
  });

  it("keeps about MAX_QUEUED_BYTES of 1 KiB messages queued on a call whose reader is slow, then waits for them to be written", async () => {
    const s = new StalledStream();
    const signal = new AbortController().signal;
    let written = 0;
    const writing = (async () => {
      for (let i = 0; i < 40; i++) {
        await writeOrWait(asCall(s), kib(i), signal);
        written++;
      }
    })();
    for (let round = 0; round < 8; round++) {
      await new Promise((r) => setTimeout(r, 5));
      // 4 KiB waiting and the one written on top of them; never grpc-js's own mark of 16.
      expect(s.writableLength).toBe(MAX_QUEUED_BYTES / 1024 + 1);
      s.flush();
    }
    await writing;
    expect(written).toBe(40);
  });

  it("lets small messages fill grpc-js's own buffer of 16 before waiting, for its 'drain'", async () => {
    const s = new StalledStream();
    const signal = new AbortController().signal;
    const waits = Array.from({ length: 16 }, (_, i) => writeOrWait(asCall(s), Buffer.alloc(100, i), signal));
    expect(waits.slice(0, 15).every((w) => w === undefined)).toBe(true);
    expect(waits[15]).toBeInstanceOf(Promise);
    s.flush();
    s.emit("drain");
    await waits[15];
  });

  it("a write that fails while waiting at the limit rejects with the call's error, or the cancel's reason", async () => {
    const s = new StalledStream();
    const fill = (signal: AbortSignal) => {
      for (let i = 0; i < MAX_QUEUED_BYTES / 1024; i++) expect(writeOrWait(asCall(s), kib(i), signal)).toBeUndefined();
    };
    fill(new AbortController().signal);
    const failing = writeOrWait(asCall(s), kib(9), new AbortController().signal);
    s.flush(new Error("stream reset"));
    await expect(failing).rejects.toThrow("stream reset");

    const cancelled = new AbortController();
    fill(cancelled.signal);
    const waiting = writeOrWait(asCall(s), kib(9), cancelled.signal);
    cancelled.abort(new Error("cancelled by the client"));
    await expect(waiting).rejects.toThrow("cancelled by the client");
  });
});
