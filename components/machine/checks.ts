/**
 * Checks of what each node's configuration becomes, before anything is registered: the documents the
 * program generates must be valid Talos config; no value set in the stack file may be lost to a patch
 * that does not outrank it (see {@link PatchLevel}); and the combinations Talos refuses on a node although
 * every patch is valid on its own (a VIP on a worker, a hostname beside automatic hostnames, kernel
 * arguments beside the UKI command line) are named with the patches that cause them.
 */
import type { ClusterSpec, NodeSpec, PatchLevel } from "../config/spec";
import { minorOf } from "../config/versions";
import { installerImage } from "./image";
import { refusedCombinations } from "./combinations";
import { trackOverrides, type Override } from "./merge";
import { nodePatchLayers, nodeSettingLayers, rolePatchLayers, type LayeredPatch } from "./patches";
import { supportedTalosMinors, validateTalosDocument, type TalosMinor } from "./talos-schema";

const LEVEL: Record<PatchLevel, string> = {
  0: "program default",
  1: "stack-wide",
  2: "per-role",
  3: "per-node",
};

/** Where a value can be overridden on purpose: a patch more specific than its level. */
const MORE_SPECIFIC: Record<PatchLevel, string> = {
  0: "any patch",
  1: "patches.<role> or nodes[i].patches",
  2: "nodes[i].patches",
  3: "",
};

/** Every patch a node's config is built from, in order: the role's invoke, then the node's apply. */
function nodeConfigLayers(spec: ClusterSpec, node: NodeSpec, image: string): LayeredPatch[] {
  return [...rolePatchLayers(spec, node.role, image), ...nodePatchLayers(spec, node)];
}

function where(doc: string, path: readonly string[]): string {
  const at = path.join(".");
  return doc === "v1alpha1" ? at : `${doc} ${at}`;
}

const show = (v: unknown) => (v === undefined ? "nothing" : JSON.stringify(v));

/** One sentence per lost value, naming both places and what to do. */
function overrideMessage(o: Override): string {
  const { claim, by } = o;
  const at = where(claim.doc, claim.path);
  if (o.reason && by.source !== claim.origin.source) {
    return `${claim.origin.source} sets ${at} to ${show(claim.value)}, which has no effect: ${o.reason} (set by ${by.source}) — set the install disk in one place`;
  }
  if (o.reason) {
    return `${claim.origin.source} sets ${at} to ${show(claim.value)}, which does not reach the node: ${o.reason}`;
  }
  const level = claim.origin.level;
  const override = level < 3 ? ` (to override it on purpose, use ${MORE_SPECIFIC[level]})` : "";
  const fix =
    by.level < level
      ? `a ${LEVEL[by.level]} patch cannot change a ${LEVEL[level]} value; set it in one place${override}`
      : `both are ${LEVEL[level]}; set the value in one place${override}`;
  return `${by.source} changes ${at} from ${show(claim.value)} (set by ${claim.origin.source}) to ${show(o.now)}: ${fix}`;
}

/** Every reason a node would refuse its config or lose a stack-file value, one sentence each. */
export function machineConfigProblems(spec: ClusterSpec): string[] {
  const minor = minorOf(spec.talosVersion);
  const talosMinor = supportedTalosMinors().find((m) => m === minor) as TalosMinor | undefined;
  if (!talosMinor) return []; // the version matrix already reports an unsupported minor
  const image = installerImage(spec.talosVersion);
  const problems = new Set<string>();
  const checkGenerated = (layers: LayeredPatch[], owner: string) =>
    layers.forEach((layer, i) => {
      for (const p of validateTalosDocument(layer.doc, {
        talosMinor,
        where: `generated ${owner} patch ${i + 1}`,
      })) {
        if (p.severity === "error") problems.add(p.message);
      }
    });
  for (const role of ["controlplane", "worker"] as const)
    checkGenerated(rolePatchLayers(spec, role, image), role);
  for (const node of spec.nodes) {
    checkGenerated(nodeSettingLayers(spec, node), `node ${node.name}`);
    const layers = nodeConfigLayers(spec, node, image);
    const { overrides, failedDeletes, final } = trackOverrides(layers);
    for (const o of overrides) problems.add(overrideMessage(o));
    for (const d of failedDeletes) {
      problems.add(
        `${d.origin.source} deletes ${d.path} ($patch: delete), which is not set at that point; Talos refuses the patch ("lookup failed") — remove the deletion`,
      );
    }
    for (const p of refusedCombinations(node, layers, final)) problems.add(p);
  }
  return [...problems];
}
