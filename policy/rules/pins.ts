/**
 * The provider plugin versions every resource must be managed by.
 *
 * - Talos: the program uses the @pulumiverse/talos SDK generated into sdks/talos, which asks for the plugin
 *   version in its package.json (`pulumi.version`); this constant must match it (a test checks).
 * - Kubernetes and Command: the npm SDK version is the plugin version it asks the engine for, so the pin is
 *   whatever the project's `package.json` pins exactly. A Renovate bump of the SDK moves the pin with it; a
 *   range there, or a resource asking for any other version, is a violation.
 */
import * as fs from "fs";
import * as path from "path";
import { isRecord, type PinnedPackage } from "./support";

export const TALOS_PROVIDER_VERSION = "0.8.1";

const SDK_OF: Record<Exclude<PinnedPackage, "talos">, string> = {
  kubernetes: "@pulumi/kubernetes",
  command: "@pulumi/command",
};

/** Versions from a parsed `package.json`'s `dependencies`; `undefined` where the SDK is missing or not exact. */
export function pinsFromPackageJson(packageJson: unknown): Record<PinnedPackage, string | undefined> {
  const deps = isRecord(packageJson) && isRecord(packageJson.dependencies) ? packageJson.dependencies : {};
  const exact = (name: string): string | undefined => {
    const version = deps[name];
    return typeof version === "string" && /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(version)
      ? version
      : undefined;
  };
  return {
    talos: TALOS_PROVIDER_VERSION,
    kubernetes: exact(SDK_OF.kubernetes),
    command: exact(SDK_OF.command),
  };
}

/** The pins for the project this pack lives in (`policy/../package.json`). */
export function projectPins(
  projectDir = path.resolve(__dirname, "..", ".."),
): Record<PinnedPackage, string | undefined> {
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(fs.readFileSync(path.join(projectDir, "package.json"), "utf8"));
  } catch {
    // Unreadable: every SDK-derived pin is unknown, and the rule reports that instead of passing.
  }
  return pinsFromPackageJson(parsed);
}
