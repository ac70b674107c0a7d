import type { Dispatcher } from "undici";
import { describe, expect, it, vi } from "vitest";
import { StreamedResponse } from "../../src/dify/sse-body.js";

/** undici's controller as the handler sees it: pause, resume and abort recorded. */
function controller(onAbort?: (reason: Error) => void) {
  const state = { paused: false, aborted: false, reason: null as Error | null, pauses: 0, resumes: 0 };
  const c: Dispatcher.DispatchController = {
    get aborted() {
      return state.aborted;
    },
    get paused() {
      return state.paused;
    },
    get reason() {
      return state.reason;
    },
    abort(reason: Error) {
      state.aborted = true;
      state.reason = reason;
      onAbort?.(reason);
    },
    pause() {
      state.paused = true;
      state.pauses++;
    },
    resume() {
      state.paused = false;
      state.resumes++;
    },
  };
  return { c, state };
}

const mapped = (err: unknown) => new Error(`mapped: ${(err as Error).message}`);

function started(highWaterMark = 4, signal = new AbortController().signal) {
  const res = new StreamedResponse(highWaterMark, signal, mapped);
  const ctl = controller((reason) => res.onResponseError(ctl.c, reason));
  res.onRequestStart(ctl.c);
  res.onResponseStart(ctl.c, 200, { "content-type": "text/event-stream" });
  return { res, ...ctl };
}

