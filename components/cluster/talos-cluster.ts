import { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";
import * as pulumi from "@pulumi/pulumi";
import { ClusterNetwork } from "../cni";
import type { ClusterSpec, NodeSpec } from "../config/spec";
import { MachineConfigs, nodeConfigPatches, nodePatchesHoldSecrets } from "../machine/configs";
import { installerImage, schematicYaml } from "../machine/image";
import { checkExtensionsOnline, EXTENSION_CHECK_ENV, extensionCheckRequested } from "./extensions-check";
import * as talos from "@pulumiverse/talos";
import { ClusterUpgrade } from "../upgrade";
import { StagedReboots, stagedApplies } from "../upgrade/staged-reboot";
import { ClusterMembership } from "../lifecycle";
import { checkDrift, driftCheckRequested } from "../lifecycle/drift";
import { valueOnly } from "./value-only";

export interface TalosClusterArgs {
  /** The validated, normalized cluster description (from `parseClusterConfig`). */
  readonly spec: ClusterSpec;
}

/**
 * The whole cluster as one graph: machine secrets → per-role configs → one apply per node (all in
 * parallel) → bootstrap once → kubeconfig → membership (nodes that left the stack are decommissioned) → CNI →
 * health. Running it again with the same spec changes nothing; from any partial state it converges.
 */
export class TalosCluster extends pulumi.ComponentResource {
  /** Admin kubeconfig (secret). */
  public readonly kubeconfig: pulumi.Output<string>;
  /** talosconfig for `talosctl`: endpoints = control planes, nodes = all (secret). */
  public readonly talosconfig: pulumi.Output<string>;
  /** Kubernetes API endpoint, `https://host:port`. */
  public readonly endpoint: pulumi.Output<string>;
  public readonly controlPlaneAddresses: pulumi.Output<string[]>;
  public readonly workerAddresses: pulumi.Output<string[]>;
  /** Installer image every node installs and upgrades to. */
  public readonly installerImage: pulumi.Output<string>;
  /** The machine secrets; protected, since losing them is losing the cluster. */
  public readonly secrets: talos.machine.Secrets;
  /** The talosctl rollout (OS upgrades, then Kubernetes) that configuration waits for. */
  public readonly upgrade: ClusterUpgrade;
  /** Config applies by node name. */
  public readonly applies: Readonly<Record<string, talos.machine.ConfigurationApply>>;
  /** Reboots of the nodes whose apply staged a change that needs one, in rollout order. */
  public readonly reboots: StagedReboots;
  public readonly bootstrap: talos.machine.Bootstrap;
  /** Decommissions the nodes that left the stack file (before the health checks); resets every node at teardown. */
  public readonly membership: ClusterMembership;
  public readonly network: ClusterNetwork;
  /**
   * With HOMELAB_CHECK_DRIFT=1, each node's answer to "do you run what the stack renders?"; rejects (failing the
   * run) naming the nodes that do not. Otherwise a note that it was not checked.
   */
  public readonly drift: pulumi.Output<string[]>;
  /**
   * With HOMELAB_CHECK_EXTENSIONS=1 and extensions set, Image Factory's verdict on their names; rejects (failing
   * the run) naming those it does not serve for the Talos version. Otherwise a note that it was not asked.
   */
  public readonly extensionCheck: pulumi.Output<string>;
  /** Talos health-check id once the cluster passed it after the CNI (unknown during preview). */
  public readonly health: pulumi.Output<string | undefined>;

  constructor(name: string, args: TalosClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:cluster:TalosCluster", name, {}, opts);
    const { spec } = args;
    const controlPlaneAddresses = spec.controlPlanes.map((n) => n.address);
    const allAddresses = spec.nodes.map((n) => n.address);

    this.secrets = new talos.machine.Secrets(
      `${name}-secrets`,
      { talosVersion: spec.talosVersion },
      // A new bundle would be a new cluster CA: nothing may replace it, not even a Talos bump.
      {
        parent: this,
        protect: true,
        ignoreChanges: ["talosVersion"],
        // The provider returns the keys inside these as secrets; asking for the whole outputs keeps them secret
        // whatever a provider release does (the generated SDK lists only top-level secret outputs).
        additionalSecretOutputs: ["machineSecrets", "clientConfiguration"],
      },
    );
    const clientConfiguration = this.secrets.clientConfiguration;

    const schematic =
      spec.extensions.length > 0
        ? new talos.imagefactory.Schematic(
            `${name}-schematic`,
            { schematic: schematicYaml(spec.extensions) },
            // The provider's Update posts the new schematic and changes its Terraform id in place
            // (terraform-provider-talos talos_image_factory_schematic_resource.go Update), but a Pulumi update
            // keeps the resource's ID (pulumi/pulumi pkg/resource/deploy/step.go UpdateStep.Apply): the
            // installer image would keep the old schematic and no node would move. A replacement gets the new ID.
            { parent: this, replaceOnChanges: ["schematic"] },
          )
        : undefined;
    // Kept out of registerOutputs for the reason given at `drift` below.
    this.extensionCheck =
      spec.extensions.length > 0 && extensionCheckRequested()
        ? checkExtensionsOnline(spec.extensions, spec.talosVersion, this)
        : pulumi.output(
            spec.extensions.length > 0 ? `not asked (set ${EXTENSION_CHECK_ENV}=1)` : "no extensions",
          );
    this.installerImage = schematic
      ? schematic.id.apply((id) => installerImage(spec.talosVersion, id))
      : pulumi.output(installerImage(spec.talosVersion));

    this.talosconfig = pulumi.secret(
      talos.client
        .getConfigurationOutput(
          {
            clusterName: spec.clusterName,
            clientConfiguration,
            endpoints: controlPlaneAddresses,
            nodes: allAddresses,
          },
          { parent: this },
        )
        .apply((r) => r.talosConfig),
    );

    // Configuration follows the rollout: `upgrade-k8s` must move the components before an apply carries
    // the new Kubernetes version (or every kubelet would restart at once), and a new Talos contract's
    // config belongs on nodes already running that Talos. On a new cluster the rollout is a no-op.
    this.upgrade = new ClusterUpgrade(
      `${name}-upgrade`,
      { spec, installerImage: this.installerImage, talosconfig: this.talosconfig },
      { parent: this },
    );

    const configs = new MachineConfigs(
      `${name}-config`,
      {
        spec,
        machineSecrets: this.secrets.machineSecrets,
        // The contract stays what the cluster was created with (the protected secrets ignore later
        // talosVersion changes): moving it with every upgrade would switch new-cluster defaults on in a
        // running cluster. `configContract` in the stack file moves it deliberately.
        contract: spec.configContract ?? this.secrets.talosVersion,
        installerImage: this.installerImage,
        dependsOn: this.upgrade.complete,
      },
      { parent: this },
    );

    const applies: Record<string, talos.machine.ConfigurationApply> = {};
    for (const node of spec.nodes) {
      applies[node.name] = this.applyNode(name, spec, node, configs, clientConfiguration);
    }
    this.applies = applies;
    // A change that needs a reboot is only staged by its apply; these reboot those nodes one control plane at
    // a time, then workers in batches (etcd keeps quorum).
    this.reboots = new StagedReboots(
      `${name}-reboots`,
      { spec, applies, talosconfig: this.talosconfig },
      { parent: this },
    );

    const bootstrapAddress = spec.bootstrapNode.address;
    this.bootstrap = new talos.machine.Bootstrap(
      `${name}-bootstrap`,
      {
        node: bootstrapAddress,
        endpoint: bootstrapAddress,
        clientConfiguration,
        timeouts: { create: spec.timeouts.bootstrap },
      },
      {
        parent: this,
        dependsOn: [applies[spec.bootstrapNode.name]],
        // Talos answers a second bootstrap with AlreadyExists and the provider fails on it: once done, the
        // bootstrap must never be re-run or replaced, whatever changes in the stack file.
        ignoreChanges: ["node", "endpoint", "clientConfiguration", "timeouts"],
        retainOnDelete: true,
      },
    );

    const kubeconfig = new talos.cluster.Kubeconfig(
      `${name}-kubeconfig`,
      {
        node: bootstrapAddress,
        endpoint: bootstrapAddress,
        clientConfiguration,
        timeouts: { create: spec.timeouts.kubeconfig, update: spec.timeouts.kubeconfig },
      },
      {
        parent: this,
        dependsOn: [this.bootstrap],
        additionalSecretOutputs: ["kubernetesClientConfiguration"],
      },
    );
    this.kubeconfig = pulumi.secret(kubeconfig.kubeconfigRaw);

    // After every apply (a renamed node already has its new hostname) and before both health checks, which fail
    // while a removed node's etcd member or Kubernetes Node is still there.
    this.membership = new ClusterMembership(
      `${name}-lifecycle`,
      {
        spec,
        talosconfig: this.talosconfig,
        kubeconfig: this.kubeconfig,
        // Never while a staged reboot is rolling: removing a control plane then could cost etcd its quorum.
        dependsOn: [...Object.values(applies), ...this.reboots.complete, kubeconfig],
      },
      { parent: this },
    );
    const membership = this.membership.command;

    // With CNI `none`, nodes give the CNI about ten minutes before they reboot, and the API server only
    // answers once etcd is healthy: the CNI goes in as soon as the control planes pass Talos's boot checks.
    const controlPlanesBooted = pulumi.runtime.isDryRun()
      ? undefined
      : talos.cluster.getHealthOutput(
          {
            clientConfiguration,
            controlPlaneNodes: controlPlaneAddresses,
            workerNodes: [],
            endpoints: controlPlaneAddresses,
            skipKubernetesChecks: true,
            timeouts: { read: spec.timeouts.health },
          },
          {
            parent: this,
            dependsOn: [kubeconfig, membership, ...spec.controlPlanes.map((n) => applies[n.name])],
          },
        );
    const provider = new KubernetesProvider(
      `${name}-k8s`,
      {
        kubeconfig: valueOnly(
          controlPlanesBooted
            ? pulumi.secret(pulumi.all([this.kubeconfig, controlPlanesBooted]).apply(([k]) => k))
            : this.kubeconfig,
        ),
        enableServerSideApply: true,
      },
      { parent: this },
    );
    this.network = new ClusterNetwork(
      `${name}-cni`,
      { spec, provider },
      {
        parent: this,
        // At teardown the membership step wipes the machines; deleting the CNI's objects from a cluster that is
        // going away would only fail once the API server is gone, so the engine skips their delete then.
        transformations: [
          (t) =>
            t.type.startsWith("kubernetes:")
              ? { props: t.props, opts: pulumi.mergeOptions(t.opts, { deletedWith: membership }) }
              : undefined,
        ],
      },
    );

    // Health is an invoke: it would run (and wait) at every preview. It gates `up` only.
    this.health = pulumi.runtime.isDryRun()
      ? pulumi.output(undefined)
      : talos.cluster
          .getHealthOutput(
            {
              clientConfiguration,
              controlPlaneNodes: controlPlaneAddresses,
              workerNodes: spec.workers.map((n) => n.address),
              endpoints: controlPlaneAddresses,
              timeouts: { read: spec.timeouts.health },
            },
            {
              parent: this,
              dependsOn: [
                ...this.network.ready,
                ...Object.values(applies),
                ...this.reboots.complete,
                kubeconfig,
                membership,
              ],
            },
          )
          .apply((r) => r.id);

    this.endpoint = pulumi.output(spec.endpoint);
    this.controlPlaneAddresses = pulumi.output(controlPlaneAddresses);
    this.workerAddresses = pulumi.output(spec.workers.map((n) => n.address));
    // HOMELAB_CHECK_DRIFT=1 (the nightly drift job): fail, naming every node that does not run what the stack
    // renders. The Output rejects with a RunError, which the runtime reports as the run's error, message only
    // (@pulumi/pulumi cmd/run: unhandled RunError -> log.error(message)); it is kept out of registerOutputs, which
    // would wrap the message in "error serializing property".
    this.drift = driftCheckRequested()
      ? checkDrift({ spec, applies, talosconfig: this.talosconfig }, this)
      : pulumi.output(["not checked (set HOMELAB_CHECK_DRIFT=1)"]);
    this.registerOutputs({
      kubeconfig: this.kubeconfig,
      talosconfig: this.talosconfig,
      endpoint: this.endpoint,
      health: this.health,
    });
  }

  private applyNode(
    name: string,
    spec: ClusterSpec,
    node: NodeSpec,
    configs: MachineConfigs,
    clientConfiguration: pulumi.Input<talos.types.input.machine.ClientConfiguration>,
  ): talos.machine.ConfigurationApply {
    return new talos.machine.ConfigurationApply(
      `${name}-${node.name}`,
      {
        node: node.address,
        endpoint: node.address,
        clientConfiguration,
        machineConfigurationInput: node.role === "controlplane" ? configs.controlplane : configs.worker,
        // Patches built from a setting held secret go out as secrets (state and preview show `[secret]`).
        configPatches: nodeConfigPatches(spec, node),
        // A change that needs a reboot is staged and rebooted node by node (StagedReboots), never all at once
        // (etcd would lose quorum). Talos up to 1.12 answers a maintenance-mode dry run without a mode, which
        // the provider reads as "needs a reboot", and then refuses the staged apply: 1.12 targets keep applying
        // in auto mode (os-upgrade.sh refuses a pre-1.13 ISO under a 1.13+ target).
        applyMode: stagedApplies(spec.talosVersion) ? "staged_if_needing_reboot" : "auto",
        // Never a reset here: the provider would read it from the old state on delete, so a rename (a new apply,
        // then the old one's delete) would wipe the live machine and turning `resetOnDestroy` on while removing a
        // node would reset nothing. Removal and teardown are the membership step's (components/lifecycle).
        onDestroy: { reset: false, graceful: true, reboot: false },
        timeouts: { create: spec.timeouts.apply, update: spec.timeouts.apply },
      },
      {
        parent: this,
        dependsOn: this.upgrade.complete,
        // The inputs keep each secret patch where it is (the preview diff shows the others); the output copy
        // must not come back in plain text.
        ...(nodePatchesHoldSecrets(spec, node) ? { additionalSecretOutputs: ["configPatches"] } : {}),
      },
    );
  }
}
