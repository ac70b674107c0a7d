// Builds the published package into dist/: one ESM and one CommonJS file (esbuild, with the generated
// ts-proto code from the repository's generated/ bundled in, so the tarball is self-contained) and the
// type declarations (tsc). Dependencies stay external: @grpc/grpc-js and @bufbuild/protobuf.
// esbuild and typescript come from the repository's node_modules: build from a clone after `npm ci`.
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
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
