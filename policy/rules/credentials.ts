/** Rules that keep the cluster's keys encrypted and Kubernetes objects pointed at this cluster only. */
import { rule } from "./rule";
import { isDefaultProvider, TYPES } from "./support";

const SECRET_OUTPUTS: Record<string, string[]> = {
  [TYPES.talosSecrets]: ["machineSecrets", "clientConfiguration"],
  [TYPES.talosKubeconfig]: ["kubeconfigRaw", "kubernetesClientConfiguration"],
  [TYPES.talosConfigurationApply]: ["machineConfiguration"],
};

/** Outputs that hold keys must be encrypted in the state, whatever the provider reports about them. */
export const credentialsStaySecret = rule(
  "credentials-stay-secret",
  "Outputs that carry keys (machine secrets, kubeconfig, machine configs) must be marked secret.",
  (args, report) => {
    const required = SECRET_OUTPUTS[args.type];
    if (required === undefined) {
      return;
    }
    const declared = args.opts.additionalSecretOutputs ?? [];
    const missing = required.filter((output) => !declared.includes(output));
    if (missing.length > 0) {
      report(`${args.type} must list ${missing.join(", ")} in additionalSecretOutputs.`);
    }
  },
  { severity: "critical" },
);

/**
 * A Kubernetes resource on the default provider would be applied to whichever cluster the machine running Pulumi
 * has in `~/.kube/config` (on the self-hosted runner, maybe another one). Every Kubernetes resource goes through
 * the explicit provider built from this cluster's kubeconfig.
 */
export const kubernetesExplicitProvider = rule(
  "kubernetes-explicit-provider",
  "Kubernetes resources must use the explicit provider built from this cluster's kubeconfig.",
  (args, report) => {
    if (args.type === "pulumi:providers:kubernetes") {
      if (
        isDefaultProvider(args) ||
        typeof args.props.kubeconfig !== "string" ||
        args.props.kubeconfig === ""
      ) {
        report("The Kubernetes provider must be explicit and be given this cluster's kubeconfig.");
      }
      return;
    }
    if (!args.type.startsWith("kubernetes:") || args.provider === undefined) {
      return;
    }
    if (isDefaultProvider(args.provider)) {
      report(`${args.type} uses the default Kubernetes provider, i.e. the ambient ~/.kube/config.`);
    }
  },
  { severity: "critical" },
);
