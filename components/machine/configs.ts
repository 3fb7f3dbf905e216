import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec, NodeRole } from "../config/spec";
import * as talos from "@pulumiverse/talos";
import { canonicalYaml } from "./canonical";
import { rolePatches } from "./patches";

export interface MachineConfigsArgs {
  /** The validated cluster spec. */
  readonly spec: ClusterSpec;
  /** Output of the machine secrets resource. */
  readonly machineSecrets: pulumi.Input<talos.types.input.machine.MachineSecrets>;
  /**
   * The machine-config contract to generate for (`talos_version` of the provider's config data source: it
   * "does not control the installed Talos version"). TalosCluster passes `spec.configContract`, else the
   * Talos version the machine secrets were created with.
   */
  readonly contract: pulumi.Input<string>;
  /** Installer image for install and reinstall (Image Factory or ghcr). */
  readonly installerImage: pulumi.Input<string>;
  /** Resources the generation must wait for (e.g. a finished upgrade), none by default. */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * One machine configuration per role: two invokes however many nodes there are, carrying only what the
 * program generates for the role. Per-node settings and the stack file's patches go into each node's
 * apply, after them (components/machine/patches.ts), so adding a worker never regenerates anything and a
 * stack patch is never undone by a generated setting.
 */
export class MachineConfigs extends pulumi.ComponentResource {
  /** Rendered controlplane config (secret). */
  public readonly controlplane: pulumi.Output<string>;
  /** Rendered worker config (secret). */
  public readonly worker: pulumi.Output<string>;

  constructor(name: string, args: MachineConfigsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:machine:MachineConfigs", name, {}, opts);
    const generate = (role: NodeRole) =>
      pulumi.secret(
        talos.machine
          .getConfigurationOutput(
            {
              clusterName: args.spec.clusterName,
              clusterEndpoint: args.spec.endpoint,
              machineSecrets: args.machineSecrets,
              machineType: role,
              talosVersion: args.contract,
              kubernetesVersion: args.spec.kubernetesVersion,
              configPatches: pulumi
                .output(args.installerImage)
                .apply((image) => rolePatches(args.spec, role, image).map(canonicalYaml)),
              docs: false,
              examples: false,
            },
            { parent: this, dependsOn: args.dependsOn },
          )
          .apply((r) => r.machineConfiguration),
      );
    this.controlplane = generate("controlplane");
    this.worker = generate("worker");
    this.registerOutputs({ controlplane: this.controlplane, worker: this.worker });
  }
}
