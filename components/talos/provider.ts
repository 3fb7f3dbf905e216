/**
 * Typed bindings to the pulumiverse Talos provider (pulumiverse/pulumi-talos v0.8.1).
 *
 * `@pulumiverse/talos` is not available from the registry this project builds against, so the few
 * resources and functions the program uses are declared here against the provider's own tokens. Every
 * token and property name comes from the provider's Pulumi schema (tag v0.8.1,
 * `provider/cmd/pulumi-resource-talos/schema.json`); `tests/provider-contract.test.ts` checks them against
 * a structure-only copy of it. Swapping in the official SDK later means replacing this one file.
 *
 * The version and plugin download URL are pinned on every resource and invoke so the Pulumi engine
 * acquires exactly that plugin on the operator's machine.
 */
import * as pulumi from "@pulumi/pulumi";

/** The provider release these bindings are written against. */
export const TALOS_PROVIDER_VERSION = "0.8.1";
/** Where the engine downloads the `pulumi-resource-talos` plugin from. */
export const TALOS_PLUGIN_DOWNLOAD_URL = "github://api.github.com/pulumiverse";

/** Resource and function tokens, exactly as the provider schema spells them. */
export const TOKENS = {
  secrets: "talos:machine/secrets:Secrets",
  configurationApply: "talos:machine/configurationApply:ConfigurationApply",
  bootstrap: "talos:machine/bootstrap:Bootstrap",
  kubeconfig: "talos:cluster/kubeconfig:Kubeconfig",
  schematic: "talos:imageFactory/schematic:Schematic",
  getMachineConfiguration: "talos:machine/getConfiguration:getConfiguration",
  getClientConfiguration: "talos:client/getConfiguration:getConfiguration",
  getHealth: "talos:cluster/getHealth:getHealth",
} as const;

const pinned = { version: TALOS_PROVIDER_VERSION, pluginDownloadURL: TALOS_PLUGIN_DOWNLOAD_URL };

function withPin(opts?: pulumi.CustomResourceOptions): pulumi.CustomResourceOptions {
  return pulumi.mergeOptions(opts, pinned);
}

function invokePinned<T>(
  token: string,
  args: pulumi.Inputs,
  opts?: pulumi.InvokeOutputOptions,
): pulumi.Output<T> {
  return pulumi.runtime.invokeOutput<T>(token, args, { ...opts, ...pinned });
}

// ---------------------------------------------------------------------------------------------------
// Shared types
// ---------------------------------------------------------------------------------------------------

/** Talos API client credentials (`talos:machine/generated:ClientConfiguration`). */
export interface ClientConfiguration {
  caCertificate: string;
  clientCertificate: string;
  clientKey: string;
}

/** Input form of {@link ClientConfiguration}. */
export interface ClientConfigurationArgs {
  caCertificate: pulumi.Input<string>;
  clientCertificate: pulumi.Input<string>;
  clientKey: pulumi.Input<string>;
}

interface Certificate {
  cert: string;
  key: string;
}

/** The cluster's PKI and tokens (`talos:machine/generated:MachineSecrets`). */
export interface MachineSecrets {
  certs: {
    etcd: Certificate;
    k8s: Certificate;
    k8sAggregator: Certificate;
    k8sServiceaccount: { key: string };
    os: Certificate;
  };
  cluster: { id: string; secret: string };
  secrets: { bootstrapToken: string; secretboxEncryptionSecret: string; aescbcEncryptionSecret?: string };
  trustdinfo: { token: string };
}

/** Create/update/delete timeouts as Go durations, e.g. `"10m"` (`talos:machine/Timeout:Timeout`). */
export interface TimeoutsArgs {
  create?: pulumi.Input<string>;
  update?: pulumi.Input<string>;
  delete?: pulumi.Input<string>;
}

// ---------------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------------

/** Inputs of `talos:machine/secrets:Secrets`. */
export interface SecretsArgs {
  /** Talos version whose secret bundle format to generate, e.g. `v1.13.9`. Provider default: its own machinery version. */
  talosVersion?: pulumi.Input<string>;
}

/** The machine secrets: the cluster's CA keys and tokens. Losing them is losing the cluster. */
export class Secrets extends pulumi.CustomResource {
  declare public readonly clientConfiguration: pulumi.Output<ClientConfiguration>;
  declare public readonly machineSecrets: pulumi.Output<MachineSecrets>;
  declare public readonly talosVersion: pulumi.Output<string>;

