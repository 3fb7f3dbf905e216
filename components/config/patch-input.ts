/**
 * Patches as the stack file gives them (YAML text, possibly several documents, or maps) turned into
 * documents named by their stack-file path, and handed to the Talos-schema check.
 */
import * as YAML from "yaml";
import type { PatchDocument } from "./spec";
import { asRecord, type Issue } from "./checks";

/** Validates a patch document further (the Talos schema), returning problems as `message`s with severity. */
export type PatchValidator = (
  doc: PatchDocument,
  where: string,
  talosVersion: string,
) => { severity: "error" | "warning"; message: string }[];

/** Splits YAML strings into documents; objects pass through. Reports unparsable YAML at its path. */
export function parsePatches(
  list: readonly (string | Record<string, unknown>)[] | undefined,
  path: (string | number)[],
  issues: Issue[],
): { doc: PatchDocument; where: string }[] {
  const out: { doc: PatchDocument; where: string }[] = [];
  (list ?? []).forEach((p, i) => {
    const where = formatPath([...path, i]);
    if (typeof p !== "string") {
      out.push({ doc: p, where });
      return;
    }
    const docs = YAML.parseAllDocuments(p);
    docs.forEach((d, j) => {
      if (d.errors.length > 0) {
        issues.push({
          path: [...path, i],
          message: `is not valid YAML: ${d.errors[0].message.split("\n")[0]}`,
        });
        return;
      }
      const value = d.toJS();
      if (value === null || value === undefined) return;
      if (!asRecord(value)) {
        issues.push({ path: [...path, i], message: `document ${j + 1} is not a mapping of Talos settings` });
        return;
      }
      out.push({
        doc: value as PatchDocument,
        where: docs.length > 1 ? `${where} (document ${j + 1})` : where,
      });
    });
  });
  return out;
}

/** `nodes[1].patches[0]` */
export function formatPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

export function collectPatchProblems(
  p: { doc: PatchDocument; where: string },
  talosVersion: string,
  validate: PatchValidator | undefined,
  issues: Issue[],
  warnings: string[],
): void {
  if (!validate) return;
  for (const problem of validate(p.doc, p.where, talosVersion)) {
    if (problem.severity === "error") issues.push({ path: [], message: problem.message });
    else warnings.push(problem.message);
  }
}
