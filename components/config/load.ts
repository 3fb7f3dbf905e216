/**
 * Reads the stack's `homelab:*` config once, validates everything (every patch against the Talos schema
 * of the target minor, then what each node's configuration becomes) and returns the spec — or stops the
 * program before any resource is registered, with every problem listed.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "./spec";
import { decodeStackConfig, parseClusterConfig, type ParseResult } from "./schema";
import type { PatchValidator } from "./patch-input";
import { minorOf } from "./versions";
import { validateTalosDocument, supportedTalosMinors } from "../machine/talos-schema";
import { machineConfigProblems } from "../machine/checks";
import { runtimeSecretCheck, secretSettingsOf } from "./secret-settings";
import { redact, secretStrings } from "./redact";

/** Checks a stack-file patch against the Talos schema of the target minor. */
export const validatePatchAgainstTalosSchema: PatchValidator = (doc, where, talosVersion) => {
  const minor = minorOf(talosVersion);
  const talosMinor = supportedTalosMinors().find((m) => m === minor);
  if (!talosMinor) return []; // the version matrix already reports an unsupported minor
  return validateTalosDocument(doc, { talosMinor, where }).map((p) => ({
    severity: p.severity,
    message: p.message,
  }));
};

/**
 * Every check the program makes of a decoded stack config: structure, relations, each patch against the
 * Talos schema, and then each node's configuration as a whole (see components/machine/checks.ts).
 */
export function checkStack(raw: Record<string, unknown>): ParseResult {
  const result = parseClusterConfig(raw, validatePatchAgainstTalosSchema);
  if (!result.spec) return result;
  const problems = machineConfigProblems(result.spec);
  if (problems.length === 0) return result;
  return {
    errors: problems,
    report: problems.map((m) => `✖ ${m}`).join("\n"),
    warnings: result.warnings,
  };
}

/**
 * A warning when the etcd snapshot folder lies inside the project folder (where pulumi runs): snapshots hold every
 * secret of the cluster, a CI checkout is cleaned, and a file there is one `git add` away from a commit.
 */
export function snapshotDirWarning(dir: string | undefined, checkout: string): string | undefined {
  if (dir === undefined) return undefined;
  const inside = path.relative(checkout, path.resolve(checkout, dir));
  if (inside.startsWith("..") || path.isAbsolute(inside)) return undefined;
  return (
    `upgrade.snapshotDir: ${JSON.stringify(dir)} is inside the project folder (${checkout}); etcd snapshots hold ` +
    "every secret of the cluster and a CI checkout is cleaned: use an absolute path outside it, or leave the " +
    "setting out for the default under ~/.local/state/homelab/etcd-snapshots"
  );
}

/**
 * Loads and validates the stack config, or throws a `RunError` listing every problem. The spec names the
 * settings Pulumi holds secret (`pulumi config set --secret`), so what derives from them goes out as secrets.
 */
export function loadClusterSpec(): ClusterSpec {
  const all = pulumi.runtime.allConfig();
  const isSecret = runtimeSecretCheck();
  const secretSettings = secretSettingsOf(all, isSecret);
  // Messages may quote what they found; what came from a secret setting is masked before anything is printed.
  const secrets = secretStrings(all, isSecret);
  const result = checkStack(decodeStackConfig(all));
  const header = `Invalid stack configuration (Pulumi.${pulumi.getStack()}.yaml, keys under "homelab:"); nothing was changed:`;
  if (!result.spec) throw new pulumi.RunError(redact(`${header}\n${result.report}`, secrets));
  const snapshotWarning = snapshotDirWarning(result.spec.upgrade.snapshotDir, process.cwd());
  for (const warning of [...result.warnings, ...(snapshotWarning ? [snapshotWarning] : [])])
    void pulumi.log.warn(redact(warning, secrets));
  return { ...result.spec, secretSettings };
}
