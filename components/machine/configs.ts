import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec, NodeRole, NodeSpec } from "../config/spec";
import * as talos from "@pulumiverse/talos";
import { canonicalYaml } from "./canonical";
import { nodePatchLayers, rolePatchLayers, rolePatches } from "./patches";
import { derivesFromSecret, secretIfDerived } from "../config/secret-settings";

/**
 * A node apply's `configPatches`: each document as canonical YAML, a secret when it derives from a setting the
 * stack holds secret (`pulumi config set --secret`), so state and the preview diff never show it; the others
 * stay readable, so a reviewer still sees what a change does.
 */
export function nodeConfigPatches(spec: ClusterSpec, node: NodeSpec): pulumi.Input<string>[] {
  return nodePatchLayers(spec, node).map((l) =>
    secretIfDerived(canonicalYaml(l.doc), l.settings, spec.secretSettings),
  );
}

/**
 * Whether any of a node apply's patches derives from a setting held secret. The provider hands `configPatches`
 * back as an output, and the engine keeps a provider's own account of which outputs are secret (pulumi/pulumi
 * pkg/resource/plugin/provider_plugin.go: `annotateSecrets` only for providers that do not accept secrets), so the
 * apply asks for that output as a secret itself.
 */
export function nodePatchesHoldSecrets(spec: ClusterSpec, node: NodeSpec): boolean {
  return nodePatchLayers(spec, node).some((l) => derivesFromSecret(l.settings, spec.secretSettings));
}

/**
 * A role config invoke's `configPatches`. Invoke arguments are kept nowhere, but the SDK makes the result secret
 * when an argument is (it already is: the rendered config holds the machine secrets); marking them keeps
 * the rule the same everywhere.
 */
function roleConfigPatches(
  spec: ClusterSpec,
  role: NodeRole,
  installerImage: pulumi.Input<string>,
): pulumi.Output<string[]> {
  const patches = pulumi
    .output(installerImage)
    .apply((image) => rolePatches(spec, role, image).map(canonicalYaml));
  // Which settings the role's documents come from does not depend on the image.
  const settings = rolePatchLayers(spec, role, "").flatMap((l) => l.settings);
  return derivesFromSecret(settings, spec.secretSettings) ? pulumi.secret(patches) : patches;
}

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
              configPatches: roleConfigPatches(args.spec, role, args.installerImage),
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
