/**
 * Runs before every test file (vitest `setupFiles`). The unit tier shares worker processes between files
 * (vitest.config.ts, `isolate: false`): loading @pulumi/pulumi and the program afresh for each of ~40 files
 * cost a third of the suite. Sharing a process must not mean sharing state, so each file:
 *   - starts with Pulumi's runtime as a new process has it (no monitor, no mocks, no config, no stack), so a
 *     file that forgets to install its mocks fails instead of using the previous file's;
 *   - must leave the process environment and working directory as it found them: a file that changes either
 *     and does not restore it fails here, naming what it changed, instead of changing the next file's world.
 * Within a file, tests already each get their own mocks (installMocks), modules (vi.resetModules) and temp dirs.
 */
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { afterAll, beforeAll, expect, vi } from "vitest";

let env: Record<string, string | undefined>;
let cwd: string;

beforeAll(() => {
  // resetOptions is what the SDK's own tests call between runs (runtime/settings.ts); undefined everywhere is
  // the state before `pulumi up` hands the program its options.
  settings.resetOptions("", "", -1, "", "", false, "");
  pulumi.runtime.setAllConfig({}, []);
  vi.resetModules();
  env = { ...process.env };
  cwd = process.cwd();
});

afterAll(() => {
  const changed = [...new Set([...Object.keys(env), ...Object.keys(process.env)])]
    .filter((k) => env[k] !== process.env[k])
    .sort();
  expect(changed, "environment variables this test file changed and did not restore").toEqual([]);
  expect(process.cwd(), "working directory this test file changed and did not restore").toBe(cwd);
});
