import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts", "policy/**/*.test.ts"],
    // The engine tier needs the Pulumi CLI and a network namespace: npm run test:engine (vitest.engine.config.ts).
    exclude: ["tests/engine/**/*.engine.test.ts", "**/node_modules/**"],
    // Worker processes are shared between test files: starting one and loading @pulumi/pulumi and the program
    // into it for each file cost a third of the suite's time. Pulumi's runtime keeps its settings in
    // process-global state, so tests/support/file-isolation.ts resets it before every file and fails a file that
    // leaves the environment or working directory changed; each test installs its own mocks and reloads the
    // program's modules (tests/support/program.ts). The engine and machinery tiers keep a process per file.
    pool: "forks",
    isolate: false,
    setupFiles: ["tests/support/file-isolation.ts"],
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
