/**
 * Calico through the Tigera operator chart, configured as Talos's Calico guide describes
 * (docs.siderolabs.com kubernetes-guides/cni/deploy-calico): VXLAN pools on the pod CIDRs, nftables
 * dataplane, no kubelet volume plugin path (Talos's /usr is read-only).
 */
import * as corev1 from "@pulumi/kubernetes/core/v1";
import * as helm from "@pulumi/kubernetes/helm/v3";
import { CNI_DEFAULTS } from "../config/versions";
import type { CniInstaller } from "./types";

export const installCalico: CniInstaller = ({ name, spec, provider, parent }) => {
  // The operator runs on the host network; Talos enforces the "baseline" Pod Security level by default.
  const namespace = new corev1.Namespace(
    `${name}-tigera-operator`,
    {
      metadata: {
        name: "tigera-operator",
        labels: { "pod-security.kubernetes.io/enforce": "privileged" },
      },
    },
    { parent, provider },
  );
  const release = new helm.Release(
    `${name}-calico`,
    {
      name: "calico",
      chart: CNI_DEFAULTS.calico.chart,
      version: spec.cni.version,
      repositoryOpts: { repo: CNI_DEFAULTS.calico.repo },
      namespace: namespace.metadata.name,
      values: {
        installation: {
          enabled: true,
          kubeletVolumePluginPath: "None",
          calicoNetwork: {
            linuxDataplane: "Nftables",
            bgp: "Disabled",
            ipPools: spec.podSubnets.map((cidr) => ({
              cidr,
              encapsulation: "VXLAN",
              natOutgoing: "Enabled",
              nodeSelector: "all()",
            })),
          },
        },
      },
      timeout: 900,
    },
    { parent, provider },
  );
  return [release];
};
