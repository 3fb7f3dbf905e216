/**
 * Runs the real `index.ts` under the strict mocks, as `pulumi up`/`preview` would with a given stack config.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";
import { installMocks, type InstallMocksOptions, type RecordedResource, type StrictMocks } from "./mocks";
import { promiseOf, settle } from "./outputs";
import { encodeStackConfig, loadStackConfig } from "./run-program";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

/** A stack file's `config:` (e.g. `Pulumi.home.yaml`) as the CLI hands it to the program. */
export function stackConfigFromFile(file: string): Record<string, string> {
  const stack = /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1];
  if (!stack) throw new Error(`${file} is not a stack file name (Pulumi.<stack>.yaml)`);
  return loadStackConfig(PROJECT_ROOT, "homelab", stack);
}

/** Inline stack config, encoded as the CLI does. */
export function encodeConfig(config: Record<string, unknown>): Record<string, string> {
  return encodeStackConfig(config, "homelab");
}

export interface ProgramRun {
  mocks: StrictMocks;
  /** The program's stack exports, resolved (undefined where unknown in a preview). */
  outputs: Record<string, unknown>;
  /** The raw exported Outputs, for secret checks. */
  exports: Record<string, unknown>;
  /** Set when the program threw while loading (e.g. invalid config). */
  error?: Error;
  resources: RecordedResource[];
  byType(type: string): RecordedResource[];
}

/**
 * Installs fresh mocks, loads `index.ts` anew and waits for every export. Each call is a separate
 * program run in the same process (module cache reset), like two `pulumi up`s.
 */
export async function runProgram(
  config: Record<string, string>,
  opts: Omit<InstallMocksOptions, "config"> & {
    /** Adjusts the installed mocks before the program loads (e.g. to hold one step back). */
    beforeLoad?: (mocks: StrictMocks) => void;
  } = {},
): Promise<ProgramRun> {
  const { beforeLoad, ...mockOptions } = opts;
  const mocks = await installMocks({ stack: "home", ...mockOptions, config });
  beforeLoad?.(mocks);
  // The project's modules load anew; @pulumi/pulumi (externalized) keeps the one runtime the mocks are in.
  vi.resetModules();
  let exports: Record<string, unknown> = {};
  let error: Error | undefined;
  try {
    exports = (await import("../../index")) as Record<string, unknown>;
  } catch (e) {
    error = e as Error;
  }
  const outputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(exports)) {
    outputs[k] = pulumi.Output.isInstance(v) ? await promiseOf(v as pulumi.Output<unknown>) : v;
  }
  // Registrations still in flight (resources nobody exported) reach the mocks before the run counts as done.
  // A fixed delay would lose some under load; these waits count work, not time.
  if (beforeLoad) await noMoreProgress(mocks);
  else await settle();
  const resources = mocks.resources;
  return { mocks, outputs, exports, error, resources, byType: (t) => resources.filter((r) => r.type === t) };
}

/**
 * For a run that holds a step back, whose RPC queue therefore never drains: resolves once the program can make
 * no more progress. Under the mocks every registration and invoke is promise-driven (no timers, no I/O in the
 * SDK's path with mocks), so whatever can still happen happens within the next macrotask turn; this waits
 * until the mocks' record has not grown for several turns. Turns, not milliseconds: a loaded machine runs
 * them more slowly, never fewer of them.
 */
async function noMoreProgress(mocks: StrictMocks): Promise<void> {
  const seen = () => mocks.resources.length + mocks.invokes.length;
  for (let last = -1, quiet = 0; quiet < 10;) {
    await new Promise((resolve) => setImmediate(resolve));
    const now = seen();
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
}
