/**
 * Patches as the stack file gives them (YAML text, possibly several documents, or maps) turned into
 * documents named by their stack-file path, and handed to the Talos-schema check.
 */
import * as YAML from "yaml";
import type { PatchDocument, StackPatch } from "./spec";
import { asRecord, type Issue } from "./checks";

/** Validates a patch document further (the Talos schema), returning problems as `message`s with severity. */
export type PatchValidator = (
  doc: PatchDocument,
  where: string,
  talosVersion: string,
) => { severity: "error" | "warning"; message: string }[];

/**
 * Why a list is not a patch. A list of `op`/`path` entries is a JSON 6902 patch, which the provider loads
 * but cannot apply: machinery v1.13.0 config/configpatcher/json6902.go refuses JSON 6902 patches for a
 * multi-document config, and every Talos 1.12+ config is one (it carries a HostnameConfig document).
 */
function listPatchProblem(value: unknown[], document?: number): string {
  const isOp = (v: unknown) => asRecord(v) !== undefined && typeof asRecord(v)!.op === "string";
  if (value.length === 0 || !value.every(isOp)) {
    return document === undefined
      ? "is a list, not a mapping of Talos settings"
      : `document ${document} is not a mapping of Talos settings`;
  }
  const equivalent = strategicEquivalent(value as Record<string, unknown>[]);
  return (
    `is a JSON 6902 patch, which Talos cannot apply here: every Talos 1.12+ config has several documents, and ` +
    `Talos refuses JSON 6902 patches for those ("JSON6902 patches are not supported for multi-document machine configuration"). ` +
    `Write it as a strategic-merge patch${equivalent ? `: ${JSON.stringify(equivalent)}` : " (a mapping of the settings to change)"}`
  );
}

/** The strategic-merge patch doing the same as simple add/replace/remove operations on map keys, if any. */
function strategicEquivalent(ops: Record<string, unknown>[]): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const op of ops) {
    if (typeof op.path !== "string" || !op.path.startsWith("/")) return undefined;
    const keys = op.path
      .slice(1)
      .split("/")
      .map((k) => k.replace(/~1/g, "/").replace(/~0/g, "~"));
    if (keys.some((k) => k === "" || k === "-" || /^\d+$/.test(k))) return undefined;
    const value =
      op.op === "remove"
        ? { $patch: "delete" }
        : op.op === "add" || op.op === "replace"
          ? op.value
          : undefined;
    if (value === undefined) return undefined;
    let node = out;
    for (const k of keys.slice(0, -1)) {
      const next = asRecord(node[k]) ?? {};
      node[k] = next;
      node = next;
    }
    node[keys[keys.length - 1]] = value;
  }
  return out;
}

/** Splits YAML strings into documents; maps pass through. Reports unparsable YAML at its path. */
export function parsePatches(
  list: readonly (string | Record<string, unknown> | unknown[])[] | undefined,
  path: (string | number)[],
  issues: Issue[],
): StackPatch[] {
  const out: StackPatch[] = [];
  (list ?? []).forEach((p, i) => {
    const where = formatPath([...path, i]);
    if (Array.isArray(p)) {
      issues.push({ path: [...path, i], message: listPatchProblem(p) });
      return;
    }
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
      if (Array.isArray(value)) {
        issues.push({ path: [...path, i], message: listPatchProblem(value, j + 1) });
        return;
      }
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
  p: StackPatch,
  talosVersion: string,
  validate: PatchValidator | undefined,
  issues: Issue[],
  warnings: string[],
): void {
  issues.push(...programOwnedRanges(p));
  if (!validate) return;
  for (const problem of validate(p.doc, p.where, talosVersion)) {
    if (problem.severity === "error") issues.push({ path: [], message: problem.message });
    else warnings.push(problem.message);
  }
}

/**
 * The pod and service ranges are settings (`network.podSubnets` / `network.serviceSubnets`), not patch
 * material: the program writes them into every node's config, gives the pod range to the CNI (Calico's IP
 * pools) and checks both against the node addresses. A patch that sets them would replace the written value
 * (Talos replaces these lists, `merge:"replace"`), leaving the CNI and the checks on the old range.
 */
function programOwnedRanges(p: StackPatch): Issue[] {
  if (typeof p.doc.kind === "string") return []; // a typed document, not the v1alpha1 config
  const network = asRecord(asRecord(p.doc.cluster)?.network);
  return (["podSubnets", "serviceSubnets"] as const)
    .filter((field) => network?.[field] !== undefined)
    .map((field) => ({
      path: [],
      message:
        `${p.where}: sets cluster.network.${field} — set the stack's network.${field} instead (homelab:network ` +
        `in Pulumi.<stack>.yaml): the program writes it into every node's configuration and the CNI's IP pools, ` +
        `and checks it against the node addresses; a patch would change only the first`,
    }));
}
