#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { CODE_CACHE, compileBundle, readBundle, runBundle } from "./bundle/code-cache.js";

// The gateway itself is src/cli.ts, bundled: see src/bundle/code-cache.ts.
let cache: Buffer | undefined;
try {
  cache = readFileSync(CODE_CACHE);
} catch {
  // No cache: V8 compiles the bundle as usual.
}
runBundle(compileBundle(readBundle(), cache));
