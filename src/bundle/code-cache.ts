import { createHash } from "node:crypto";
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
/** The cache file starts with the SHA-256 of the bundle it was made from: V8 itself checks only the source's length. */
const HASH_BYTES = 32;

export const bundleHash = (source: string): Buffer => createHash("sha256").update(source).digest();

export function compileBundle(source: string, cache?: Buffer): Script {
  const usable = cache !== undefined && cache.length > HASH_BYTES && cache.subarray(0, HASH_BYTES).equals(bundleHash(source));
  return new Script(Module.wrap(source), { filename: BUNDLE, cachedData: usable ? cache.subarray(HASH_BYTES) : undefined });
}

/** Runs the bundle as Node would run a CommonJS file of that name. */
export function runBundle(script: Script): void {
  const module = { exports: {} };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(module.exports, module.exports, createRequire(BUNDLE), module, BUNDLE, dirname(BUNDLE));
}

/** The cache file's contents for a script compiled from `source` and run. */
export const codeCache = (source: string, script: Script): Buffer => Buffer.concat([bundleHash(source), script.createCachedData()]);
