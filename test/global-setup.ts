import { execFileSync } from "node:child_process";

/**
 * Process tests spawn the built gateway (dist/src/main.js, the bundle), so build it once per test run with
 * exactly `npm run build`: the same tsc and bundle steps a user runs, never a stale or partial dist/.
 */
export default function setup(): void {
  execFileSync("npm", ["run", "build", "--silent"], { stdio: "inherit" });
}
