// Preloaded with `node --import` (NODE_OPTIONS) by test/e2e/telemetry-process.test.ts: records every module the
// process loads into the file $MODULE_LOG, one per line. ES modules are seen by a resolve hook (hooks.mjs, in the
// loader's thread); CommonJS modules (what the bundle require()s, and what they require) by Node's module cache,
// written when the process exits.
import { appendFileSync } from "node:fs";
import Module, { register } from "node:module";

const file = process.env.MODULE_LOG;
if (file) {
  register("./hooks.mjs", import.meta.url, { data: { file } });
  process.on("exit", () => {
    const cache = /** @type {{ _cache: Record<string, unknown> }} */ (/** @type {unknown} */ (Module))._cache;
    appendFileSync(
      file,
      Object.keys(cache)
        .map((path) => `cjs ${path}\n`)
        .join(""),
    );
  });
}
