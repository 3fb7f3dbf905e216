/**
 * The normalized, validated cluster description every component takes. Produced once from stack config by
 * `parseClusterConfig` (components/config/schema.ts); nothing downstream reads raw config.
 */

export type NodeRole = "controlplane" | "worker";
export type CniName = "calico" | "cilium" | "flannel";

/** A YAML object that becomes one strategic-merge patch document (already parsed). */
export type PatchDocument = Record<string, unknown>;

/** A patch document from the stack file, named by its path there (`nodes[1].patches[0]`) for messages. */
export interface StackPatch {
  readonly doc: PatchDocument;
  readonly where: string;
}

/**
 * How much a setting or patch weighs when two of them set the same Talos value. 0: a program default;
 * 1: stack-wide (a cluster setting, `patches.all`); 2: per role (`roles.<role>`, `patches.<role>`);
 * 3: per node (`nodes[i]` settings and patches). A value set at level 1 or more may only be changed by a
 * patch of a higher level; anything else is a conflict the program reports.
 */
export type PatchLevel = 0 | 1 | 2 | 3;

/** Where a value the program generates came from in the stack file, and its level. */
export interface SettingOrigin {
  /** The stack-file path (`nodes[2].installDisk`, `roles.worker.labels.zone`) or what the default is. */
  readonly source: string;
  readonly level: PatchLevel;
}

/** Where a node's generated settings came from (set by the config parser). */
export interface NodeOrigins {
  readonly installDisk: SettingOrigin;
  readonly hostname: SettingOrigin;
  /** By label key. */
  readonly labels: Readonly<Record<string, SettingOrigin>>;
  /** By taint key. */
  readonly taints: Readonly<Record<string, SettingOrigin>>;
}

/**
 * `machine.install.diskSelector` fields (Talos `v1alpha1.InstallDiskSelector`) that Talos can match on.
 * `name` is in Talos's schema but refused by every node ("selector on name is not supported",
 * machinery v1.13.0 config/types/v1alpha1/v1alpha1_provider.go DiskMatchExpression), so it is not here.
 */
export interface DiskSelector {
  readonly size?: string;
  readonly model?: string;
  readonly serial?: string;
  readonly modalias?: string;
  readonly uuid?: string;
  readonly wwid?: string;
  readonly type?: "ssd" | "hdd" | "nvme" | "sd";
  readonly busPath?: string;
}

/** Where Talos installs itself: exactly one of a device path or a selector. */
export type InstallDisk = { readonly path: string } | { readonly selector: DiskSelector };

export interface NodeSpec {
  /** Unique, DNS-safe; names the node's Pulumi resources and is its hostname unless `hostname` says otherwise. */
  readonly name: string;
  readonly hostname: string;
  /** IPv4 or IPv6 address the Talos API answers on. */
  readonly address: string;
  readonly role: NodeRole;
  readonly installDisk: InstallDisk;
  /** Kubernetes node labels (`machine.nodeLabels`). */
  readonly labels: Readonly<Record<string, string>>;
  /** Kubernetes node taints, `key: value:Effect` as Talos's `machine.nodeTaints` takes them. */
  readonly taints: Readonly<Record<string, string>>;
  /** The node's own patches, in stack-file order, each named `nodes[i].patches[j]` for errors. */
  readonly patches: readonly StackPatch[];
  /** Position in the stack file's `nodes` list, for messages (`nodes[3]`). */
  readonly index: number;
  /** Where installDisk, hostname, labels and taints came from; absent: all program defaults. */
  readonly origins?: NodeOrigins;
}

export interface VipSpec {
  /** The shared address, e.g. `192.168.1.9`. */
  readonly address: string;
  /** Link the VIP lives on (e.g. `eth0`, `enp1s0`). Exactly one of `link` or `linkMatch`. */
  readonly link?: string;
  /**
   * CEL expression selecting the link when interface names differ between machines, e.g.
   * `mac(link.permanent_addr) == "00:1a:2b:33:44:55"`; becomes a `LinkAliasConfig` the VIP refers to.
   */
  readonly linkMatch?: string;
}