  constructor(name: string, args: SecretsArgs = {}, opts?: pulumi.CustomResourceOptions) {
    super(
      TOKENS.secrets,
      name,
      { talosVersion: args.talosVersion, clientConfiguration: undefined, machineSecrets: undefined },
      pulumi.mergeOptions(withPin(opts), {
        additionalSecretOutputs: ["clientConfiguration", "machineSecrets"],
      }),
    );
  }
}

/** `onDestroy` of a configuration apply (`talos:machine/ConfigurationApplyOnDestroy`). */
export interface OnDestroyArgs {
  /** Reset the node (wipe STATE and EPHEMERAL) when the resource is destroyed. Provider default: false. */
  reset?: pulumi.Input<boolean>;
  /** Leave etcd and drain before the reset. Provider default: true. */
  graceful?: pulumi.Input<boolean>;
  /** Reboot after the reset instead of halting. Provider default: false. */
  reboot?: pulumi.Input<boolean>;
}

/** Inputs of `talos:machine/configurationApply:ConfigurationApply`. */
export interface ConfigurationApplyArgs {
  /** Address of the node to configure. */
  node: pulumi.Input<string>;
  /** Address to reach the node through. Provider default: `node`. */
  endpoint?: pulumi.Input<string>;
  /** Credentials used once the node has left maintenance mode. */
  clientConfiguration: pulumi.Input<ClientConfigurationArgs>;
  /** The role's generated machine configuration (secret). */
  machineConfigurationInput: pulumi.Input<string>;
  /** Strategic-merge YAML patches applied on top of `machineConfigurationInput`. */
  configPatches?: pulumi.Input<pulumi.Input<string>[]>;
  /** `auto` | `reboot` | `no_reboot` | `staged` | `staged_if_needing_reboot`. Provider default: `auto`. */
  applyMode?: pulumi.Input<string>;
  /** What happens to the node when this resource is destroyed. */
  onDestroy?: pulumi.Input<OnDestroyArgs>;
  /** Provider default: 10m create and update. */
  timeouts?: pulumi.Input<TimeoutsArgs>;
}

/** Applies a machine configuration to one node (insecurely while in maintenance mode, then over mTLS). */
export class ConfigurationApply extends pulumi.CustomResource {
  declare public readonly node: pulumi.Output<string>;
  declare public readonly endpoint: pulumi.Output<string>;
  declare public readonly machineConfiguration: pulumi.Output<string>;
  declare public readonly machineConfigurationHash: pulumi.Output<string>;
  declare public readonly resolvedApplyMode: pulumi.Output<string>;

  constructor(name: string, args: ConfigurationApplyArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      TOKENS.configurationApply,
      name,
      {
        node: args.node,
        endpoint: args.endpoint,
        clientConfiguration: args.clientConfiguration,
        machineConfigurationInput: args.machineConfigurationInput
          ? pulumi.secret(args.machineConfigurationInput)
          : undefined,
        configPatches: args.configPatches,
        applyMode: args.applyMode,
        onDestroy: args.onDestroy,
        timeouts: args.timeouts,
        machineConfiguration: undefined,
        machineConfigurationHash: undefined,
        resolvedApplyMode: undefined,
      },
      pulumi.mergeOptions(withPin(opts), {
        additionalSecretOutputs: ["machineConfiguration", "machineConfigurationInput", "clientConfiguration"],
      }),
    );
  }
}

/** Inputs of `talos:machine/bootstrap:Bootstrap`. */
export interface BootstrapArgs {
  /** Control-plane node that bootstraps etcd. */
  node: pulumi.Input<string>;
  /** Address to reach it through. Provider default: `node`. */
  endpoint?: pulumi.Input<string>;
  clientConfiguration: pulumi.Input<ClientConfigurationArgs>;
  /** Provider default: 10m. */
  timeouts?: pulumi.Input<{ create?: pulumi.Input<string> }>;
}

/** Bootstraps etcd on one control plane. Talos refuses a second bootstrap, so this must never be replaced. */
export class Bootstrap extends pulumi.CustomResource {
  declare public readonly node: pulumi.Output<string>;
  declare public readonly endpoint: pulumi.Output<string>;

  constructor(name: string, args: BootstrapArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      TOKENS.bootstrap,
      name,
      {
        node: args.node,
        endpoint: args.endpoint,
        clientConfiguration: args.clientConfiguration,
        timeouts: args.timeouts,
      },
      pulumi.mergeOptions(withPin(opts), { additionalSecretOutputs: ["clientConfiguration"] }),
    );
  }
}

