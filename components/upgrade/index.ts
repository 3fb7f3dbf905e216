/**
 * Declarative upgrades: bump `talosVersion` or `kubernetesVersion` in the stack file and `pulumi up` rolls the
 * cluster (etcd snapshot → control planes one at a time → workers in batches → `talosctl upgrade-k8s` once).
 *
 * How a bump becomes work — and only the right work:
 * - Each command's `triggers` hold exactly what defines its target (node: address + installer image + Talos
 *   version; snapshot: installer image + Talos version; Kubernetes: its version). @pulumi/command 1.2.1 marks
 *   `triggers[*]` replaceOnChanges, so a changed target *replaces* the command, which runs its `create` script.
 *   Preview therefore lists one replacement per node for a Talos bump (plus the snapshot), one for a
 *   Kubernetes bump, and nothing else.
 * - `environment` (including the talosconfig) and the script text are `ignoreChanges`: a renewed client
 *   certificate, a new control-plane endpoint, a different nodeTimeout or an edited script cause no diff. They
 *   are still fresh when a command runs, because the engine re-checks a replacement's inputs from the program
 *   (pulumi/pulumi `step_generator.go`: "If we are going to perform a replacement, we need to recompute the
 *   default values") — unlike an in-place update, which would reuse the frozen values from state (a talosconfig
 *   whose certificate expired a year ago). No command has an `update` path for that reason.
 * - The scripts decide from what the nodes report (maintenance mode, asked with a call Talos serves to an
 *   unauthenticated reader → not configured yet: a new cluster, a new node or a reset one, skip; already at target →
 *   only wait until healthy; else upgrade), so the same `create` serves a new cluster, a bump, and the resume
 *   after a failure (a failed command is not recorded in state, so the next `pulumi up` runs it again, and the
 *   nodes it already upgraded are skipped because their commands succeeded).
 *
 * The commands depend on nothing but their inputs: the lead's TalosCluster makes every config apply wait on
 * {@link ClusterUpgrade.complete}, so a new Talos contract lands on nodes already running that Talos and the
 * applies (which carry the new Kubernetes version) never race upgrade-k8s.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec, NodeSpec } from "../config/spec";
import { planRollout, type RolloutStep } from "./plan";

/** The scripts in ./scripts a command can run. */
export type UpgradeScript = "os-upgrade" | "etcd-snapshot" | "kubernetes-upgrade" | "staged-reboot";

const SCRIPTS_DIR = path.join(__dirname, "scripts");

/**
 * The exact program a command runs with `bash -c`: scripts/versions.sh and scripts/lib.sh followed by the
 * script. One self-contained text (no path to this checkout in state, so moving the project does not change
 * anything); it holds no secret, so preview may show it.
 */
export function commandScript(name: UpgradeScript): string {
  const read = (file: string) => fs.readFileSync(path.join(SCRIPTS_DIR, file), "utf8");
  return [read("versions.sh"), read("lib.sh"), read(`${name}.sh`)].join("\n");
}

/** Environment of one node's OS upgrade (all but the talosconfig). */
export function osUpgradeEnvironment<I extends pulumi.Input<string>>(
  spec: ClusterSpec,
  node: NodeSpec,
  installerImage: I,
): Record<string, string | I> {
  return {
    NODE: node.address,
    NODE_NAME: node.name,
    NODE_ROLE: node.role,
    TARGET_IMAGE: installerImage,
    TARGET_VERSION: spec.talosVersion,
    NODE_TIMEOUT: spec.upgrade.nodeTimeout,
    // talosctl 1.13 drains a 1.13+ node from this machine through the Kubernetes API: checked before touching it.
    K8S_ENDPOINT: spec.endpoint,
  };
}

/**
 * Environment of the pre-rollout etcd snapshot (all but the talosconfig). An empty SNAPSHOT_DIR lets the script
 * choose the default folder, per `scope` (`<project>/<stack>`), under the runner's XDG_STATE_HOME or HOME: no path
 * of one machine lands in the state.
 */
export function snapshotEnvironment<I extends pulumi.Input<string>>(
  spec: ClusterSpec,
  installerImage: I,
  scope = `${pulumi.getProject()}/${pulumi.getStack()}`,
): Record<string, string | I> {
  return {
    CONTROL_PLANES: spec.controlPlanes.map((n) => `${n.name}=${n.address}`).join(" "),
    CLUSTER_NAME: spec.clusterName,
    TARGET_IMAGE: installerImage,
    TARGET_VERSION: spec.talosVersion,
    SNAPSHOT_DIR: spec.upgrade.snapshotDir ?? "",
    SNAPSHOT_SCOPE: scope,
    KEEP_SNAPSHOTS: String(spec.upgrade.keepSnapshots),
    K8S_ENDPOINT: spec.endpoint,
  };
}

/** Environment of the Kubernetes upgrade (all but the talosconfig): it goes through the bootstrap node. */
export function kubernetesUpgradeEnvironment(spec: ClusterSpec): Record<string, string> {
  return {
    CONTROL_PLANE: spec.bootstrapNode.address,
    CONTROL_PLANE_NAME: spec.bootstrapNode.name,
    TARGET_K8S_VERSION: spec.kubernetesVersion,
    TALOS_VERSION: spec.talosVersion,
    K8S_ENDPOINT: spec.endpoint,
  };
}

/**
 * What defines each command's target; a change replaces (re-runs) the command. The node's address is part of
 * its target so a re-addressed node is checked again.
 */
export function osUpgradeTriggers<I extends pulumi.Input<string>>(
  spec: ClusterSpec,
  node: NodeSpec,
  installerImage: I,
) {
  return [node.address, installerImage, spec.talosVersion];
}

