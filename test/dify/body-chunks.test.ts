import { PassThrough } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import { bodyChunks } from "../../src/dify/body-chunks.js";

/** The SSE body reader that replaced Node's Readable async iterator: it must end the same ways. */
describe("bodyChunks", () => {
  const mapped = (err: unknown) => new Error(`mapped: ${(err as Error).message}`);

  it("yields every chunk in order, queued next() calls included, then done; onEnd once without a failure", async () => {
    const body = new PassThrough();
    const onEnd = vi.fn();
    const it = bodyChunks(body, mapped, onEnd);
    const first = it.next();
    const second = it.next();
    body.write("a");
    setTimeout(() => {
      body.write("b");
      body.end();
    }, 5);
    expect(String((await first).value)).toBe("a");
    expect(String((await second).value)).toBe("b");
    expect((await it.next()).done).toBe(true);
    expect((await it.next()).done).toBe(true);
    expect(onEnd).toHaveBeenCalledTimes(1);
    expect(onEnd).toHaveBeenCalledWith(undefined);
  });

  it("a body that breaks throws the mapped error (once), to a waiting next() too", async () => {
    const body = new PassThrough();
    const onEnd = vi.fn();
    const it = bodyChunks(body, mapped, onEnd);
    const waiting = it.next();
    body.destroy(new Error("ECONNRESET"));
    await expect(waiting).rejects.toThrow("mapped: ECONNRESET");
    expect((await it.next()).done).toBe(true);
    expect(onEnd).toHaveBeenCalledTimes(1);
    expect((onEnd.mock.calls[0]![0] as Error).message).toBe("mapped: ECONNRESET");
  });

  it("a body closed before its end is a failure, not a clean end", async () => {
    const body = new PassThrough();
    const it = bodyChunks(body, mapped);
    body.write("a");
    expect(String((await it.next()).value)).toBe("a");
    body.destroy();
    await expect(it.next()).rejects.toThrow(/mapped: .*[Pp]remature close/);
  });

  it("return() destroys the body and ends the iteration", async () => {
    const body = new PassThrough();
    const onEnd = vi.fn();
    const it = bodyChunks(body, mapped, onEnd);
    body.write("a");
    await it.next();
    expect((await it.return!()).done).toBe(true);
    expect(body.destroyed).toBe(true);
    expect((await it.next()).done).toBe(true);
    expect(onEnd).toHaveBeenCalledTimes(1);
  });
});
