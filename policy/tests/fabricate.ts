/**
 * Fabricated policy arguments, shaped like the ones the Pulumi engine hands a policy pack (see
 * `@pulumi/policy`'s `ResourceValidationArgs`): inputs behind the same unknown-checking proxy, options with the
 * engine's defaults, and the provider resource with its inputs.
 */
import {
  unknownCheckingProxy,
  type PolicyProviderResource,
  type PolicyResourceOptions,
  type ResourceValidationArgs,
  type ResourceValidationPolicy,
} from "@pulumi/policy";
import * as fs from "fs";
import * as path from "path";
import { TALOS_PROVIDER_VERSION } from "../rules/pins";

/** The sentinel the engine sends for a string input that is unknown during preview. */
export const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface Fabricated {
  type: string;
  name?: string;
  props?: Record<string, unknown>;
  opts?: Partial<PolicyResourceOptions>;
  provider?: { type: string; name: string; props?: Record<string, unknown> };
  config?: Record<string, unknown>;
}

export function resourceArgs(r: Fabricated): ResourceValidationArgs {
  const name = r.name ?? "res";
  const provider: PolicyProviderResource | undefined = r.provider && {
    type: r.provider.type,
    name: r.provider.name,
    urn: `urn:pulumi:home::homelab::${r.provider.type}::${r.provider.name}`,
    props: unknownCheckingProxy(r.provider.props ?? {}),
  };
  return {
    type: r.type,
    name,
    urn: `urn:pulumi:home::homelab::${r.type}::${name}`,
    props: unknownCheckingProxy(r.props ?? {}),
    opts: {
      protect: false,
      ignoreChanges: [],
      aliases: [],
      additionalSecretOutputs: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      ...r.opts,
    },
    provider,
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => (r.config ?? {}) as T,
    notApplicable: (reason?: string) => {
      throw new Error(`not applicable: ${reason ?? ""}`);
    },
  };
}

/** Runs one rule against one fabricated resource and returns the violation messages. */
export async function violations(policy: ResourceValidationPolicy, r: Fabricated): Promise<string[]> {
  const found: string[] = [];
  const validations = Array.isArray(policy.validateResource)
    ? policy.validateResource
    : policy.validateResource
      ? [policy.validateResource]
      : [];
  for (const validate of validations) {
    await validate(resourceArgs(r), (message) => found.push(message));
  }
  return found;
}

/** A Talos-generated machine configuration, trimmed to what the rules read. */
export function machineConfig(
  opts: { installer?: string; kubelet?: string; apiServer?: string } = {},
): string {
  const installer = opts.installer ?? "ghcr.io/siderolabs/installer:v1.13.9";
  const kubelet = opts.kubelet ?? "ghcr.io/siderolabs/kubelet:v1.36.0";
  const apiServer = opts.apiServer ?? "registry.k8s.io/kube-apiserver:v1.36.0";
  return [
    "version: v1alpha1",
    "machine:",
    "  type: controlplane",
    ...(kubelet === "" ? [] : ["  kubelet:", `    image: ${kubelet}`]),
    ...(installer === "" ? [] : ["  install:", "    disk: /dev/sda", `    image: ${installer}`]),
    "cluster:",
    "  apiServer:",
    `    image: ${apiServer}`,
    "---",
    "apiVersion: v1alpha1",
    "kind: HostnameConfig",
    "auto: stable",
    "",
  ].join("\n");
}

const rootPackageJson = JSON.parse(
  fs.readFileSync(path.resolve(__dirname, "..", "..", "package.json"), "utf8"),
) as { dependencies: Record<string, string> };
/** The project's dependencies as package.json pins them. */
export const ROOT_DEPENDENCIES = rootPackageJson.dependencies;
/** The Kubernetes SDK version the program pins (its provider resources carry it). */
export const K8S_VERSION = ROOT_DEPENDENCIES["@pulumi/kubernetes"];

/** The Talos provider resource the engine registers for the program's default provider. */
export const talosProvider = (version = TALOS_PROVIDER_VERSION) => ({
  type: "pulumi:providers:talos",
  name: "default_0_8_1_github_/api.github.com/pulumiverse",
  props: { version },
});
/** An explicit Kubernetes provider resource as the program registers it. */
export const k8sProvider = (version = K8S_VERSION, name = "k8s") => ({
  type: "pulumi:providers:kubernetes",
  name,
  props: { version, kubeconfig: "apiVersion: v1\nkind: Config\n" },
});
