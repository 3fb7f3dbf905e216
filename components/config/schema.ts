/**
 * The stack-config boundary: raw `homelab:*` values in, a validated {@link ClusterSpec} out.
 *
 * Every problem is collected and reported at once, each naming its config path and the fix, before any
 * resource is registered. Structure is checked by zod (`stack-schema.ts`); relations between fields by
 * plain checks (`checks.ts`) that also run when the structure is partly wrong, and patches are split into
 * documents and checked against the Talos schema (`patch-input.ts`), so one run shows everything to fix.
 */
import { isIP } from "node:net";
import { z } from "zod";
import type {
  ClusterSpec,
  DiskSelector,
  InstallDisk,
  NodeRole,
  NodeSpec,
  SettingOrigin,
  StackPatch,
} from "./spec";
import {
  CNI_DEFAULTS,
  DEFAULT_KUBERNETES_VERSION,
  DEFAULT_TALOS_VERSION,
  cniCompatibilityWarning,
} from "./versions";
import { closest } from "./suggest";
import { asRecord, relationalIssues, type Issue } from "./checks";
import { collectPatchProblems, formatPath, parsePatches, type PatchValidator } from "./patch-input";
import { stackConfigSchema } from "./stack-schema";
import { unknownExtensionWarnings } from "./extensions";
import {
  DEFAULT_POD_SUBNETS,
  DEFAULT_SERVICE_SUBNETS,
  endpointWarning,
  vipSubnetWarning,
} from "./network-checks";

/**
 * Turns the strings Pulumi hands over (`homelab:nodes` → JSON text) into values. Objects and lists arrive
 * as JSON; scalars stay strings and are coerced by the schema where a boolean or number is expected.
 */
export function decodeStackConfig(all: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const prefix = "homelab:";
  for (const [key, value] of Object.entries(all)) {
    if (!key.startsWith(prefix)) continue;
    const name = key.slice(prefix.length);
    const trimmed = value.trim();
    if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
      try {
        out[name] = JSON.parse(trimmed);
        continue;
      } catch {
        // not JSON after all: keep the string, the schema will say what it expected
      }
    }
    out[name] = value;
  }
  return out;
}

function zodIssues(error: z.ZodError): Issue[] {
  const known = Object.keys(stackConfigSchema.shape);
  return error.issues.map((iss) => {
    if (iss.code === "unrecognized_keys") {
      const hints = iss.keys.map((k) => {
        const guess = iss.path.length === 0 ? closest(k, known) : undefined;
        return guess ? `"${k}" (did you mean "${guess}"?)` : `"${k}"`;
      });
      return {
        path: iss.path as (string | number)[],
        message: `unknown setting ${hints.join(", ")} — remove it or fix its spelling`,
      };
    }
    return { path: iss.path as (string | number)[], message: iss.message };
  });
}

function hostForUrl(ip: string): string {
  return isIP(ip) === 6 ? `[${ip}]` : ip;
}

interface DiskSettings {
  installDisk?: string;
  installDiskSelector?: DiskSelector;
  labels?: Record<string, string>;
  taints?: Record<string, string>;
}

/** The install disk a node gets, and which setting chose it: the node's own, its role's, or the default. */
function installDisk(
  node: DiskSettings,
  role: DiskSettings | undefined,
  at: { node: string; role: string },
): { disk: InstallDisk; origin: SettingOrigin } {
  if (node.installDisk) return { disk: { path: node.installDisk }, origin: at3(`${at.node}.installDisk`) };
  if (node.installDiskSelector)
    return { disk: { selector: node.installDiskSelector }, origin: at3(`${at.node}.installDiskSelector`) };
  if (role?.installDisk) return { disk: { path: role.installDisk }, origin: at2(`${at.role}.installDisk`) };
  if (role?.installDiskSelector)
    return { disk: { selector: role.installDiskSelector }, origin: at2(`${at.role}.installDiskSelector`) };
  return { disk: { path: "/dev/sda" }, origin: { source: "the default install disk /dev/sda", level: 0 } };
}

const at2 = (source: string): SettingOrigin => ({ source, level: 2 });
const at3 = (source: string): SettingOrigin => ({ source, level: 3 });

