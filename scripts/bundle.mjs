// Bundles the gateway (src/gateway.ts and everything it imports) over tsc's dist/src/gateway.js, so that the
// executable (dist/src/main.js, which loads it) runs one ESM file. Why: from tsc's ~400 module files a start to SERVING
// took 540-780 ms on the shared 2-core box, over the 500 ms goal; bundled, ~450 ms and ~20 % less CPU
// (docs/PERFORMANCE.md).
// Plain esbuild: no minification, no patched dependency, no code cache.
import { readFileSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

const root = new URL("../", import.meta.url).pathname;

await build({
  absWorkingDir: root,
  entryPoints: ["src/gateway.ts"],
  outfile: "dist/src/gateway.js",
  allowOverwrite: true,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  logLevel: "warning",
  // grpc-health-check and @grpc/reflection read their .proto files next to their own __dirname, so they run
  // from node_modules; @grpc/reflection requires @grpc/grpc-js from there too, and one copy of grpc-js is
  // both correct (one set of channelz, logging and status objects) and faster to start than two.
  // The OpenTelemetry SDK and exporters load from node_modules only when telemetry is on (dynamic imports in
  // src/telemetry/otel.ts): bundled, their ~1 MB would be read and parsed by every start, telemetry on or off.
  // @opentelemetry/api stays bundled: prom-client requires it at start anyway.
  external: [
    "@grpc/reflection",
    "grpc-health-check",
    "@grpc/grpc-js",
    "@opentelemetry/sdk-trace-node",
    "@opentelemetry/sdk-metrics",
    "@opentelemetry/resources",
    "@opentelemetry/exporter-*",
  ],
  plugins: [
    {
      // src/young-generation.ts stays a module of its own (tsc's dist/src/young-generation.js), imported first (the
      // banner): the bundle's external imports (grpc-js) run before any code inside it, and they allocate enough at
      // start-up to grow the young generation (idle RSS ~88 MiB bundled in, ~81 MiB first; docs/PERFORMANCE.md).
      // src/sighup.ts is src/main.ts's, loaded before the bundle: one module, so one handler.
      name: "young-generation-first",
      setup(b) {
        b.onResolve({ filter: /^\.\/(young-generation|sighup)\.js$/ }, (args) => ({ path: args.path, external: true }));
      },
    },
  ],
  // Bundled CommonJS dependencies (grpc-js, pino...) call require() for Node's built-ins.
  // An ES module runs its imports in the order they are written, and esbuild writes each where its first
  // importer sits, so src/young-generation.ts is imported here, ahead of grpc-js.
  banner: {
    js: 'import "./young-generation.js"; import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
  },
});

// V8 keeps a script's source in memory for as long as the script lives, as a one-byte string when every character
// fits in Latin-1 and as a two-byte string otherwise. esbuild escapes non-ASCII characters in strings, regexes and
// names (its default `charset: "ascii"`) but keeps comments as written, and 46 typographic characters in comments
// (…, ’, —, ≈, →) made the whole 3 MB bundle a 6.2 MB two-byte string: 3 MiB of idle heap for nothing (heap
// snapshot of an idle gateway; docs/PERFORMANCE.md, "Issue 18, second pass"). Only comments are left to hold such
// characters, so each UTF-16 unit of one becomes "?": same length, so the source map's columns still hold.
const outfile = new URL("../dist/src/gateway.js", import.meta.url);
const source = readFileSync(outfile, "utf8");
writeFileSync(outfile, source.replace(/[\u0100-\uffff]/g, "?"));
