import { defineConfig } from "vitest/config";

// The engine tier (npm run test:engine, via scripts/test-engine.sh): the real Pulumi CLI drives the real
// program against stand-in plugins. Each file spawns the CLI and the plugins, so files run one at a time on a
// 2-core machine; the timeouts are a safety net for a hung CLI, not a speed target.
export default defineConfig({
  test: {
    include: ["tests/engine/**/*.engine.test.ts"],
    pool: "forks",
    isolate: true,
    fileParallelism: false,
    reporters: process.env.CI ? ["default", "json"] : ["default"],
    outputFile: { json: "bin/vitest-engine-results.json" },
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
