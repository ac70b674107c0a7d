// Bundles src/cli.ts and its dependencies into dist/src/gateway.cjs, which dist/src/main.js loads, after
// `tsc` has type-checked and compiled everything (the client package and the simulator run from tsc's output).
// Why: a cold start spent most of its time finding, reading and compiling ~400 module files (--cpu-prof:
// readFileUtf8, wrapSafe, compileSourceTextModule, resolution). CPU to SERVING (scripts/cold-start.mjs,
// interleaved, load ~20): ~760 ms from module files with the lazy loading done, ~500 ms bundled, ~410-550 ms
// with the code cache; 1550 → 520 ms against the unoptimised gateway in the same run.
// CommonJS, not ESM: the ESM loader decodes a 2.4 MB source through TextDecoder (decode: ~40-140 ms
// of samples), the CommonJS loader reads it as UTF-8 natively.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { build } from "esbuild";
import { BUILD_ID_MARK } from "../dist/src/bundle/code-cache.js";

const root = new URL("../", import.meta.url).pathname;

/**
 * undici's cookies module reads `globalThis.Headers` at load, and that getter makes Node load its own
 * built-in copy of undici: ~100 ms (150 ms of samples under load) of the cold start, for cookie helpers
 * the gateway never calls (--cpu-prof: get node:internal/util <- lib/web/cookies/index.js). The same
 * check, made on first use instead. The build fails if undici changes the line, so an upgrade is noticed.
 */
const lazyHeadersGlobal = {
  name: "lazy-undici-cookie-brand-check",
  setup(b) {
    const eager = "const brandChecks = webidl.brandCheckMultiple([Headers, globalThis.Headers].filter(Boolean))";
    const lazy = "let brandCheck; const brandChecks = (v) => (brandCheck ??= webidl.brandCheckMultiple([Headers, globalThis.Headers].filter(Boolean)))(v)";
    b.onLoad({ filter: /[\\/]undici[\\/]lib[\\/]web[\\/]cookies[\\/]index\.js$/ }, async (args) => {
      const text = await readFile(args.path, "utf8");
      if (!text.includes(eager)) throw new Error(`${args.path}: the line scripts/bundle.mjs defers has changed; review lazyHeadersGlobal`);
      return { contents: text.replace(eager, lazy), loader: "js" };
    });
  },
};

const result = await build({
  absWorkingDir: root,
  entryPoints: ["src/cli.ts"],
  outfile: "dist/src/gateway.cjs",
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  sourcemap: "linked",
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: "none",
  logLevel: "warning",
  metafile: !!process.env.BUNDLE_META,
  // @grpc/reflection (loaded at the first reflection call) reads .proto files next to its own
  // __dirname, so it runs from node_modules; `yaml` comes from there too, through createRequire.
  external: ["@grpc/reflection"],
  plugins: [lazyHeadersGlobal],
  // src/paths.ts and src/config/load.ts locate files from import.meta.url.
  define: { "import.meta.url": "__importMetaUrl" },
  banner: { js: 'const __importMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
});
if (result.metafile) (await import("node:fs")).writeFileSync(process.env.BUNDLE_META, JSON.stringify(result.metafile));

// src/bundle/code-cache.ts reads the bundle as latin1, which is exact only for ASCII (esbuild's default charset).
if (/[^\x00-\x7f]/.test(readFileSync(new URL("../dist/src/gateway.cjs", import.meta.url), "latin1")))
  throw new Error("dist/src/gateway.cjs is not ASCII: keep esbuild's default charset, or change readBundle()");

// The id src/bundle/code-cache.ts matches the code cache to this bundle with.
appendFileSync(new URL("../dist/src/gateway.cjs", import.meta.url), `${BUILD_ID_MARK}${randomUUID()}\n`);

// The code cache must come from this very bundle: made in a fresh process, as it will be used.
execFileSync(process.execPath, [new URL("./code-cache.mjs", import.meta.url).pathname], { stdio: "inherit" });
