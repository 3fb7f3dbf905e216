import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts", "policy/**/*.test.ts"],
    // The engine tier needs the Pulumi CLI and a network namespace: npm run test:engine (vitest.engine.config.ts).
    exclude: ["tests/engine/**/*.engine.test.ts", "**/node_modules/**"],
    // Pulumi's runtime keeps its settings in process-global state: each test file gets its own process.
    pool: "forks",
    isolate: true,
    // CI reads the totals back from this file to print one closing summary line.
    reporters: process.env.CI ? ["default", "json"] : ["default"],
    outputFile: { json: "bin/vitest-results.json" },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
