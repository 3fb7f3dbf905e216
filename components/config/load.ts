/**
 * Reads the stack's `homelab:*` config once, validates everything (including every patch against the
 * Talos schema of the target minor) and returns the spec — or stops the program before any resource is
 * registered, with every problem listed.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec, PatchDocument } from "./spec";
import { decodeStackConfig, parseClusterConfig } from "./schema";
import type { PatchValidator } from "./patch-input";
import { minorOf } from "./versions";
import { validateTalosDocument, supportedTalosMinors, type TalosMinor } from "../machine/talos-schema";
import { nodePatches, rolePatches } from "../machine/patches";
import { installerImage } from "../machine/image";

function talosMinorFor(talosVersion: string): TalosMinor | undefined {
  const minor = minorOf(talosVersion);
  return supportedTalosMinors().find((m) => m === minor);
}

/** Checks a stack-file patch against the Talos schema of the target minor. */
export const validatePatchAgainstTalosSchema: PatchValidator = (doc, where, talosVersion) => {
  const talosMinor = talosMinorFor(talosVersion);
  if (!talosMinor) return []; // the version matrix already reports an unsupported minor
  return validateTalosDocument(doc, { talosMinor, where }).map((p) => ({
    severity: p.severity,
    message: p.message,
  }));
};

/**
 * The patches the program itself generates must be valid Talos config too; a failure here is a bug in
 * this program (or a value from the stack file that only the schema can judge, like a disk selector).
 */
export function generatedPatchProblems(spec: ClusterSpec): string[] {
  const talosMinor = talosMinorFor(spec.talosVersion);
  if (!talosMinor) return [];
  const image = installerImage(spec.talosVersion);
  const userPatches = new Set<PatchDocument>([
    ...spec.patches.all,
    ...spec.patches.controlplane,
    ...spec.patches.worker,
    ...spec.nodes.flatMap((n) => n.patches),
  ]);
  const problems: string[] = [];
  const check = (doc: PatchDocument, where: string) => {
    if (userPatches.has(doc)) return; // validated, with its stack-file path, at parse time
    for (const p of validateTalosDocument(doc, { talosMinor, where })) {
      if (p.severity === "error") problems.push(p.message);
    }
  };
  for (const role of ["controlplane", "worker"] as const) {
    rolePatches(spec, role, image).forEach((d, i) => check(d, `generated ${role} patch ${i + 1}`));
  }
  for (const node of spec.nodes) {
    nodePatches(node).forEach((d, i) => check(d, `generated patch ${i + 1} for node ${node.name}`));
  }
  return problems;
}

/** Loads and validates the stack config, or throws a `RunError` listing every problem. */
export function loadClusterSpec(): ClusterSpec {
  const raw = decodeStackConfig(pulumi.runtime.allConfig());
  const result = parseClusterConfig(raw, validatePatchAgainstTalosSchema);
  const header = `Invalid stack configuration (Pulumi.${pulumi.getStack()}.yaml, keys under "homelab:"); nothing was changed:`;
  if (!result.spec) throw new pulumi.RunError(`${header}\n${result.report}`);
  const generated = generatedPatchProblems(result.spec);
  if (generated.length > 0)
    throw new pulumi.RunError(`${header}\n${generated.map((m) => `✖ ${m}`).join("\n")}`);
  for (const warning of result.warnings) void pulumi.log.warn(warning);
  return result.spec;
}