/** Inputs of `talos:cluster/kubeconfig:Kubeconfig`. */
export interface KubeconfigArgs {
  /** Control-plane node to fetch the admin kubeconfig from. */
  node: pulumi.Input<string>;
  endpoint?: pulumi.Input<string>;
  clientConfiguration: pulumi.Input<ClientConfigurationArgs>;
  /** Re-fetch when the client certificate expires within this duration. Provider default: `720h`. */
  certificateRenewalDuration?: pulumi.Input<string>;
  /** Provider default: 10m. */
  timeouts?: pulumi.Input<{ create?: pulumi.Input<string>; update?: pulumi.Input<string> }>;
}

/** The cluster's admin kubeconfig, renewed by the provider before its certificate expires. */
export class Kubeconfig extends pulumi.CustomResource {
  declare public readonly kubeconfigRaw: pulumi.Output<string>;
  declare public readonly kubernetesClientConfiguration: pulumi.Output<{
    host: string;
    caCertificate: string;
    clientCertificate: string;
    clientKey: string;
  }>;

  constructor(name: string, args: KubeconfigArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      TOKENS.kubeconfig,
      name,
      {
        node: args.node,
        endpoint: args.endpoint,
        clientConfiguration: args.clientConfiguration,
        certificateRenewalDuration: args.certificateRenewalDuration,
        timeouts: args.timeouts,
        kubeconfigRaw: undefined,
        kubernetesClientConfiguration: undefined,
      },
      pulumi.mergeOptions(withPin(opts), {
        additionalSecretOutputs: ["kubeconfigRaw", "kubernetesClientConfiguration", "clientConfiguration"],
      }),
    );
  }
}

/** Inputs of `talos:imageFactory/schematic:Schematic`. */
export interface SchematicArgs {
  /** The schematic as YAML (`customization.systemExtensions.officialExtensions`, ...). */
  schematic: pulumi.Input<string>;
}

/** Registers a schematic with the Image Factory; its id names the installer image. */
export class Schematic extends pulumi.CustomResource {
  /** The schematic id (the resource id). */
  declare public readonly id: pulumi.Output<string>;
  declare public readonly schematic: pulumi.Output<string>;

  constructor(name: string, args: SchematicArgs, opts?: pulumi.CustomResourceOptions) {
    super(TOKENS.schematic, name, { schematic: args.schematic }, withPin(opts));
  }
}

// ---------------------------------------------------------------------------------------------------
// Functions
// ---------------------------------------------------------------------------------------------------

/** Inputs of `talos:machine/getConfiguration:getConfiguration`. */
export interface GetMachineConfigurationArgs {
  clusterName: pulumi.Input<string>;
  /** `https://host:port` of the Kubernetes API. */
  clusterEndpoint: pulumi.Input<string>;
  machineSecrets: pulumi.Input<MachineSecrets>;
  /** `controlplane` or `worker`. */
  machineType: pulumi.Input<"controlplane" | "worker">;
  /** Config contract, e.g. `v1.13.9`. Provider default: its machinery version. */
  talosVersion?: pulumi.Input<string>;
  /** Kubernetes version baked into the config, e.g. `1.36.0`. Provider default: machinery default. */
  kubernetesVersion?: pulumi.Input<string>;
  /** Strategic-merge YAML patches. */
  configPatches?: pulumi.Input<pulumi.Input<string>[]>;
  /** Include documentation comments. Provider default: false. */
  docs?: pulumi.Input<boolean>;
  /** Include commented examples. Provider default: false. */
  examples?: pulumi.Input<boolean>;
}

export interface GetMachineConfigurationResult {
  readonly id: string;
  /** The rendered machine configuration (secret). */
  readonly machineConfiguration: string;
}

/** Renders a machine configuration for one role. Pure: no node is contacted. */
export function getMachineConfigurationOutput(
  args: GetMachineConfigurationArgs,
  opts?: pulumi.InvokeOutputOptions,
): pulumi.Output<GetMachineConfigurationResult> {
  return invokePinned(
    TOKENS.getMachineConfiguration,
    {
      clusterName: args.clusterName,
      clusterEndpoint: args.clusterEndpoint,
      machineSecrets: args.machineSecrets,
      machineType: args.machineType,
      talosVersion: args.talosVersion,
      kubernetesVersion: args.kubernetesVersion,
      configPatches: args.configPatches,
      docs: args.docs,
      examples: args.examples,
    },
    opts,
  );
}

