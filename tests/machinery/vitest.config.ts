import * as path from "node:path";
import { defineConfig } from "vitest/config";

/**
 * The machinery tier (`npm run test:machinery`): the program's registrations judged by the real Talos
 * machinery through tools/talos-check. Separate from `npm test` because it needs Go and builds the tool
 * (once per run, in global-setup.ts).
 */
export default defineConfig({
  root: path.resolve(__dirname, "..", ".."),
  test: {
    include: ["tests/machinery/**/*.machinery.ts"],
    globalSetup: ["tests/machinery/global-setup.ts"],
    // runProgram keeps Pulumi's process-global runtime: each file gets its own process.
    pool: "forks",
    isolate: true,
    // Two shared cores: one test file at a time, the Go tool runs beside it.
    fileParallelism: false,
    // CI reads the totals back from this file for its closing line.
    reporters: process.env.CI ? ["default", "json"] : ["default"],
    outputFile: { json: "bin/vitest-machinery-results.json" },
    testTimeout: 300_000,
    hookTimeout: 600_000,
  },
});