/** The snapshot belongs to a Talos target: taken (if a control plane needs it) once per new image. */
export function snapshotTriggers<I extends pulumi.Input<string>>(spec: ClusterSpec, installerImage: I) {
  return [installerImage, spec.talosVersion];
}

/** Only the Kubernetes version: a Talos bump alone never re-runs upgrade-k8s. */
export function kubernetesTriggers(spec: ClusterSpec) {
  return [spec.kubernetesVersion];
}

export interface ClusterUpgradeArgs {
  /** The validated cluster: nodes in rollout order, target versions, `upgrade` settings. */
  readonly spec: ClusterSpec;
  /**
   * Installer image for `spec.talosVersion` (components/machine/image.ts `installerImage`): ghcr before 1.14
   * without a schematic, the Image Factory otherwise. A changed image re-runs every node's upgrade.
   */
  readonly installerImage: pulumi.Input<string>;
  /**
   * The cluster's talosconfig (YAML) with the control planes as endpoints. Handed to the commands as a secret
   * environment variable only; a change to it alone re-runs nothing.
   */
  readonly talosconfig: pulumi.Input<string>;
  /**
   * Seconds a node may take, after `talosctl upgrade --wait` returns, to answer with the new version and
   * report a Ready Kubernetes node. Default 600.
   */
  readonly healthTimeoutSeconds?: number;
  /** Seconds one "does this node answer?" probe may take (an unreachable host would hang on TCP). Default 20. */
  readonly probeTimeoutSeconds?: number;
}

/** Inputs every upgrade command ignores after creation (see the module comment for why). */
const IGNORED = ["environment", "create"];

/**
 * The upgrade rollout of one cluster. Children: `${name}-etcd-snapshot`, `${name}-os-${node}` per node and
 * `${name}-kubernetes`, chained with `dependsOn` in rollout order.
 */
export class ClusterUpgrade extends pulumi.ComponentResource {
  /** The rollout order the commands follow. */
  public readonly steps: readonly RolloutStep[];
  /** Runs first: refuses impossible version jumps and keeps the etcd snapshot. */
  public readonly etcdSnapshot: command.local.Command;
  /** One OS upgrade command per node, by node name, in rollout order. */
  public readonly nodeUpgrades: Readonly<Record<string, command.local.Command>>;
  /** `talosctl upgrade-k8s`, after every OS upgrade. */
  public readonly kubernetesUpgrade: command.local.Command;
  /** What must finish before any config apply: the last command of the rollout (it waits on all others). */
  public readonly complete: pulumi.Resource[];

  constructor(name: string, args: ClusterUpgradeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:upgrade:ClusterUpgrade", name, {}, opts);
    const { spec } = args;
    this.steps = planRollout(spec);
    if (typeof args.installerImage === "string" && !args.installerImage.endsWith(`:${spec.talosVersion}`)) {
      throw new Error(
        `ClusterUpgrade ${name}: installer image ${args.installerImage} is not tagged with talosVersion ${spec.talosVersion}`,
      );
    }

    const image = pulumi.output(args.installerImage);
    const talosconfig = pulumi.secret(args.talosconfig);
    const tuning = {
      PROBE_TIMEOUT: String(args.probeTimeoutSeconds ?? 20),
      READY_TIMEOUT: String(args.healthTimeoutSeconds ?? 600),
    };
    const run = (
      child: string,
      script: UpgradeScript,
      environment: pulumi.Input<Record<string, pulumi.Input<string>>>,
      triggers: pulumi.Input<unknown>[],
      dependsOn: pulumi.Resource[],
    ): command.local.Command =>
      new command.local.Command(
        `${name}-${child}`,
        {
          create: commandScript(script),
          interpreter: ["/bin/bash", "-c"],
          environment,
          triggers,
          // Progress and failures must reach the user; the scripts never print the talosconfig.
          logging: command.types.enums.local.Logging.StdoutAndStderr,
        },
        { parent: this, dependsOn, ignoreChanges: IGNORED },
      );

    this.etcdSnapshot = run(
      "etcd-snapshot",
      "etcd-snapshot",
      { ...snapshotEnvironment(spec, image), ...tuning, TALOSCONFIG_DATA: talosconfig },
      snapshotTriggers(spec, image),
      [],
    );

    const nodeUpgrades: Record<string, command.local.Command> = {};
    let previous: pulumi.Resource[] = [this.etcdSnapshot];
    for (const step of this.steps) {
      // Every node of a step waits for the whole previous step; nodes of one step run side by side.
      const current = step.nodes.map((node) =>
        run(
          `os-${node.name}`,
          "os-upgrade",
          { ...osUpgradeEnvironment(spec, node, image), ...tuning, TALOSCONFIG_DATA: talosconfig },
          osUpgradeTriggers(spec, node, image),
          previous,
        ),
      );
      step.nodes.forEach((node, i) => (nodeUpgrades[node.name] = current[i]));
      previous = current;
    }
    this.nodeUpgrades = nodeUpgrades;

    this.kubernetesUpgrade = run(
      "kubernetes",
      "kubernetes-upgrade",
      {
        ...kubernetesUpgradeEnvironment(spec),
        PROBE_TIMEOUT: tuning.PROBE_TIMEOUT,
        TALOSCONFIG_DATA: talosconfig,
      },
      kubernetesTriggers(spec),
      previous,
    );
    this.complete = [this.kubernetesUpgrade];

    this.registerOutputs({
      rollout: this.steps.map((s) => s.nodes.map((n) => n.name)),
    });
  }
}
