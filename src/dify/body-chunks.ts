import { finished, type Readable } from "node:stream";

/*
 * Why hand-written: Node's `Readable[Symbol.asyncIterator]` is an async generator, and it was wrapped in a
 * second one to map errors; per SSE chunk that is two generator resumptions, their promises and iterator results.
 * At 1,000 streams the Readable's iterator alone (`createAsyncIterator`, `maybeReadMore`) was ~11 % of what the
 * gateway allocated per relayed event (docs/PERFORMANCE.md, "Issue 18, third pass"). This reads with `read()`
 * and waits for 'readable' only when nothing is buffered, with the same ending as Node's iterator: a clean
 * end is `done`, an error or a close before the end throws (mapped by `mapError`), and `return` destroys the body.
 */

const DONE: IteratorResult<Buffer> = Object.freeze({ value: undefined, done: true });

/** The body's chunks; `onEnd` runs once, when the iteration ends for any reason, with the (mapped) failure if any. */
export function bodyChunks(
  body: Readable,
  mapError: (err: unknown) => unknown,
  onEnd?: (failure?: unknown) => void,
): AsyncIterableIterator<Buffer> {
  // undefined: not finished yet; null: ended cleanly; otherwise the stream's error.
  let ending: unknown;
  let over = false;
  let wake: (() => void) | undefined;
  let waiting: Promise<IteratorResult<Buffer>> | undefined;
  const onReadable = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  body.on("readable", onReadable);
  const cleanup = finished(body, { writable: false }, (err) => {
    ending = err ? (ending ?? err) : null;
    onReadable();
  });
  const end = (failure?: unknown): void => {
    if (over) return;
    over = true;
    body.off("readable", onReadable);
    cleanup();
    onEnd?.(failure);
  };
  const fail = (err: unknown): Promise<IteratorResult<Buffer>> => {
    const failure = mapError(err);
    end(failure);
    body.destroy();
    return Promise.reject(failure);
  };
  const step = (): Promise<IteratorResult<Buffer>> => {
    if (over) return Promise.resolve(DONE);
    const chunk = body.destroyed ? null : (body.read() as Buffer | null);
    if (chunk !== null) return Promise.resolve({ value: chunk, done: false });
    if (ending === null) {
      end();
      return Promise.resolve(DONE);
    }
    if (ending !== undefined) return fail(ending);
    waiting = new Promise<void>((resolve) => {
      wake = resolve;
    }).then(() => {
      waiting = undefined;
      return step();
    });
    return waiting;
  };
  return {
    // A next() while one waits is queued behind it, as a generator's would be.
    next: () => (waiting ? waiting.then(step, step) : step()),
    return: () => {
      end();
      body.destroy();
      return Promise.resolve(DONE);
    },
    throw: (err: unknown) => fail(err),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
