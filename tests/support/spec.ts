/**
 * Hand-built ClusterSpecs for tests of components that take a spec directly. Unlike specs from the config
 * parser, these may name Talos versions the program no longer targets (an old cluster to upgrade from).
 */
import type { ClusterSpec, NodeSpec } from "../../components/config/spec";

/** Control-plane addresses of {@link testSpec} clusters. */
export const CONTROL_PLANE_ADDRESSES = ["10.0.0.1", "10.0.0.2", "10.0.0.3"];
/** Worker addresses of {@link testSpec} clusters, in order (as many as asked for). */
export const WORKER_ADDRESSES = Array.from({ length: 200 }, (_, i) => `10.0.0.${11 + i}`);

export function testNode(name: string, address: string, role: NodeSpec["role"], index: number): NodeSpec {
  return {
    name,
    hostname: name,
    address,
    role,
    installDisk: { path: "/dev/sda" },
    labels: {},
    taints: {},
    patches: [],
    index,
  };
}

export interface TestSpecOptions {
  talosVersion?: string;
  kubernetesVersion?: string;
  /** Number of workers, default 3. */
  workers?: number;
  workerBatchSize?: number;
  snapshotDir?: string;
  nodeTimeout?: string;
}

/** Three control planes `cp-1..3` and `worker-1..n`, flannel, Talos v1.12.6 / Kubernetes 1.35.0 by default. */
export function testSpec(o: TestSpecOptions = {}): ClusterSpec {
  const controlPlanes = CONTROL_PLANE_ADDRESSES.map((a, i) => testNode(`cp-${i + 1}`, a, "controlplane", i));
  const workers = WORKER_ADDRESSES.slice(0, o.workers ?? 3).map((a, i) =>
    testNode(`worker-${i + 1}`, a, "worker", controlPlanes.length + i),
  );
  return {
    clusterName: "home",
    endpoint: "https://10.0.0.1:6443",
    talosVersion: o.talosVersion ?? "v1.12.6",
    kubernetesVersion: o.kubernetesVersion ?? "1.35.0",
    nodes: [...controlPlanes, ...workers],
    controlPlanes,
    workers,
    bootstrapNode: controlPlanes[0],
    cni: { name: "flannel", version: "builtin", kubeProxyReplacement: false },
    podSubnets: ["10.244.0.0/16"],
    serviceSubnets: ["10.96.0.0/12"],
    patches: { all: [], controlplane: [], worker: [] },
    allowSchedulingOnControlPlanes: false,
    extensions: [],
    resetOnDestroy: false,
    upgrade: {
      workerBatchSize: o.workerBatchSize ?? 1,
      snapshotDir: o.snapshotDir ?? "./etcd-snapshots",
      keepSnapshots: 5,
      nodeTimeout: o.nodeTimeout ?? "30m",
    },
    timeouts: { apply: "10m", bootstrap: "10m", kubeconfig: "10m", health: "10m" },
    warnings: [],
  };
}

/** The `homelab:nodes` list of a stack with `cp-1..n` and `worker-1..m` (distinct addresses up to ~60k workers). */
export function stackNodes(
  controlPlanes: number,
  workers: number,
): { name: string; address: string; role: string }[] {
  return [
    ...Array.from({ length: controlPlanes }, (_, i) => ({
      name: `cp-${i + 1}`,
      address: `10.0.0.${i + 1}`,
      role: "controlplane",
    })),
    ...Array.from({ length: workers }, (_, i) => ({
      name: `worker-${i + 1}`,
      address: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`,
      role: "worker",
    })),
  ];
}
