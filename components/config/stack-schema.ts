/**
 * The structure of every `homelab:*` stack setting, as zod schemas: types, formats and allowed values,
 * each with a message that names the fix. Relations between settings are checked in `checks.ts`.
 */
import { isIP } from "node:net";
import * as path from "node:path";
import { z } from "zod";
import { DEFAULT_KUBERNETES_VERSION, DEFAULT_TALOS_VERSION, parseSemver } from "./versions";
import { mapEntryProblem } from "../machine/talos-schema/labels";

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

/**
 * A patch: a YAML string (one or more documents) or a mapping; a list is taken in so that a JSON 6902
 * patch gets its own explanation (patch-input.ts) rather than a type error.
 */
const patch = z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())], {
  error: "must be a YAML string or a mapping of Talos settings",
});
const patchList = z.array(patch, { error: "must be a list of patches" });

const diskSelector = z.strictObject({
  size: z.string().optional(),
  // In Talos's schema, but every node refuses it: machinery v1.13.0 (and v1.12.0)
  // config/types/v1alpha1/v1alpha1_provider.go DiskMatchExpression.
  name: z
    .unknown()
    .refine(() => false, {
      error:
        'Talos refuses a disk selector on name ("selector on name is not supported"): select the disk by busPath, model, serial, wwid, size or type, or set installDisk to its path',
    })
    .optional(),
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

/** A Kubernetes label or taint map, checked as Talos checks machine.nodeLabels / machine.nodeTaints. */
const kubernetesMap = (kind: "nodeLabels" | "nodeTaints", value: z.ZodType<string>) =>
  z.record(z.string(), value).superRefine((map, ctx) => {
    for (const [key, v] of Object.entries(map)) {
      const problem = mapEntryProblem(kind, key, v);
      if (problem) ctx.addIssue({ code: "custom", path: [key], message: `Talos refuses it: ${problem}` });
    }
  });
const labels = kubernetesMap(
  "nodeLabels",
  z.string({ error: "label values must be strings (quote numbers)" }),
);
const taints = kubernetesMap(
  "nodeTaints",
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
  configContract: z
    .string()
    .regex(/^v?\d+\.\d+(\.\d+)?$/, {
      error: "must be a Talos version such as v1.13: the machine-config contract the cluster keeps",
    })
    .optional(),
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
      snapshotDir: z
        .string()
        .min(1, { error: "must be a folder path; leave it out for the default" })
        .refine((s) => path.posix.normalize(s) !== "/", {
          error: (iss) =>
            `${JSON.stringify(iss.input)} is the root folder: the snapshots (every secret of the cluster) need a folder of their own, e.g. /var/lib/homelab/etcd-snapshots, or leave it out for the default`,
        })
        .optional(),
      keepSnapshots: intish
        .pipe(
          z
            .number()
            .min(1, { error: "must be at least 1: the snapshot taken before an upgrade is the way back" }),
        )
        .optional(),
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