export interface CniSpec {
  readonly name: CniName;
  /** Chart/app version to deploy; for flannel, unused (Talos ships it). */
  readonly version: string;
  /** Cilium only: replace kube-proxy with eBPF (Talos's recommended setup). Default true. */
  readonly kubeProxyReplacement: boolean;
}

export interface UpgradeSpec {
  /** Workers upgraded at once, after all control planes. Default 1. */
  readonly workerBatchSize: number;
  /**
   * Folder on the machine running `pulumi up` where the pre-upgrade etcd snapshots are kept (a relative path is
   * relative to where pulumi runs). Absent: `${XDG_STATE_HOME:-~/.local/state}/homelab/etcd-snapshots/<project>/<stack>`,
   * outside the checkout (docs/upgrades.md).
   */
  readonly snapshotDir?: string;
  /** How many of this cluster's snapshots the folder keeps (the newest). Default 5. */
  readonly keepSnapshots: number;
  /** `talosctl upgrade --timeout` per node. Default `30m`. */
  readonly nodeTimeout: string;
}

export interface TimeoutsSpec {
  /** Config apply per node (provider default 10m). */
  readonly apply: string;
  /** Bootstrap (provider default 10m). */
  readonly bootstrap: string;
  /** Kubeconfig retrieval (provider default 10m). */
  readonly kubeconfig: string;
  /** Cluster health wait after the CNI (provider default 10m). */
  readonly health: string;
}

export interface ClusterSpec {
  readonly clusterName: string;
  /** Kubernetes API endpoint, `https://host:port`. */
  readonly endpoint: string;
  /** Talos OS version to install and run, normalized with a leading `v` (`v1.13.9`). */
  readonly talosVersion: string;
  /** Kubernetes version, normalized without a leading `v` (`1.36.0`). */
  readonly kubernetesVersion: string;
  /**
   * The machine-config contract (`v1.13`), when the stack sets one. Default: the Talos version the machine
   * secrets were created with, so a running cluster keeps the behaviour it was created with across upgrades
   * (as `talosctl gen config --talos-version`); bumping it is a deliberate, separate change.
   */
  readonly configContract?: string;
  /** All nodes in stack-file order. */
  readonly nodes: readonly NodeSpec[];
  readonly controlPlanes: readonly NodeSpec[];
  readonly workers: readonly NodeSpec[];
  /** The control plane that bootstraps etcd (default: the first control plane). */
  readonly bootstrapNode: NodeSpec;
  readonly vip?: VipSpec;
  readonly cni: CniSpec;
  readonly podSubnets: readonly string[];
  readonly serviceSubnets: readonly string[];
  /** Patches for every node / per role, in stack-file order. */
  readonly patches: {
    readonly all: readonly StackPatch[];
    readonly controlplane: readonly StackPatch[];
    readonly worker: readonly StackPatch[];
  };
  /** Default: true when the cluster has fewer than 3 workers. */
  readonly allowSchedulingOnControlPlanes: boolean;
  /** Set when the stack file sets allowSchedulingOnControlPlanes itself (else it is a default). */
  readonly allowSchedulingOrigin?: SettingOrigin;
  /** Image Factory system extensions (e.g. `siderolabs/iscsi-tools`); empty means the vanilla installer. */
  readonly extensions: readonly string[];
  /** Reset (wipe) a node when it is removed from the stack. Default false: destructive, opt-in. */
  readonly resetOnDestroy: boolean;
  readonly upgrade: UpgradeSpec;
  readonly timeouts: TimeoutsSpec;
  /**
   * Top-level settings (`nodes`, `patches`, ...) that Pulumi holds secret because a value in them was set with
   * `pulumi config set --secret`; every patch built from one reaches the provider as a secret
   * (components/config/secret-settings.ts). Absent: none.
   */
  readonly secretSettings?: readonly string[];
  /** Non-fatal findings (e.g. an even number of control planes), for `pulumi.log.warn`. */
  readonly warnings: readonly string[];
}
