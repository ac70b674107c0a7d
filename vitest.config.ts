import { defineConfig } from "vitest/config";

/**
 * Tests that start real processes (the built gateway, the simulator's CLI, npm, Python, Go), or that read
 * deploy files. Everything else runs in the test process and belongs to `unit`: `npx vitest run --project unit`.
 */
const E2E = [
  "test/e2e/**/*.test.ts",
  "test/client/**/*.test.ts",
  "test/reliability/**/*.test.ts",
  "test/deploy/**/*.test.ts",
  "test/bench/**/*.test.ts",
  "test/simulator/cli.test.ts",
  "test/simulator/demo-without-simulator.test.ts",
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end files each start real processes; on 2 cores, two files at a time is plenty.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: "unit", include: ["test/**/*.test.ts"], exclude: E2E } },
      // They run what `npm run build` wrote to dist/: the global setup compiles it first, never a stale dist/.
      { extends: true, test: { name: "e2e", include: E2E, globalSetup: ["test/global-setup.ts"] } },
    ],
  },
});