/** A role default and a node's own map (labels, taints), merged with the node winning, and who set each key. */
function mergedMap(
  role: Record<string, string> | undefined,
  node: Record<string, string> | undefined,
  at: { node: string; role: string },
  key: "labels" | "taints",
): { values: Record<string, string>; origins: Record<string, SettingOrigin> } {
  const origins: Record<string, SettingOrigin> = {};
  for (const k of Object.keys(role ?? {})) origins[k] = at2(`${at.role}.${key}`);
  for (const k of Object.keys(node ?? {})) origins[k] = at3(`${at.node}.${key}`);
  return { values: { ...role, ...node }, origins };
}

/** One node of the spec, with where each generated setting came from. */
function nodeSpecOf(
  n: DiskSettings & { name: string; hostname?: string; address: string; role: NodeRole },
  role: DiskSettings | undefined,
  index: number,
  patches: StackPatch[],
): NodeSpec {
  const at = { node: `nodes[${index}]`, role: `roles.${n.role}` };
  const disk = installDisk(n, role, at);
  const labels = mergedMap(role?.labels, n.labels, at, "labels");
  const taints = mergedMap(role?.taints, n.taints, at, "taints");
  return {
    name: n.name,
    hostname: n.hostname ?? n.name,
    address: n.address,
    role: n.role,
    installDisk: disk.disk,
    labels: labels.values,
    taints: taints.values,
    patches,
    index,
    origins: {
      installDisk: disk.origin,
      hostname: n.hostname
        ? at3(`${at.node}.hostname`)
        : { source: `${at.node}.name (the default hostname)`, level: 0 },
      labels: labels.origins,
      taints: taints.origins,
    },
  };
}

export interface ParseResult {
  readonly spec?: ClusterSpec;
  /** `path: message` lines, empty when `spec` is set. */
  readonly errors: readonly string[];
  /** Human-readable listing of `errors` (zod's pretty format: one "✖" per problem, "→ at" its path). */
  readonly report?: string;
  readonly warnings: readonly string[];
}

/**
 * Parses decoded stack config into a ClusterSpec, or every reason it cannot.
 * `validatePatch` checks each patch against the Talos schema (omitted: structure only).
 */
