/**
 * Pure builders for the patches the program generates. Role patches go into the two config-generation
 * invokes (one per role); node patches into each node's apply. Generated patches come first so that a
 * user's own patches in the stack file can override them.
 */
import type { ClusterSpec, NodeRole, NodeSpec, PatchDocument } from "../config/spec";

/** KubePrism's port; Talos's default, and what Cilium's kube-proxy-free mode talks to. */
export const KUBEPRISM_PORT = 7445;
/** Name of the link alias the VIP uses when its interface is chosen by a CEL expression. */
export const VIP_LINK_ALIAS = "vip-uplink";

/** Settings every node shares: pod/service networks, CNI prerequisites, KubePrism, the installer image. */
export function clusterPatch(spec: ClusterSpec, image: string): PatchDocument {
  const cluster: Record<string, unknown> = {
    network: {
      podSubnets: [...spec.podSubnets],
      serviceSubnets: [...spec.serviceSubnets],
      // Calico and Cilium are installed by the program after bootstrap; Talos must not deploy flannel.
      ...(spec.cni.name === "flannel" ? {} : { cni: { name: "none" } }),
    },
  };
  if (spec.cni.name === "cilium" && spec.cni.kubeProxyReplacement) cluster.proxy = { disabled: true };
  return {
    machine: {
      install: { image },
      features: { kubePrism: { enabled: true, port: KUBEPRISM_PORT } },
    },
    cluster,
  };
}

/** Control-plane-only settings. */
export function controlPlanePatch(spec: ClusterSpec): PatchDocument {
  return { cluster: { allowSchedulingOnControlPlanes: spec.allowSchedulingOnControlPlanes } };
}

/** The VIP documents (control planes only): a Layer2VIPConfig, preceded by a LinkAliasConfig when selected by CEL. */
export function vipDocuments(spec: ClusterSpec): PatchDocument[] {
  if (!spec.vip) return [];
  const docs: PatchDocument[] = [];
  let link = spec.vip.link;
  if (spec.vip.linkMatch) {
    docs.push({
      apiVersion: "v1alpha1",
      kind: "LinkAliasConfig",
      name: VIP_LINK_ALIAS,
      selector: { match: spec.vip.linkMatch },
    });
    link = VIP_LINK_ALIAS;
  }
  docs.push({ apiVersion: "v1alpha1", kind: "Layer2VIPConfig", name: spec.vip.address, link });
  return docs;
}

/** Every patch for one role's config generation, generated first, then the stack file's. */
export function rolePatches(spec: ClusterSpec, role: NodeRole, image: string): PatchDocument[] {
  const generated =
    role === "controlplane"
      ? [clusterPatch(spec, image), controlPlanePatch(spec), ...vipDocuments(spec)]
      : [clusterPatch(spec, image)];
  return [...generated, ...spec.patches.all, ...spec.patches[role]];
}

/** A node's own documents: static hostname, install disk, labels and taints, then its stack-file patches. */
export function nodePatches(node: NodeSpec): PatchDocument[] {
  const install =
    "path" in node.installDisk
      ? { disk: node.installDisk.path }
      : { diskSelector: { ...node.installDisk.selector } };
  const machine: Record<string, unknown> = { install };
  if (Object.keys(node.labels).length > 0) machine.nodeLabels = { ...node.labels };
  if (Object.keys(node.taints).length > 0) machine.nodeTaints = { ...node.taints };
  return [
    // Talos ≥ 1.12 generates `HostnameConfig{auto: stable}`; a static name replaces it in the same document kind.
    { apiVersion: "v1alpha1", kind: "HostnameConfig", hostname: node.hostname, auto: "off" },
    { machine },
    ...node.patches,
  ];
}
