// Bundles the gateway (src/main.ts and everything it imports) over tsc's dist/src/main.js, so that the
// executable is one ESM file that `node` runs directly. Why: from tsc's ~400 module files a start to SERVING
// took 540-780 ms on the shared 2-core box, over the 500 ms goal; bundled, ~450 ms and ~20 % less CPU
// (docs/PERFORMANCE.md).
// Plain esbuild: no minification, no patched dependency, no code cache.
import { build } from "esbuild";

const root = new URL("../", import.meta.url).pathname;

await build({
  absWorkingDir: root,
  entryPoints: ["src/main.ts"],
  outfile: "dist/src/main.js",
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
  // Bundled CommonJS dependencies (grpc-js, pino...) call require() for Node's built-ins.
  banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
});