/** Inputs of `talos:client/getConfiguration:getConfiguration`. */
export interface GetClientConfigurationArgs {
  clusterName: pulumi.Input<string>;
  clientConfiguration: pulumi.Input<ClientConfigurationArgs>;
  /** Talos API endpoints: control-plane addresses (never the VIP). */
  endpoints?: pulumi.Input<pulumi.Input<string>[]>;
  /** Default target nodes. */
  nodes?: pulumi.Input<pulumi.Input<string>[]>;
}

export interface GetClientConfigurationResult {
  readonly id: string;
  /** The rendered talosconfig (secret). */
  readonly talosConfig: string;
}

/** Renders a talosconfig for `talosctl`. */
export function getClientConfigurationOutput(
  args: GetClientConfigurationArgs,
  opts?: pulumi.InvokeOutputOptions,
): pulumi.Output<GetClientConfigurationResult> {
  return invokePinned(
    TOKENS.getClientConfiguration,
    {
      clusterName: args.clusterName,
      clientConfiguration: args.clientConfiguration,
      endpoints: args.endpoints,
      nodes: args.nodes,
    },
    opts,
  );
}

/** Inputs of `talos:cluster/getHealth:getHealth`. */
export interface GetHealthArgs {
  clientConfiguration: pulumi.Input<ClientConfigurationArgs>;
  controlPlaneNodes: pulumi.Input<pulumi.Input<string>[]>;
  workerNodes?: pulumi.Input<pulumi.Input<string>[]>;
  /** Talos API endpoints (control planes). */
  endpoints: pulumi.Input<pulumi.Input<string>[]>;
  /** Only run the pre-boot checks (etcd, apid, ...). Provider default: false. */
  skipKubernetesChecks?: pulumi.Input<boolean>;
  /** Provider default: `{ read: "10m" }`. */
  timeouts?: pulumi.Input<{ read?: pulumi.Input<string> }>;
}

export interface GetHealthResult {
  readonly id: string;
}

/** Waits until the cluster passes Talos's health checks; fails with the checks' report on timeout. */
export function getHealthOutput(
  args: GetHealthArgs,
  opts?: pulumi.InvokeOutputOptions,
): pulumi.Output<GetHealthResult> {
  return invokePinned(
    TOKENS.getHealth,
    {
      clientConfiguration: args.clientConfiguration,
      controlPlaneNodes: args.controlPlaneNodes,
      workerNodes: args.workerNodes,
      endpoints: args.endpoints,
      skipKubernetesChecks: args.skipKubernetesChecks,
      timeouts: args.timeouts,
    },
    opts,
  );
}

/**
 * What the program uses of the provider, for the contract test: every token with the input and output
 * names these bindings send or read.
 */
export const BINDINGS_MANIFEST = {
  resources: {
    [TOKENS.secrets]: {
      inputs: ["talosVersion"],
      outputs: ["clientConfiguration", "machineSecrets", "talosVersion"],
    },
    [TOKENS.configurationApply]: {
      inputs: [
        "node",
        "endpoint",
        "clientConfiguration",
        "machineConfigurationInput",
        "configPatches",
        "applyMode",
        "onDestroy",
        "timeouts",
      ],
      outputs: ["node", "endpoint", "machineConfiguration", "machineConfigurationHash", "resolvedApplyMode"],
    },
    [TOKENS.bootstrap]: {
      inputs: ["node", "endpoint", "clientConfiguration", "timeouts"],
      outputs: ["node", "endpoint"],
    },
    [TOKENS.kubeconfig]: {
      inputs: ["node", "endpoint", "clientConfiguration", "certificateRenewalDuration", "timeouts"],
      outputs: ["kubeconfigRaw", "kubernetesClientConfiguration"],
    },
    [TOKENS.schematic]: { inputs: ["schematic"], outputs: ["schematic"] },
  },
  functions: {
    [TOKENS.getMachineConfiguration]: {
      inputs: [
        "clusterName",
        "clusterEndpoint",
        "machineSecrets",
        "machineType",
        "talosVersion",
        "kubernetesVersion",
        "configPatches",
        "docs",
        "examples",
      ],
      outputs: ["id", "machineConfiguration"],
    },
    [TOKENS.getClientConfiguration]: {
      inputs: ["clusterName", "clientConfiguration", "endpoints", "nodes"],
      outputs: ["id", "talosConfig"],
    },
    [TOKENS.getHealth]: {
      inputs: [
        "clientConfiguration",
        "controlPlaneNodes",
        "workerNodes",
        "endpoints",
        "skipKubernetesChecks",
        "timeouts",
      ],
      outputs: ["id"],
    },
  },
} as const;
