/**
 * Rolling reboots for configuration changes that need one.
 *
 * Every config apply uses `applyMode: "staged_if_needing_reboot"`: during the plan the provider dry-runs the
 * apply and resolves `resolvedApplyMode` to "staged" when Talos answers that it needs a reboot, "auto"
 * otherwise (terraform-provider-talos v0.11.0 pkg/talos/talos_machine_configuration_apply_resource.go
 * handleRebootPrevention, dryRunNeedsReboot). A staged configuration takes effect at the next boot (talos
 * v1.13.9 v1alpha1_server.go ApplyConfiguration, case STAGED). So the applies never reboot anything: a change
 * that needs no reboot lands on every node at once, and one that does waits for these commands, which reboot
 * the staged nodes in rollout order: control planes one at a time, each healthy (Talos version, Ready node,
 * etcd member healthy) before the next, then workers in batches (plan.ts `planRollout`).
 *
 * Preview: each command's trigger is {@link rebootTrigger} of its apply, so preview lists a replacement of
 * `…-reboot-<node>` exactly for the nodes whose change resolved to "staged", with the trigger text saying
 * so. When the new configuration itself is unknown at preview (it waits on a replaced upgrade command), the
 * provider cannot dry-run and the trigger is unknown: preview then shows every node's reboot command as a
 * possible replacement, and `up` reboots only the nodes that resolved to "staged".
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { parseSemver } from "../config/versions";
import type { ClusterSpec, NodeSpec } from "../config/spec";
import { commandScript } from "./index";
import { planRollout } from "./plan";

/** What a node's reboot command needs from its config apply (a talos.machine.ConfigurationApply). */
export interface StagedApply extends pulumi.Resource {
  /** "staged" when the apply staged a configuration that needs a reboot, "auto" otherwise. */
  readonly resolvedApplyMode: pulumi.Output<string>;
  /** SHA-256 of the configuration the apply sent: a new staged configuration is a new reboot. */
  readonly machineConfigurationHash: pulumi.Output<string>;
}

/**
 * The trigger of a node's reboot command: names the staged configuration when the apply staged one, and is
 * the same text for every change applied without a reboot (so those never replace the command twice in a
 * row). Read in the preview's diff as the reason for the replacement.
 */
/**
 * Whether applies to a cluster at this Talos version stage the changes that need a reboot: from 1.13, whose
 * maintenance mode answers a dry run with NO_REBOOT; Talos up to 1.12 leaves the mode unset there, read as a
 * reboot, and refuses the staged apply that follows (see lib.sh maintenance_iso_problem).
 */
export function stagedApplies(talosVersion: string): boolean {
  const v = parseSemver(talosVersion);
  return v !== undefined && (v.major > 1 || v.minor >= 13);
}

export function rebootTrigger(resolvedApplyMode: string, configHash: string): string {
  return resolvedApplyMode === "staged"
    ? `reboot to apply staged configuration sha256:${configHash}`
    : "applied without a reboot";
}

/** Environment of one node's staged reboot (all but the talosconfig and the apply's resolved mode). */
export function stagedRebootEnvironment(spec: ClusterSpec, node: NodeSpec): Record<string, string> {
  return {
    NODE: node.address,
    NODE_NAME: node.name,
    NODE_ROLE: node.role,
    CONTROL_PLANES: spec.controlPlanes.map((n) => `${n.name}=${n.address}`).join(" "),
    TARGET_VERSION: spec.talosVersion,
    NODE_TIMEOUT: spec.upgrade.nodeTimeout,
    K8S_ENDPOINT: spec.endpoint,
  };
}

export interface StagedRebootsArgs {
  /** The validated cluster: nodes, rollout order (`upgrade.workerBatchSize`), Talos version, endpoint. */
  readonly spec: ClusterSpec;
  /** Every node's config apply, by node name (each node of `spec.nodes` must have one). */
  readonly applies: Readonly<Record<string, StagedApply>>;
  /** The cluster's talosconfig (YAML); handed to the commands only as a secret environment variable. */
  readonly talosconfig: pulumi.Input<string>;
  /** Seconds a node may take after the reboot to answer, be Ready and (control plane) have etcd healthy. Default 600. */
  readonly healthTimeoutSeconds?: number;
  /** Seconds one talosctl read may take. Default 20. */
  readonly probeTimeoutSeconds?: number;
}

/**
 * One `${name}-reboot-<node>` command per node, chained in rollout order; each reboots its node only when
 * its apply resolved to "staged" (scripts/staged-reboot.sh).
 */
export class StagedReboots extends pulumi.ComponentResource {
  /** Reboot command by node name. */
  public readonly reboots: Readonly<Record<string, command.local.Command>>;
  /** What must finish before the cluster counts as converged: the last step of the chain. */
  public readonly complete: pulumi.Resource[];

  constructor(name: string, args: StagedRebootsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:upgrade:StagedReboots", name, {}, opts);
    const { spec } = args;
    const missing = spec.nodes.filter((n) => args.applies[n.name] === undefined).map((n) => n.name);
    if (missing.length > 0) {
      throw new Error(
        `StagedReboots ${name}: no config apply for node(s) ${missing.join(", ")} (a program bug)`,
      );
    }
    const talosconfig = pulumi.secret(args.talosconfig);
    const tuning = {
      PROBE_TIMEOUT: String(args.probeTimeoutSeconds ?? 20),
      READY_TIMEOUT: String(args.healthTimeoutSeconds ?? 600),
    };
    const reboots: Record<string, command.local.Command> = {};
    let previous: pulumi.Resource[] = [];
    for (const step of planRollout(spec)) {
      // Every node of a step waits for the whole previous step; nodes of one step (a worker batch) reboot
      // side by side. A control-plane step holds one node, so two control planes are never down together.
      const current = step.nodes.map((node) => {
        const apply = args.applies[node.name];
        return new command.local.Command(
          `${name}-reboot-${node.name}`,
          {
            create: commandScript("staged-reboot"),
            interpreter: ["/bin/bash", "-c"],
            environment: {
              ...stagedRebootEnvironment(spec, node),
              ...tuning,
              APPLY_MODE: apply.resolvedApplyMode,
              TALOSCONFIG_DATA: talosconfig,
            },
            triggers: [
              pulumi
                .all([apply.resolvedApplyMode, apply.machineConfigurationHash])
                .apply(([m, h]) => rebootTrigger(m, h)),
            ],
            logging: command.types.enums.local.Logging.StdoutAndStderr,
          },
          // Same reasons as ClusterUpgrade: only the trigger re-runs a command, and a replacement reads fresh
          // inputs (the apply's resolved mode, a renewed talosconfig) from the program.
          { parent: this, dependsOn: [apply, ...previous], ignoreChanges: ["environment", "create"] },
        );
      });
      step.nodes.forEach((node, i) => (reboots[node.name] = current[i]));
      previous = current;
    }
    this.reboots = reboots;
    this.complete = previous;
    this.registerOutputs({});
  }
}