export function parseClusterConfig(
  raw: Record<string, unknown>,
  validatePatch?: PatchValidator,
): ParseResult {
  const issues: Issue[] = [];
  const warnings: string[] = [];
  const parsed = stackConfigSchema.safeParse(raw);
  if (!parsed.success) issues.push(...zodIssues(parsed.error));
  issues.push(...relationalIssues(raw));

  let spec: ClusterSpec | undefined;
  if (parsed.success) {
    const c = parsed.data;
    const talos = `v${c.talosVersion?.replace(/^v/, "") ?? DEFAULT_TALOS_VERSION.slice(1)}`;
    const k8s = (c.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION).replace(/^v/, "");
    if (c.configContract) {
      // Talos generates configs for its own contract or an older one, never a newer one.
      const [cMaj, cMin] = c.configContract.replace(/^v/, "").split(".").map(Number);
      const [tMaj, tMin] = talos.slice(1).split(".").map(Number);
      if (cMaj > tMaj || (cMaj === tMaj && cMin > tMin)) {
        issues.push({
          path: ["configContract"],
          message: `contract ${c.configContract} is newer than talosVersion ${talos} — upgrade Talos first, then move the contract`,
        });
      }
    }

    const nodes: NodeSpec[] = c.nodes.map((n, i) => {
      const patches = parsePatches(n.patches, ["nodes", i, "patches"], issues);
      for (const p of patches) collectPatchProblems(p, talos, validatePatch, issues, warnings);
      return nodeSpecOf(n, c.roles?.[n.role], i, patches);
    });
    const patchesFor = (key: "all" | "controlplane" | "worker") => {
      const list = parsePatches(c.patches?.[key], ["patches", key], issues);
      for (const p of list) collectPatchProblems(p, talos, validatePatch, issues, warnings);
      return list;
    };
    const allPatches = {
      all: patchesFor("all"),
      controlplane: patchesFor("controlplane"),
      worker: patchesFor("worker"),
    };

    const controlPlanes = nodes.filter((n) => n.role === "controlplane");
    const workers = nodes.filter((n) => n.role === "worker");
    const bootstrapNode = c.bootstrapNode
      ? controlPlanes.find((n) => n.name === c.bootstrapNode)
      : controlPlanes[0];
    // Two are refused in checks.ts; four or six work but tolerate no more failures than one fewer.
    if (controlPlanes.length > 2 && controlPlanes.length % 2 === 0) {
      warnings.push(
        `nodes: ${controlPlanes.length} control planes — etcd needs a majority, so an even count tolerates no more failures than one fewer; use an odd number (1, 3 or 5)`,
      );
    }
    const endpoint =
      c.endpoint ??
      (c.vip
        ? `https://${hostForUrl(c.vip.address)}:6443`
        : controlPlanes[0]
          ? `https://${hostForUrl(controlPlanes[0].address)}:6443`
          : "");
    const cniName = c.cni?.name ?? "calico";
    const cni = {
      name: cniName,
      version: c.cni?.version ?? CNI_DEFAULTS[cniName].version,
      kubeProxyReplacement: c.cni?.kubeProxyReplacement ?? true,
    };
    const vipWarning = vipSubnetWarning(
      c.vip?.address,
      controlPlanes.map((n) => ({
        index: n.index,
        address: n.address,
        patches: [...n.patches, ...allPatches.controlplane, ...allPatches.all],
      })),
    );
    if (vipWarning) warnings.push(vipWarning);
    const endpointNote = endpointWarning(raw, Array.isArray(raw.nodes) ? raw.nodes.map(asRecord) : []);
    if (endpointNote) warnings.push(endpointNote);
    warnings.push(...unknownExtensionWarnings(c.extensions ?? []));
    const cniWarning = cniCompatibilityWarning(cni.name, cni.version, k8s);
    if (cniWarning) warnings.push(cniWarning);

    if (issues.length === 0 && bootstrapNode) {
      spec = {
        clusterName: c.clusterName ?? "homelab",
        endpoint,
        talosVersion: talos,
        kubernetesVersion: k8s,
        ...(c.configContract ? { configContract: `v${c.configContract.replace(/^v/, "")}` } : {}),
        nodes,
        controlPlanes,
        workers,
        bootstrapNode,
        vip: c.vip,
        cni,
        podSubnets: c.network?.podSubnets ?? [...DEFAULT_POD_SUBNETS],
        serviceSubnets: c.network?.serviceSubnets ?? [...DEFAULT_SERVICE_SUBNETS],
        patches: allPatches,
        allowSchedulingOnControlPlanes: c.allowSchedulingOnControlPlanes ?? workers.length < 3,
        ...(c.allowSchedulingOnControlPlanes === undefined
          ? {}
          : { allowSchedulingOrigin: { source: "allowSchedulingOnControlPlanes", level: 1 as const } }),
        extensions: [...(c.extensions ?? [])].sort(),
        resetOnDestroy: c.resetOnDestroy ?? false,
        upgrade: {
          workerBatchSize: c.upgrade?.workerBatchSize ?? 1,
          ...(c.upgrade?.snapshotDir ? { snapshotDir: c.upgrade.snapshotDir } : {}),
          keepSnapshots: c.upgrade?.keepSnapshots ?? 5,
          nodeTimeout: c.upgrade?.nodeTimeout ?? "30m",
        },
        timeouts: {
          apply: c.timeouts?.apply ?? "10m",
          bootstrap: c.timeouts?.bootstrap ?? "10m",
          kubeconfig: c.timeouts?.kubeconfig ?? "10m",
          health: c.timeouts?.health ?? "10m",
        },
        warnings,
      };
    }
  }
  if (issues.length > 0) {
    const error = new z.ZodError(
      issues.map((i) => ({ code: "custom" as const, path: i.path, message: i.message, input: undefined })),
    );
    return {
      errors: issues.map((i) => (i.path.length ? `${formatPath(i.path)}: ${i.message}` : i.message)),
      report: z.prettifyError(error),
      warnings,
    };
  }
  return { spec, errors: [], warnings };
}
