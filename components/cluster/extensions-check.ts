/**
 * The online half of the extension-name check. Offline, the stack check warns about a name missing from the
 * program's derived catalog (components/config/extensions.ts). With HOMELAB_CHECK_EXTENSIONS=1 the program
 * also asks Image Factory, through the provider's `getExtensionsVersions` data source, which extensions it
 * serves for the stack's Talos version: that answer is authoritative, so a name it lacks fails the run (as
 * the drift check does, components/lifecycle/drift.ts). Opt-in, because it dials factory.talos.dev at every
 * preview; when the factory cannot be reached the run goes on with a warning.
 */
import * as pulumi from "@pulumi/pulumi";
import * as talos from "@pulumiverse/talos";
import { closest } from "../config/suggest";

/** The environment variable that turns the online check on (`1` or `true`). */
export const EXTENSION_CHECK_ENV = "HOMELAB_CHECK_EXTENSIONS";

export function extensionCheckRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env[EXTENSION_CHECK_ENV];
  return v === "1" || v === "true";
}

/** One sentence per wanted extension the factory does not serve for `talosVersion`, with the nearest it does. */
export function unservedExtensions(
  wanted: readonly string[],
  served: readonly string[],
  talosVersion: string,
): string[] {
  const have = new Set(served);
  return wanted
    .filter((name) => !have.has(name))
    .map((name) => {
      const guess = closest(name, have);
      const hint = guess ? ` (did you mean "${guess}"?)` : "";
      return `extensions: Image Factory serves no "${name}" for Talos ${talosVersion}${hint} — fix the name in homelab:extensions or remove it`;
    });
}

/**
 * What Image Factory said about the stack's extensions: resolves to a one-line verdict (confirmed, or not
 * asked: then also a warning), and rejects with a RunError listing the unserved names, which the runtime
 * reports as the run's error (so `pulumi preview`, and the preview `pulumi up` starts with, fails).
 */
export function checkExtensionsOnline(
  extensions: readonly string[],
  talosVersion: string,
  parent: pulumi.Resource,
): pulumi.Output<string> {
  const answer = talos.imagefactory.getExtensionsVersions({ talosVersion }, { parent }).then(
    (r) => ({ served: r.extensionsInfos.map((e) => e.name) }),
    (err: unknown) => ({ failure: err instanceof Error ? err.message : String(err) }),
  );
  return pulumi.output(
    answer.then((a) => {
      if ("failure" in a) {
        void pulumi.log.warn(
          `extensions: could not ask Image Factory which extensions it serves for Talos ${talosVersion} (${a.failure}); only the program's offline list was checked`,
          parent,
        );
        return `not checked: Image Factory could not be asked (${a.failure})`;
      }
      const problems = unservedExtensions(extensions, a.served, talosVersion);
      if (problems.length > 0) throw new pulumi.RunError(problems.join("\n"));
      return `served by Image Factory for Talos ${talosVersion}`;
    }),
  );
}
