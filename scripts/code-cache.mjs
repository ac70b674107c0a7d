// Writes dist/src/gateway.cjs.cache, the V8 code cache src/main.ts loads the bundle with (src/bundle/code-cache.ts).
// It starts the bundle as the demo (simulator and gateway on ephemeral 127.0.0.1 ports), so that the cache holds
// what a start compiles: every module's top-level code, config validation, the gRPC server's bind. A cache taken
// after `--help` only (module top-level code) saved ~10 ms of CPU; one taken after a start, ~110 ms (measured).
import { rmSync, writeFileSync } from "node:fs";
import { BUNDLE, CODE_CACHE, codeCache, compileBundle, readBundle, runBundle } from "../dist/src/bundle/code-cache.js";

rmSync(CODE_CACHE, { force: true });
const source = readBundle();
const script = compileBundle(source);
process.argv = [process.argv[0], BUNDLE, "--listen", "127.0.0.1:0"];
delete process.env.DIFY_GATEWAY_CONFIG;
// The demo prints its banner once it serves; the logs before it go to stdout too, and are dropped.
process.stdout.write = (chunk) => {
  if (String(chunk).includes("Dify gRPC gateway (demo)")) {
    writeFileSync(CODE_CACHE, codeCache(source, script));
    process.exit(0);
  }
  return true;
};
setTimeout(() => {
  process.stderr.write("code-cache: the demo did not start within 60 s; no cache written\n");
  process.exit(1);
}, 60_000).unref();
runBundle(script);
