/**
 * Combinations Talos refuses when it validates a node's whole config, although each patch is valid on its
 * own (machinery v1.13.0, the same rules in v1.12.0), named with the patches that cause them.
 */
import type { NodeSpec } from "../config/spec";
import { claimsOf, lookup, type Documents } from "./merge";
import type { LayeredPatch } from "./patches";
import { mapEntryProblem } from "./talos-schema/labels";

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** The user patches (level ≥ 1 stack patches and settings) whose documents set something under a path. */
function sourcesOf(
  layers: readonly LayeredPatch[],
  doc: string,
  prefix: string[],
  test?: (v: unknown) => boolean,
) {
  const found = new Set<string>();
  for (const layer of layers) {
    for (const c of claimsOf(layer)) {
      const under = c.doc === doc && prefix.every((segment, i) => c.path[i] === segment);
      if (under && (!test || test(c.value))) found.add(c.origin.source);
    }
  }
  return [...found].join(", ");
}

/** What Talos refuses in the node's final config, one sentence per refusal. */
export function refusedCombinations(
  node: NodeSpec,
  layers: readonly LayeredPatch[],
  final: Documents,
): string[] {
  const problems: string[] = [];
  const interfaces = lookup(final, "v1alpha1", ["machine", "network", "interfaces"]);
  const hasVip = (iface: unknown) =>
    isRecord(iface) &&
    (iface.vip !== undefined ||
      (Array.isArray(iface.vlans) && iface.vlans.some((v) => isRecord(v) && v.vip)));
  if (node.role === "worker" && Array.isArray(interfaces) && interfaces.some(hasVip)) {
    // v1alpha1_validation.go: "virtual (shared) IP is not allowed on non-controlplane nodes".
    problems.push(
      `${sourcesOf(layers, "v1alpha1", ["machine", "network", "interfaces"], hasVip)}: machine.network.interfaces[].vip reaches worker ${node.name}, and Talos refuses a shared IP on workers ("virtual (shared) IP is not allowed on non-controlplane nodes") — put it in patches.controlplane or a control plane's patches`,
    );
  }
  const hostname = final.get("HostnameConfig");
  const auto = hostname?.auto;
  const automatic = auto !== undefined && auto !== "off";
  if (hostname && automatic === (hostname.hostname !== undefined)) {
    // network/hostname.go Validate: exactly one of a static hostname or auto.
    problems.push(
      automatic
        ? `${sourcesOf(layers, "HostnameConfig", ["auto"])} sets HostnameConfig auto: ${String(auto)}, and ${sourcesOf(layers, "HostnameConfig", ["hostname"])} a static hostname for ${node.name}; Talos refuses both ("'auto' and 'hostname' cannot be set at the same time") — keep one`
        : `${node.name}'s HostnameConfig has neither a hostname nor automatic hostnames, which Talos refuses ("either 'auto' or 'hostname' must be set")`,
    );
  }
  const kernelArgs = lookup(final, "v1alpha1", ["machine", "install", "extraKernelArgs"]);
  const uki = lookup(final, "v1alpha1", ["machine", "install", "grubUseUKICmdline"]);
  if (Array.isArray(kernelArgs) && kernelArgs.length > 0 && uki !== false) {
    // v1alpha1_validation.go: generated 1.12+ configs set grubUseUKICmdline, which excludes extraKernelArgs.
    problems.push(
      `${sourcesOf(layers, "v1alpha1", ["machine", "install", "extraKernelArgs"])} sets machine.install.extraKernelArgs, which Talos refuses next to machine.install.grubUseUKICmdline (on in every Talos 1.12+ config): put kernel arguments in an Image Factory schematic, or also set machine.install.grubUseUKICmdline: false (Talos 1.13 upgrades still skip them without talosctl upgrade --legacy)`,
    );
  }
  // labels/validate.go, checked by v1alpha1_validation.go on the node's final labels, annotations, taints.
  for (const kind of ["nodeLabels", "nodeAnnotations", "nodeTaints"] as const) {
    const entries = lookup(final, "v1alpha1", ["machine", kind]);
    for (const [key, value] of Object.entries(isRecord(entries) ? entries : {})) {
      const problem = mapEntryProblem(kind, key, value);
      if (problem) {
        problems.push(
          `${sourcesOf(layers, "v1alpha1", ["machine", kind, key])} sets machine.${kind}["${key}"], which Talos refuses: ${problem}`,
        );
      }
    }
  }
  problems.push(...legacyConflicts(layers, final));
  return problems;
}

const set = (v: unknown) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);

/**
 * A document of the new kind beside the v1alpha1 field it replaces: each kind's V1Alpha1ConflictValidate
 * in machinery v1.13.0 config/types/network (time_sync.go, resolver.go, kubespan.go, hostname.go).
 */
const LEGACY_CONFLICTS: { kind: string; path: string[]; when: (v: unknown) => boolean; talos: string }[] = [
  {
    kind: "TimeSyncConfig",
    path: ["machine", "time", "disabled"],
    when: (v) => v === true,
    talos: "time sync cannot be disabled in both v1alpha1 and new-style configuration",
  },
  {
    kind: "TimeSyncConfig",
    path: ["machine", "time", "servers"],
    when: set,
    talos: "time servers cannot be specified in both v1alpha1 and new-style configuration",
  },
  {
    kind: "TimeSyncConfig",
    path: ["machine", "time", "bootTimeout"],
    when: set,
    talos: "boot timeout cannot be specified in both v1alpha1 and new-style configuration",
  },
  {
    kind: "ResolverConfig",
    path: ["machine", "network", "searchDomains"],
    when: set,
    talos: ".machine.network.searchDomains is already set in v1alpha1 config",
  },
  {
    kind: "ResolverConfig",
    path: ["machine", "network", "nameservers"],
    when: set,
    talos: ".machine.network.nameservers is already set in v1alpha1 config",
  },
  {
    kind: "ResolverConfig",
    path: ["machine", "network", "disableSearchDomain"],
    when: (v) => v === true,
    talos: ".machine.network.disableSearchDomain is already set in v1alpha1 config",
  },
  {
    kind: "KubeSpanConfig",
    path: ["machine", "network", "kubespan"],
    when: set,
    talos: "kubespan is already configured in v1alpha1 machine.network.kubespan",
  },
  {
    kind: "HostnameConfig",
    path: ["machine", "features", "stableHostname"],
    when: (v) => v === true,
    talos: "stable hostname is already set in v1alpha1 config",
  },
];

function legacyConflicts(layers: readonly LayeredPatch[], final: Documents): string[] {
  return LEGACY_CONFLICTS.filter((c) => final.has(c.kind) && c.when(lookup(final, "v1alpha1", c.path))).map(
    (c) => {
      const legacy = sourcesOf(layers, "v1alpha1", c.path);
      const document = sourcesOf(layers, c.kind, []) || "the generated config";
      return `${legacy} sets ${c.path.join(".")} and ${document} a ${c.kind} document; Talos refuses both ("${c.talos}") — use the ${c.kind} document only`;
    },
  );
}
