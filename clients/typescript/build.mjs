// Builds the published package into dist/: one ESM and one CommonJS file (esbuild, with the generated
// ts-proto code from the repository's generated/ bundled in, so the tarball is self-contained) and the
// type declarations (tsc). Dependencies stay external: @grpc/grpc-js and @bufbuild/protobuf.
// esbuild and typescript come from the repository's node_modules: build from a clone after `npm ci`.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { build } from "esbuild";

const here = new URL("./", import.meta.url).pathname;
rmSync(new URL("./dist", import.meta.url), { recursive: true, force: true });

for (const [format, outfile] of [
  ["esm", "dist/index.js"],
  ["cjs", "dist/index.cjs"],
]) {
  await build({
    absWorkingDir: here,
    entryPoints: ["src/index.ts"],
    outfile,
    bundle: true,
    packages: "external",
    platform: "node",
    target: "node20",
    format,
    logLevel: "warning",
  });
}

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: here, stdio: "inherit" });

// The declarations again as .d.cts, for CommonJS TypeScript projects (`moduleResolution: node16`): in this
// "type": "module" package TypeScript reads every .d.ts as an ES module, which a CommonJS file may not import
// (TS1479). Same content; relative specifiers ending in .js now end in .cjs, as the CommonJS build's would.
const types = join(here, "dist/types");
const cjsTypes = join(here, "dist/types-cjs");
for (const file of readdirSync(types, { recursive: true })) {
  if (!String(file).endsWith(".d.ts")) continue;
  const source = readFileSync(join(types, String(file)), "utf8");
  const target = join(cjsTypes, relative(types, join(types, String(file))).replace(/\.d\.ts$/, ".d.cts"));
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, source.replace(/(from\s+|import\()(["'])(\.{1,2}\/[^"']*)\.js\2/g, "$1$2$3.cjs$2"));
}
