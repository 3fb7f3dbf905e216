/**
 * Pure rollout planning for upgrades: in which order nodes are upgraded, and which version jumps are allowed.
 *
 * Nothing here knows Pulumi resources; `ClusterUpgrade` (index.ts) turns the plan into commands. The shell
 * scripts in ./scripts enforce the same version rules on the versions nodes actually run (the program never
 * knows the running version), and tests/upgrade-plan.test.ts checks that both implementations agree.
 */
import type { ClusterSpec, NodeSpec } from "../config/spec";
import { parseSemver, type Semver } from "../config/versions";

/** One step of the rollout: every node in it is upgraded at the same time, after the previous step is done. */
export interface RolloutStep {
  /** `controlplane` steps always hold exactly one node (etcd quorum); `worker` steps up to the batch size. */
  readonly role: "controlplane" | "worker";
  readonly nodes: readonly NodeSpec[];
}

/**
 * The order of an OS rollout: control planes strictly one at a time (Talos upgrades one control-plane node at
 * a time to keep etcd quorum), then workers in batches of `upgrade.workerBatchSize`, both in stack-file order.
 * Throws when the batch size is not a positive integer (the config schema already refuses it).
 */
export function planRollout(spec: Pick<ClusterSpec, "controlPlanes" | "workers" | "upgrade">): RolloutStep[] {
  const size = spec.upgrade.workerBatchSize;
  if (!Number.isInteger(size) || size < 1) {
    throw new Error(`upgrade.workerBatchSize must be a positive integer, got ${String(size)}`);
  }
  const steps: RolloutStep[] = spec.controlPlanes.map((node) => ({ role: "controlplane", nodes: [node] }));
  for (let i = 0; i < spec.workers.length; i += size) {
    steps.push({ role: "worker", nodes: spec.workers.slice(i, i + size) });
  }
  return steps;
}

function show(v: Semver, withV: boolean): string {
  return `${withV ? "v" : ""}${v.major}.${v.minor}.${v.patch}${v.prerelease ? `-${v.prerelease}` : ""}`;
}

/**
 * Why a node running Talos `from` must not be upgraded straight to `to`, or undefined when the jump is fine.
 *
 * Talos tests upgrades only between adjacent minor releases and recommends going through the latest patch of
 * every intermediate minor (docs.siderolabs.com talos/v1.13 …/lifecycle-management/upgrading-talos,
 * "Supported upgrade paths"), so a jump over a minor is refused with the minor to go through. A move to an
 * older minor is refused too: that is `talosctl rollback`, not an upgrade. Patch moves within a minor, in
 * either direction, are allowed. Same rules as `talos_path_problem` in scripts/versions.sh.
 */
export function checkTalosUpgradePath(from: string, to: string): string | undefined {
  const a = parseSemver(from);
  const b = parseSemver(to);
  if (!a || !b) return `cannot compare Talos versions ${JSON.stringify(from)} and ${JSON.stringify(to)}`;
  if (a.major !== b.major) {
    return `Talos ${show(a, true)} → ${show(b, true)} changes the major version; this rollout only moves between adjacent minors`;
  }
  if (b.minor < a.minor) {
    return (
      `Talos ${show(a, true)} → ${show(b, true)} is a downgrade to an older minor; ` +
      `use \`talosctl rollback\` on the node instead, or set talosVersion back to v${a.major}.${a.minor}.x`
    );
  }
  if (b.minor > a.minor + 1) {
    const via = `v${a.major}.${a.minor + 1}`;
    return (
      `Talos ${show(a, true)} → ${show(b, true)} skips ${via}: Talos upgrades are only tested between adjacent ` +
      `minors. Set talosVersion to the latest ${via}.x patch, run pulumi up, then move on to ${show(b, true)}`
    );
  }
  return undefined;
}

/**
 * Why `talosctl upgrade-k8s` cannot take the cluster from Kubernetes `from` to `to`, or undefined when it can.
 *
 * upgrade-k8s supports a patch move within a minor or one minor up, nothing else (its upgrade-path check in
 * siderolabs/talos lists only `1.N->1.N` and `1.N->1.(N+1)` pairs). Same rules as `k8s_path_problem` in
 * scripts/versions.sh.
 */
export function checkKubernetesUpgradePath(from: string, to: string): string | undefined {
  const a = parseSemver(from);
  const b = parseSemver(to);
  if (!a || !b) return `cannot compare Kubernetes versions ${JSON.stringify(from)} and ${JSON.stringify(to)}`;
  if (a.major !== b.major || b.minor < a.minor) {
    return `Kubernetes ${show(a, false)} → ${show(b, false)} is not an upgrade talosctl upgrade-k8s supports (downgrade or major change)`;
  }
  if (b.minor > a.minor + 1) {
    const via = `${a.major}.${a.minor + 1}`;
    return (
      `Kubernetes ${show(a, false)} → ${show(b, false)} skips ${via}: talosctl upgrade-k8s moves one minor at a ` +
      `time. Set kubernetesVersion to the latest ${via}.x patch, run pulumi up, then move on to ${show(b, false)}`
    );
  }
  return undefined;
}
