import { execFileSync } from "node:child_process";

/** End-to-end tests run the built gateway, so build it once per test run: never test a stale dist/. */
export default function setup(): void {
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
}
