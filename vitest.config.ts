import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end files each start real processes; on 2 cores, two files at a time is plenty.
    maxWorkers: 2,
  },
});
