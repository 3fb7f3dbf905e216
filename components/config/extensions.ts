/**
 * The official system extension names the program knows (components/config/talos-extensions.json, whose
 * `$comment` says where the list came from and why it is not exact for one Talos minor), and the warning
 * for a name outside it, with the nearest known name.
 */
import catalog from "./talos-extensions.json";
import { closest } from "./suggest";

/** Every official extension name in the derived catalog, `siderolabs/<name>`. */
export const KNOWN_EXTENSIONS: ReadonlySet<string> = new Set(catalog.names);

/**
 * A warning for each extension name the catalog does not hold, at its stack path. A warning, not an
 * error: the catalog is a snapshot of the extensions repository, not the list of one Talos release, so a
 * newer extension may be real.
 */
export function unknownExtensionWarnings(
  extensions: readonly string[],
  known: ReadonlySet<string> = KNOWN_EXTENSIONS,
): string[] {
  return extensions.flatMap((name, i) => {
    if (known.has(name)) return [];
    const guess = closest(name, known);
    const hint = guess ? ` (did you mean "${guess}"?)` : "";
    return [
      `extensions[${i}]: "${name}" is not an official extension this program knows${hint} — Image Factory builds the installer only from extensions it serves for the Talos version: fix the name (the list: github.com/siderolabs/extensions), or ignore this if the extension is newer than the program's list (components/config/talos-extensions.json)`,
    ];
  });
}
