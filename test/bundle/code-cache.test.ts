import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BUILD_ID_MARK, codeCache, compileBundle } from "../../src/bundle/code-cache.js";

const bundle = (body: string, id = randomUUID()) => `${body}${BUILD_ID_MARK}${id}\n`;

describe("the bundle's code cache", () => {
  it("is used for the bundle it was made from", () => {
    const source = bundle("module.exports = function answer() { return 42; };");
    const cache = codeCache(source, compileBundle(source));
    expect(compileBundle(source, cache).cachedDataRejected).toBe(false);
  });

  it("is not used for another build, even of the same length (V8 would check only the length)", () => {
    const made = bundle("module.exports = 1;");
    const other = bundle("module.exports = 2;");
    expect(other.length).toBe(made.length);
    const script = compileBundle(other, codeCache(made, compileBundle(made)));
    expect(script.cachedDataRejected).toBeUndefined(); // not offered to V8 at all
  });

  it("is not needed: without one, or with a truncated one, the bundle compiles as usual", () => {
    const source = bundle("module.exports = 3;");
    expect(compileBundle(source).cachedDataRejected).toBeUndefined();
    expect(compileBundle(source, Buffer.from("short")).cachedDataRejected).toBeUndefined();
  });
});
