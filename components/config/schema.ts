/**
 * The stack-config boundary: raw `homelab:*` values in, a validated {@link ClusterSpec} out.
 *
 * Every problem is collected and reported at once, each naming its config path and the fix, before any
 * resource is registered. Structure is checked by zod; relations between fields (duplicates, roles,
 * versions, patches against the Talos schema) by plain checks that also run when the structure is
 * partly wrong, so one run shows everything to fix.
 */
import { isIP } from "node:net";
import { z } from "zod";
import * as YAML from "yaml";
import type { ClusterSpec, DiskSelector, InstallDisk, NodeSpec, PatchDocument } from "./spec";
import {
  CNI_DEFAULTS,
  DEFAULT_KUBERNETES_VERSION,
  DEFAULT_TALOS_VERSION,
  checkVersionPair,
  cniCompatibilityWarning,
  parseSemver,
} from "./versions";
import { closest } from "./suggest";

/** Thrown when the stack config is invalid; `message` lists every problem. */
export class ConfigError extends Error {
  constructor(
    message: string,
    /** One entry per problem: `path: message`. */
    public readonly problems: readonly string[],
  ) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Validates a patch document further (the Talos schema), returning problems as `message`s with severity. */
export type PatchValidator = (
  doc: PatchDocument,
  where: string,
  talosVersion: string,
) => { severity: "error" | "warning"; message: string }[];

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

const boolish = z.preprocess(
  (v) => (v === "true" ? true : v === "false" ? false : v),
  z.boolean({ error: "must be true or false" }),
);
const intish = z.preprocess(
  (v) => (typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v),
  z.number({ error: "must be a whole number" }).int({ error: "must be a whole number" }),
);
const duration = z
  .string({ error: 'must be a duration such as "10m" or "1h30m"' })
  .regex(DURATION, { error: 'must be a duration such as "10m" or "1h30m"' });

const address = z.string({ error: "must be an IP address" }).refine((s) => isIP(s) !== 0, {
  error: (iss) =>
    `${JSON.stringify(iss.input)} is not an IPv4 or IPv6 address — use the machine's IP, e.g. 192.168.1.10`,
});

const talosVersion = z
  .string({ error: "must be a Talos version such as v1.13.9" })
  .refine((s) => parseSemver(s) !== undefined, {
    error: (iss) =>
      `${JSON.stringify(iss.input)} is not a Talos version — write it in full, e.g. ${DEFAULT_TALOS_VERSION}`,
  });
const kubernetesVersion = z
  .string({ error: "must be a Kubernetes version such as 1.36.0" })
  .refine((s) => parseSemver(s) !== undefined, {
    error: (iss) =>
      `${JSON.stringify(iss.input)} is not a Kubernetes version — write it in full, e.g. ${DEFAULT_KUBERNETES_VERSION}`,
  });

/** A patch: a YAML string (one or more documents) or an object. */
const patch = z.union([z.string(), z.record(z.string(), z.unknown())], {
  error: "must be a YAML string or a mapping of Talos settings",
});
const patchList = z.array(patch, { error: "must be a list of patches" });

const diskSelector = z.strictObject({
  size: z.string().optional(),
  name: z.string().optional(),
  model: z.string().optional(),
  serial: z.string().optional(),
  modalias: z.string().optional(),
  uuid: z.string().optional(),
  wwid: z.string().optional(),
  type: z.enum(["ssd", "hdd", "nvme", "sd"], { error: "must be one of ssd, hdd, nvme, sd" }).optional(),
  busPath: z.string().optional(),
});

const diskPath = z
  .string()
  .regex(/^\/dev\/\S+$/, { error: "must be a device path such as /dev/sda or /dev/nvme0n1" });

const labels = z.record(z.string(), z.string({ error: "label values must be strings (quote numbers)" }));
const taints = z.record(
  z.string(),
  z.string().regex(/^[^:]*:(NoSchedule|PreferNoSchedule|NoExecute)$/, {
    error: 'must be "value:Effect" with Effect NoSchedule, PreferNoSchedule or NoExecute',
  }),
);

const nodeSchema = z.strictObject({
  name: z.string({ error: "every node needs a name" }).regex(DNS_LABEL, {
    error: "must be a DNS label: lowercase letters, digits and '-', at most 63 characters",
  }),
  hostname: z
    .string()
    .regex(DNS_LABEL, {
      error: "must be a DNS label: lowercase letters, digits and '-', at most 63 characters",
    })
    .optional(),
  address,
  role: z.enum(["controlplane", "worker"], { error: 'must be "controlplane" or "worker"' }),
  installDisk: diskPath.optional(),
  installDiskSelector: diskSelector.optional(),
  labels: labels.optional(),
  taints: taints.optional(),
  patches: patchList.optional(),
});

const roleDefaults = z.strictObject({
  installDisk: diskPath.optional(),
  installDiskSelector: diskSelector.optional(),
  labels: labels.optional(),
  taints: taints.optional(),
});

const cniName = z.enum(["calico", "cilium", "flannel"], {
  error: 'must be one of "calico", "cilium", "flannel"',
});

const cidr = z.string().refine(
  (s) => {
    const [ip, bits, extra] = s.split("/");
    const family = isIP(ip ?? "");
    const n = Number(bits);
    return extra === undefined && family !== 0 && /^\d+$/.test(bits ?? "") && n <= (family === 4 ? 32 : 128);
  },
  { error: (iss) => `${JSON.stringify(iss.input)} is not a CIDR such as 10.244.0.0/16` },
);

/** Every `homelab:*` key the program understands. */
export const stackConfigSchema = z.strictObject({
  clusterName: z.string().regex(DNS_LABEL, { error: "must be a DNS label such as homelab" }).optional(),
  endpoint: z.string().optional(),
  talosVersion: talosVersion.optional(),
  kubernetesVersion: kubernetesVersion.optional(),
  nodes: z.array(nodeSchema, { error: "must be a list of nodes" }).min(1, {
    error: "list at least one node (a control plane) under homelab:nodes",
  }),
  bootstrapNode: z.string().optional(),
  vip: z
    .strictObject({
      address,
      link: z.string().optional(),
      linkMatch: z.string().min(1, { error: "must be a CEL expression selecting the link" }).optional(),
    })
    .optional(),
  cni: z
    .preprocess(
      // `homelab:cni: cilium` is shorthand for `{ name: cilium }`.
      (v) => (typeof v === "string" ? { name: v } : v),
      z.strictObject({
        name: cniName,
        version: z.string().optional(),
        kubeProxyReplacement: boolish.optional(),
      }),
    )
    .optional(),
  network: z
    .strictObject({
      podSubnets: z.array(cidr).min(1).optional(),
      serviceSubnets: z.array(cidr).min(1).optional(),
    })
    .optional(),
  patches: z
    .strictObject({
      all: patchList.optional(),
      controlplane: patchList.optional(),
      worker: patchList.optional(),
    })
    .optional(),
  roles: z
    .strictObject({ controlplane: roleDefaults.optional(), worker: roleDefaults.optional() })
    .optional(),
  allowSchedulingOnControlPlanes: boolish.optional(),
  extensions: z
    .array(
      z.string().regex(/^[a-z0-9-]+\/[a-z0-9._-]+$/, {
        error: 'must name an extension such as "siderolabs/iscsi-tools"',
      }),
    )
    .optional(),
  resetOnDestroy: boolish.optional(),
  upgrade: z
    .strictObject({
      workerBatchSize: intish.pipe(z.number().min(1, { error: "must be at least 1" })).optional(),
      snapshotDir: z.string().min(1).optional(),
      nodeTimeout: duration.optional(),
    })
    .optional(),
  timeouts: z
    .strictObject({
      apply: duration.optional(),
      bootstrap: duration.optional(),
      kubeconfig: duration.optional(),
      health: duration.optional(),
    })
    .optional(),
});

export type StackConfig = z.infer<typeof stackConfigSchema>;

interface Issue {
  path: (string | number)[];
  message: string;
}

/**
 * Turns the strings Pulumi hands over (`homelab:nodes` → JSON text) into values. Objects and lists arrive
 * as JSON; scalars stay strings and are coerced by the schema where a boolean or number is expected.
 */
export function decodeStackConfig(
  all: Record<string, string>,
  namespace = "homelab",
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const prefix = `${namespace}:`;
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

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/** Checks across fields, on raw input, tolerant of structural errors reported elsewhere. */
function relationalIssues(raw: Record<string, unknown>): Issue[] {
  const issues: Issue[] = [];
  const nodes = Array.isArray(raw.nodes) ? raw.nodes.map(asRecord) : [];
  const seenNames = new Map<string, number>();
  const seenAddresses = new Map<string, number>();
  const seenHostnames = new Map<string, number>();
  nodes.forEach((n, i) => {
    if (!n) return;
    if (typeof n.name === "string") {
      const first = seenNames.get(n.name);
      if (first !== undefined) {
        issues.push({
          path: ["nodes", i, "name"],
          message: `duplicate node name "${n.name}" (also nodes[${first}]) — give each node its own name`,
        });
      } else seenNames.set(n.name, i);
    }
    const host =
      typeof n.hostname === "string" ? n.hostname : typeof n.name === "string" ? n.name : undefined;
    if (host !== undefined) {
      const first = seenHostnames.get(host);
      if (first !== undefined && typeof n.hostname === "string") {
        issues.push({
          path: ["nodes", i, "hostname"],
          message: `duplicate hostname "${host}" (also nodes[${first}]) — hostnames must be unique`,
        });
      } else if (first === undefined) seenHostnames.set(host, i);
    }
    if (typeof n.address === "string") {
      const first = seenAddresses.get(n.address);
      if (first !== undefined) {
        issues.push({
          path: ["nodes", i, "address"],
          message: `duplicate address ${n.address} (also nodes[${first}]) — each machine has its own IP`,
        });
      } else seenAddresses.set(n.address, i);
    }
    if (n.installDisk !== undefined && n.installDiskSelector !== undefined) {
      issues.push({ path: ["nodes", i], message: "set installDisk or installDiskSelector, not both" });
    }
  });
  const roles = asRecord(raw.roles);
  for (const role of ["controlplane", "worker"] as const) {
    const r = asRecord(roles?.[role]);
    if (r && r.installDisk !== undefined && r.installDiskSelector !== undefined) {
      issues.push({ path: ["roles", role], message: "set installDisk or installDiskSelector, not both" });
    }
  }
  if (Array.isArray(raw.nodes) && raw.nodes.length > 0 && !nodes.some((n) => n?.role === "controlplane")) {
    issues.push({ path: ["nodes"], message: 'no control plane: give at least one node role "controlplane"' });
  }
  if (typeof raw.bootstrapNode === "string") {
    const target = nodes.find((n) => n?.name === raw.bootstrapNode);
    if (!target) {
      issues.push({
        path: ["bootstrapNode"],
        message: `"${raw.bootstrapNode}" is not a node name — use the name of a control plane`,
      });
    } else if (target.role !== "controlplane") {
      issues.push({
        path: ["bootstrapNode"],
        message: `"${raw.bootstrapNode}" is a ${String(target.role)}; bootstrap must run on a control plane`,
      });
    }
  }
  if (typeof raw.endpoint === "string") {
    const problem = endpointProblem(raw.endpoint);
    if (problem) issues.push({ path: ["endpoint"], message: problem });
  }
  const vip = asRecord(raw.vip);
  if (vip) {
    if ((vip.link === undefined) === (vip.linkMatch === undefined)) {
      issues.push({
        path: ["vip"],
        message:
          "name the VIP's interface with exactly one of link (e.g. eth0) or linkMatch (a CEL expression)",
      });
    }
    if (typeof vip.address === "string" && seenAddresses.has(vip.address)) {
      issues.push({
        path: ["vip", "address"],
        message: `${vip.address} is also a node's address — reserve a free IP for the VIP`,
      });
    }
  }
  if (typeof raw.talosVersion === "string" || typeof raw.kubernetesVersion === "string") {
    const t = typeof raw.talosVersion === "string" ? raw.talosVersion : DEFAULT_TALOS_VERSION;
    const k = typeof raw.kubernetesVersion === "string" ? raw.kubernetesVersion : DEFAULT_KUBERNETES_VERSION;
    if (parseSemver(t) && parseSemver(k)) {
      const problem = checkVersionPair(t, k);
      if (problem)
        issues.push({
          path: [typeof raw.kubernetesVersion === "string" ? "kubernetesVersion" : "talosVersion"],
          message: problem,
        });
    }
  }
  return issues;
}

/** Why an endpoint is not `https://host:port`, or undefined. */
export function endpointProblem(endpoint: string): string | undefined {
  const fix = `must be https://<host>:<port>, e.g. https://192.168.1.10:6443`;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return `${JSON.stringify(endpoint)} is not a URL — ${fix}`;
  }
  if (url.protocol !== "https:")
    return `${JSON.stringify(endpoint)} uses ${url.protocol.replace(":", "")} — ${fix}`;
  if (!url.port) return `${JSON.stringify(endpoint)} has no port — ${fix}`;
  if ((url.pathname !== "/" && url.pathname !== "") || url.search || url.hash || url.username) {
    return `${JSON.stringify(endpoint)} has a path, query or credentials — ${fix}`;
  }
  if (!endpoint.endsWith(url.port))
    return `${JSON.stringify(endpoint)} has a trailing slash or path — ${fix}`;
  return undefined;
}

function hostForUrl(ip: string): string {
  return isIP(ip) === 6 ? `[${ip}]` : ip;
}

/** Splits YAML strings into documents; objects pass through. Reports unparsable YAML at its path. */
function parsePatches(
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

function installDisk(
  node: { installDisk?: string; installDiskSelector?: DiskSelector },
  role: { installDisk?: string; installDiskSelector?: DiskSelector } | undefined,
): InstallDisk {
  if (node.installDisk) return { path: node.installDisk };
  if (node.installDiskSelector) return { selector: node.installDiskSelector };
  if (role?.installDisk) return { path: role.installDisk };
  if (role?.installDiskSelector) return { selector: role.installDiskSelector };
  return { path: "/dev/sda" };
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

    const nodes: NodeSpec[] = c.nodes.map((n, i) => {
      const role = c.roles?.[n.role];
      const patches = parsePatches(n.patches, ["nodes", i, "patches"], issues);
      for (const p of patches) collectPatchProblems(p, talos, validatePatch, issues, warnings);
      return {
        name: n.name,
        hostname: n.hostname ?? n.name,
        address: n.address,
        role: n.role,
        installDisk: installDisk(n, role),
        labels: { ...role?.labels, ...n.labels },
        taints: { ...role?.taints, ...n.taints },
        patches: patches.map((p) => p.doc),
        index: i,
      };
    });
    const patchesFor = (key: "all" | "controlplane" | "worker") => {
      const list = parsePatches(c.patches?.[key], ["patches", key], issues);
      for (const p of list) collectPatchProblems(p, talos, validatePatch, issues, warnings);
      return list.map((p) => p.doc);
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
    if (controlPlanes.length > 0 && controlPlanes.length % 2 === 0) {
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
    const cniWarning = cniCompatibilityWarning(cni.name, cni.version, k8s);
    if (cniWarning) warnings.push(cniWarning);

    if (issues.length === 0 && bootstrapNode) {
      spec = {
        clusterName: c.clusterName ?? "homelab",
        endpoint,
        talosVersion: talos,
        kubernetesVersion: k8s,
        nodes,
        controlPlanes,
        workers,
        bootstrapNode,
        vip: c.vip,
        cni,
        podSubnets: c.network?.podSubnets ?? ["10.244.0.0/16"],
        serviceSubnets: c.network?.serviceSubnets ?? ["10.96.0.0/12"],
        patches: allPatches,
        allowSchedulingOnControlPlanes: c.allowSchedulingOnControlPlanes ?? workers.length < 3,
        extensions: [...(c.extensions ?? [])].sort(),
        resetOnDestroy: c.resetOnDestroy ?? false,
        upgrade: {
          workerBatchSize: c.upgrade?.workerBatchSize ?? 1,
          snapshotDir: c.upgrade?.snapshotDir ?? "etcd-snapshots",
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

function collectPatchProblems(
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

/** Parses or throws a {@link ConfigError} whose message lists every problem. */
export function parseClusterConfigOrThrow(
  raw: Record<string, unknown>,
  validatePatch?: PatchValidator,
): ClusterSpec {
  const result = parseClusterConfig(raw, validatePatch);
  if (!result.spec) {
    throw new ConfigError(
      `Invalid stack configuration (Pulumi.<stack>.yaml, keys under "homelab:"); nothing was changed:\n${result.report}`,
      result.errors,
    );
  }
  return result.spec;
}
