/**
 * Builds tools/talos-check once per run (both machinery versions) before any machinery test file runs,
 * and hands the binaries' paths to the test files.
 */
import type { TestProject } from "vitest/node";
import { buildTalosCheck } from "./talos-check";

declare module "vitest" {
  export interface ProvidedContext {
    talosCheck: { check: string; v112: string };
  }
}

export default function setup(project: TestProject): void {
  project.provide("talosCheck", buildTalosCheck());
}
