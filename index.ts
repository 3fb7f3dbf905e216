// homelab: machines booted from the Talos ISO → a healthy Kubernetes cluster. Wiring only: the stack config
// becomes a validated spec, the spec becomes one TalosCluster, the cluster's results become stack outputs.
import { TalosCluster } from "./components/cluster/talos-cluster";
import { loadClusterSpec } from "./components/config/load";

const spec = loadClusterSpec();
// A fixed name: resource URNs (above all the protected machine secrets') must not follow the cluster name.
const cluster = new TalosCluster("homelab", { spec });

/** Admin kubeconfig (secret): `pulumi stack output kubeconfig --show-secrets > kubeconfig`. */
export const kubeconfig = cluster.kubeconfig;
/** talosconfig (secret): `pulumi stack output talosconfig --show-secrets > talosconfig`. */
export const talosconfig = cluster.talosconfig;
export const endpoint = cluster.endpoint;
export const controlPlaneAddresses = cluster.controlPlaneAddresses;
export const workerAddresses = cluster.workerAddresses;
export const talosVersion = spec.talosVersion;
export const kubernetesVersion = spec.kubernetesVersion;
export const installerImage = cluster.installerImage;
