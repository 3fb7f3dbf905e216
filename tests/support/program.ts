/**
 * Runs the real `index.ts` under the strict mocks, as `pulumi up`/`preview` would with a given stack config.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";
import { installMocks, type InstallMocksOptions, type RecordedResource, type StrictMocks } from "./mocks";
import { promiseOf } from "./outputs";
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
  // Let registrations still in flight (resources nobody exported) reach the mocks.
  await new Promise((r) => setTimeout(r, 50));
  const resources = mocks.resources;
  return { mocks, outputs, exports, error, resources, byType: (t) => resources.filter((r) => r.type === t) };
}
