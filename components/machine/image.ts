/**
 * Installer image names. Until Talos 1.13 the vanilla installer is published on ghcr; from 1.14 only the
 * Image Factory serves installers, so any schematic (even the empty one) goes through the factory.
 * Sources: docs.siderolabs.com talos/v1.13/learn-more/image-factory and talos/v1.14 upgrading-talos.
 */
import { parseSemver } from "../config/versions";

/** The schematic with no customization (the factory's id for an empty schematic). */
export const VANILLA_SCHEMATIC_ID = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";

/** The installer image for `talosVersion` (`v1.13.9`), from the factory when a schematic id is given. */
export function installerImage(talosVersion: string, schematicId?: string): string {
  const v = parseSemver(talosVersion);
  if (!v) throw new Error(`installerImage: ${JSON.stringify(talosVersion)} is not a Talos version`);
  const tag = `v${v.major}.${v.minor}.${v.patch}${v.prerelease ? `-${v.prerelease}` : ""}`;
  const factoryOnly = v.major > 1 || v.minor >= 14;
  if (!schematicId && !factoryOnly) return `ghcr.io/siderolabs/installer:${tag}`;
  // 1.14's upgrade guide names the metal-installer; earlier guides the architecture-detecting installer.
  const repo = factoryOnly ? "metal-installer" : "installer";
  return `factory.talos.dev/${repo}/${schematicId ?? VANILLA_SCHEMATIC_ID}:${tag}`;
}

/** The Image Factory schematic (YAML) for a set of official system extensions. */
export function schematicYaml(extensions: readonly string[]): string {
  const lines = ["customization:", "  systemExtensions:", "    officialExtensions:"];
  for (const e of [...extensions].sort()) lines.push(`      - ${e}`);
  return `${lines.join("\n")}\n`;
}
