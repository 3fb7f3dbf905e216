/**
 * Cilium with Talos's recommended values (docs.siderolabs.com kubernetes-guides/cni/deploying-cilium):
 * Kubernetes IPAM, no cgroup automount (Talos mounts cgroup v2), capabilities without SYS_MODULE, and, in
 * the kube-proxy-free variant, the API server reached through KubePrism on localhost.
 */
import * as helm from "@pulumi/kubernetes/helm/v3";
import { CNI_DEFAULTS } from "../config/versions";
import { KUBEPRISM_PORT } from "../machine/patches";
import type { CniInstaller } from "./types";

export const installCilium: CniInstaller = ({ name, spec, provider, parent }) => {
  const kubeProxyFree = spec.cni.kubeProxyReplacement;
  const release = new helm.Release(
    `${name}-cilium`,
    {
      name: "cilium",
      chart: CNI_DEFAULTS.cilium.chart,
      version: spec.cni.version,
      repositoryOpts: { repo: CNI_DEFAULTS.cilium.repo },
      namespace: "kube-system",
      values: {
        ipam: { mode: "kubernetes" },
        kubeProxyReplacement: kubeProxyFree,
        ...(kubeProxyFree ? { k8sServiceHost: "localhost", k8sServicePort: KUBEPRISM_PORT } : {}),
        securityContext: {
          capabilities: {
            ciliumAgent: [
              "CHOWN",
              "KILL",
              "NET_ADMIN",
              "NET_RAW",
              "IPC_LOCK",
              "SYS_ADMIN",
              "SYS_RESOURCE",
              "DAC_OVERRIDE",
              "FOWNER",
              "SETGID",
              "SETUID",
            ],
            cleanCiliumState: ["NET_ADMIN", "SYS_ADMIN", "SYS_RESOURCE"],
          },
        },
        cgroup: { autoMount: { enabled: false }, hostRoot: "/sys/fs/cgroup" },
      },
      timeout: 900,
    },
    { parent, provider },
  );
  return [release];
};
