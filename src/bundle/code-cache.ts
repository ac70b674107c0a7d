import { readFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";

/**
 * dist/src/gateway.cjs is one CommonJS bundle of src/cli.ts and its dependencies (scripts/bundle.mjs
 * says why and what it saved). It runs as a vm.Script with a V8 code cache that `npm run build`
 * writes next to it (scripts/code-cache.mjs), because compiling the 2.4 MB bundle was the largest
 * start-up cost left. A missing cache, one made from another bundle, or one V8 rejects (another Node
 * version or other flags) is simply not used: V8 compiles as usual.
 */
const DIST_SRC = join(dirname(fileURLToPath(import.meta.url)), "..");
export const BUNDLE = join(DIST_SRC, "gateway.cjs");
export const CODE_CACHE = `${BUNDLE}.cache`;
/**
 * scripts/bundle.mjs ends the bundle with a random build id, and the cache file starts with the id of the
 * bundle it was made from: V8 itself checks only the source's length. (A SHA-256 of the source cost ~45 ms.)
 */
export const BUILD_ID_MARK = "\n// gateway build ";
const ID_BYTES = 36; // a UUID

/**
 * The bundle's source. esbuild writes ASCII only (its default charset; scripts/bundle.mjs fails the build
 * otherwise), so latin1 decodes it exactly, and a 2.4 MB read measured 19 ms that way against 30-40 ms as UTF-8.
 */
export function readBundle(): string {
  return readFileSync(BUNDLE).toString("latin1");
}

export function buildId(source: string): string | undefined {
  const at = source.lastIndexOf(BUILD_ID_MARK, source.length - ID_BYTES);
  return at < 0 ? undefined : source.slice(at + BUILD_ID_MARK.length, at + BUILD_ID_MARK.length + ID_BYTES);
}

export function compileBundle(source: string, cache?: Buffer): Script {
  const id = buildId(source);
  const usable = id !== undefined && cache !== undefined && cache.length > ID_BYTES && cache.toString("latin1", 0, ID_BYTES) === id;
  return new Script(Module.wrap(source), { filename: BUNDLE, cachedData: usable ? cache.subarray(ID_BYTES) : undefined });
}

/** Runs the bundle as Node would run a CommonJS file of that name. */
export function runBundle(script: Script): void {
  const module = { exports: {} };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(module.exports, module.exports, createRequire(BUNDLE), module, BUNDLE, dirname(BUNDLE));
}

/** The cache file's contents for a script compiled from `source` and run. */
export function codeCache(source: string, script: Script): Buffer {
  const id = buildId(source);
  if (id === undefined) throw new Error(`${BUNDLE} has no build id; run npm run build`);
  return Buffer.concat([Buffer.from(id, "latin1"), script.createCachedData()]);
}