/** The SSE body reader that replaced undici's Readable body: it must end the same ways, and pause at its mark. */
describe("StreamedResponse", () => {
  it("settles head with the status and headers; a 1xx is not the response", async () => {
    const res = new StreamedResponse(4, new AbortController().signal, mapped);
    const { c } = controller();
    res.onRequestStart(c);
    res.onResponseStart(c, 100, {});
    res.onResponseStart(c, 503, { "retry-after": "2" });
    await expect(res.head).resolves.toEqual({ statusCode: 503, headers: { "retry-after": "2" } });
  });

  it("a failure before the headers rejects head with undici's own error", async () => {
    const res = new StreamedResponse(4, new AbortController().signal, mapped);
    const { c } = controller();
    res.onRequestStart(c);
    const err = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    res.onResponseError(c, err);
    await expect(res.head).rejects.toBe(err);
  });

  it("yields every chunk in order, queued next() calls included, then done; onEnd once without a failure", async () => {
    const { res, c } = started();
    const onEnd = vi.fn();
    res.onEnd = onEnd;
    const first = res.next();
    const second = res.next();
    res.onResponseData(c, Buffer.from("a"));
    setTimeout(() => {
      res.onResponseData(c, Buffer.from("b"));
      res.onResponseEnd();
    }, 5);
    expect(String((await first).value)).toBe("a");
    expect(String((await second).value)).toBe("b");
    expect((await res.next()).done).toBe(true);
    expect((await res.next()).done).toBe(true);
    expect(onEnd).toHaveBeenCalledTimes(1);
    expect(onEnd).toHaveBeenCalledWith(undefined);
  });

  it("pauses the response once highWaterMark bytes wait unread, and resumes only when all of them were read", async () => {
    const { res, c, state } = started(4);
    res.onResponseData(c, Buffer.from("ab"));
    expect(state.paused).toBe(false);
    res.onResponseData(c, Buffer.from("cd"));
    expect(state.paused).toBe(true);
    // Not per chunk: each resume lets undici take one more socket read in (see STREAM_BODY_HIGH_WATER_MARK).
    expect(String((await res.next()).value)).toBe("ab");
    expect(state.paused).toBe(true);
    expect(String((await res.next()).value)).toBe("cd");
    expect(state.paused).toBe(false);
    expect(state.resumes).toBe(1);
  });

  it("takeQueued() hands over queued chunks in order without a promise, resumes as next() does, and gives nothing else", async () => {
    const { res, c, state } = started(4);
    expect(res.takeQueued()).toBeUndefined();
    res.onResponseData(c, Buffer.from("ab"));
    res.onResponseData(c, Buffer.from("cd"));
    expect(state.paused).toBe(true);
    expect(String(res.takeQueued())).toBe("ab");
    expect(state.paused).toBe(true);
    expect(String((await res.next()).value)).toBe("cd");
    expect(state.resumes).toBe(1);
    res.onResponseData(c, Buffer.from("ef"));
    expect(String(res.takeQueued())).toBe("ef");
    expect(res.takeQueued()).toBeUndefined();
    // A next() waiting for data takes the next chunk, not takeQueued(); nor does an ended body give any.
    const waiting = res.next();
    res.onResponseData(c, Buffer.from("gh"));
    expect(res.takeQueued()).toBeUndefined();
    expect(String((await waiting).value)).toBe("gh");
    res.onResponseData(c, Buffer.from("ij"));
    res.onResponseError(c, new Error("ECONNRESET"));
    expect(String(res.takeQueued())).toBe("ij");
    expect(res.takeQueued()).toBeUndefined();
    await expect(res.next()).rejects.toThrow("mapped: ECONNRESET");
    expect(res.takeQueued()).toBeUndefined();
  });

  it("queues a small view of a large socket read as a copy, so the read is not kept alive by it", async () => {
    const { res, c } = started(1024 * 1024);
    const read = Buffer.alloc(256 * 1024, "x");
    read.write("data: one event\n\n", 1000);
    const view = read.subarray(1000, 1017);
    res.onResponseData(c, view);
    const queued = (await res.next()).value as Buffer;
    expect(String(queued)).toBe("data: one event\n\n");
    expect(queued.buffer).not.toBe(read.buffer);
    expect(queued.buffer.byteLength).toBe(17);
    // Most of its buffer: passed on as it is.
    const big = read.subarray(0, 200 * 1024);
    res.onResponseData(c, big);
    expect(((await res.next()).value as Buffer).buffer).toBe(read.buffer);
  });

  it("a body that breaks throws the mapped error (once), to a waiting next() too", async () => {
    const { res, c } = started();
    const onEnd = vi.fn();
    res.onEnd = onEnd;
    const waiting = res.next();
    res.onResponseError(c, new Error("ECONNRESET"));
    await expect(waiting).rejects.toThrow("mapped: ECONNRESET");
    expect((await res.next()).done).toBe(true);
    expect(onEnd).toHaveBeenCalledTimes(1);
    expect((onEnd.mock.calls[0]![0] as Error).message).toBe("mapped: ECONNRESET");
  });

  it("chunks received before a break are read first, then the break", async () => {
    const { res, c } = started();
    res.onResponseData(c, Buffer.from("a"));
    res.onResponseError(c, new Error("UND_ERR_SOCKET"));
    expect(String((await res.next()).value)).toBe("a");
    await expect(res.next()).rejects.toThrow("mapped: UND_ERR_SOCKET");
  });

  it("return() aborts the request and ends the iteration", async () => {
    const { res, c, state } = started();
    const onEnd = vi.fn();
    res.onEnd = onEnd;
    res.onResponseData(c, Buffer.from("a"));
    await res.next();
    expect((await res.return()).done).toBe(true);
    expect(state.aborted).toBe(true);
    expect((await res.next()).done).toBe(true);
    expect(onEnd).toHaveBeenCalledTimes(1);
  });

  it("the signal aborts the request, with its reason, before the start and after the headers", async () => {
    const early = new AbortController();
    early.abort(new Error("cancelled"));
    const res = new StreamedResponse(4, early.signal, mapped);
    const first = controller();
    res.onRequestStart(first.c);
    expect(first.state.reason?.message).toBe("cancelled");

    const late = new AbortController();
    const { res: body, state } = started(4, late.signal);
    const waiting = body.next();
    late.abort(new Error("deadline"));
    expect(state.reason?.message).toBe("deadline");
    await expect(waiting).rejects.toThrow("mapped: deadline");
  });
});
