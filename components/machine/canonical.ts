/**
 * One serialization for every patch the program sends, so the same settings always produce the same
 * resource inputs: keys sorted at every depth, fixed YAML options. Reordering keys or reformatting the
 * stack file therefore changes nothing on a node.
 */
import * as YAML from "yaml";
import type { PatchDocument } from "../config/spec";

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortDeep((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/** The canonical YAML text of one patch document. */
export function canonicalYaml(doc: PatchDocument): string {
  return YAML.stringify(sortDeep(doc), {
    lineWidth: 0,
    indent: 2,
    defaultStringType: "PLAIN",
    aliasDuplicateObjects: false,
  });
}
