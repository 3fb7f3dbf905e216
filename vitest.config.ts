import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts", "policy/**/*.test.ts"],
    // The engine tier needs the Pulumi CLI and a network namespace: npm run test:engine (vitest.engine.config.ts).
    exclude: ["tests/engine/**/*.engine.test.ts", "**/node_modules/**"],
    // Pulumi's runtime keeps its settings in process-global state: each test file gets its own process.
    pool: "forks",
    isolate: true,
    // vitest's default is one fork per core but one, i.e. a single file at a time on 2 cores; most files here
    // wait on child processes (bash, node, the fake tools), so two at a time keep both cores busy.
    poolOptions: { forks: { minForks: 1, maxForks: 2 } },
    // CI reads the totals back from this file to print one closing summary line.
    reporters: process.env.CI ? ["default", "json"] : ["default"],
    outputFile: { json: "bin/vitest-results.json" },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
