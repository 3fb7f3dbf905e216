/**
 * The upgrade commands' shell programs, executed for real (`bash -c`, exactly the text ClusterUpgrade gives
 * each Command) against tests/fake-talosctl/talosctl, which imitates talosctl 1.13.9 and Talos nodes (its
 * command lines checked against the real flag sets; maintenance mode answering only what os:reader may ask;
 * the LifecycleService upgrade path for 1.13 nodes and the legacy one for 1.12 nodes). Rollout scenarios;
 * the guards (talosctl on PATH, unreachable nodes, the talosconfig) are in upgrade-scripts-guards.test.ts.
 *
 * Every test gets its own fake cluster (the `fc` fixture): own folder, own state, own Kubernetes API listener.
 */
import { describe, expect } from "vitest";
import type { ClusterSpec } from "../components/config/spec";
import { osUpgradeEnvironment } from "../components/upgrade";
import { CONTROL_PLANE_ADDRESSES, WORKER_ADDRESSES, testSpec } from "./support/spec";
import { FakeCluster, installer, it } from "./fake-talosctl/harness";

const CP = CONTROL_PLANE_ADDRESSES;
const WK = WORKER_ADDRESSES.slice(0, 4);

/** A spec for FC's cluster: 3 (or 1) control planes, `workers` workers, its loopback Kubernetes API endpoint. */
function makeSpec(
  fc: FakeCluster,
  o: { talos: string; k8s: string; workers?: number; batch?: number; controlPlanes?: 1 | 3 },
): ClusterSpec {
  const s = testSpec({
    talosVersion: o.talos,
    kubernetesVersion: o.k8s,
    workers: o.workers,
    workerBatchSize: o.batch,
    snapshotDir: fc.snapshots,
  });
  const controlPlanes = s.controlPlanes.slice(0, o.controlPlanes ?? 3);
  return {
    ...s,
    endpoint: fc.kubeEndpoint,
    controlPlanes,
    nodes: [...controlPlanes, ...s.workers],
    bootstrapNode: controlPlanes[0],
  };
}

/** Puts SPEC's nodes into FC's cluster, all running TALOS (configured unless MODE says otherwise). */
function clusterOf(
  fc: FakeCluster,
  spec: ClusterSpec,
  o: { talos: string; k8s: string; client?: string; mode?: "maintenance" },
) {
  fc.cluster({
    ...o,
    controlPlanes: spec.controlPlanes.map((n) => n.address),
    workers: spec.workers.map((n) => n.address),
  });
}

const OS_COMMANDS = ["cp-1", "cp-2", "cp-3", "worker-1", "worker-2", "worker-3"].map((n) => `os-${n}`);

describe("a new cluster: every node booted from the ISO, in maintenance mode", () => {
  it.for([
    ["v1.12.6", "v1.12.11", "1.35.0"],
    ["v1.13.9", "v1.13.9", "1.36.0"],
  ])(
    "(ISO %s, target %s) runs every command once, asks the nodes only what a reader may, and upgrades nothing",
    async ([iso, target, k8s], { fc }) => {
      const spec = makeSpec(fc, { talos: target, k8s });
      clusterOf(fc, spec, { talos: iso, k8s, mode: "maintenance", client: target });

      const up = await fc.pulumiUp(spec, new Map());

      expect(up.failed, JSON.stringify([...up.results])).toBeUndefined();
      expect(up.ran).toEqual(["etcd-snapshot", ...OS_COMMANDS, "kubernetes"]);
      expect(up.results.get("os-cp-1")!.stdout).toContain("cp-1 (10.0.0.1) is in maintenance mode");
      expect(up.results.get("kubernetes")!.stdout).toContain(`bootstrap installs Kubernetes ${k8s}`);
      // Per node: the talosconfig call (refused by the maintenance certificate), then reader calls only.
      for (const a of [...CP, ...WK.slice(0, 3)]) {
        for (const c of fc.callsTo(a))
          expect(c).toMatch(
            /^(--talosconfig <talosconfig> -n \S+ version --short|-n \S+ get machinestatus --insecure -o yaml|-n \S+ version --insecure --short)$/,
          );
      }
      expect(fc.upgradeCalls()).toEqual([]);
      expect(fc.calls().filter((c) => /etcd snapshot|upgrade-k8s/.test(c))).toEqual([]);
      expect(fc.read("upgrades.log")).toBe("");
    },
  );

  it("refuses a node booted from a pre-1.13 ISO under a 1.13 target, before its first (staged) config apply", async ({
    fc,
  }) => {
    const spec = makeSpec(fc, { talos: "v1.13.9", k8s: "1.36.0" });
    clusterOf(fc, spec, { talos: "v1.12.6", k8s: "1.36.0", mode: "maintenance" });

    const up = await fc.pulumiUp(spec, new Map());

    expect(up.failed).toBe("os-cp-1");
    const stderr = up.results.get("os-cp-1")!.stderr;
    expect(stderr).toContain("cp-1 (10.0.0.1)");
    expect(stderr).toMatch(/older than 1\.13.*boot it from the Talos 1\.13 ISO/);
    expect(fc.upgradeCalls()).toEqual([]);
  });
});

describe("a running cluster", () => {
  it("a new worker joining (in maintenance mode) runs only its own command, which leaves it to its config apply", async ({
    fc,
  }) => {
    const before = makeSpec(fc, { talos: "v1.13.9", k8s: "1.36.0" });
    clusterOf(fc, before, { talos: "v1.13.9", k8s: "1.36.0" });
    const stack = fc.converged(before);
    fc.setNode(WK[3], { version: "v1.13.9", mode: "maintenance", role: "worker" });

    const up = await fc.pulumiUp(makeSpec(fc, { talos: "v1.13.9", k8s: "1.36.0", workers: 4 }), stack);

    expect(up.failed).toBeUndefined();
    expect(up.ran).toEqual(["os-worker-4"]);
    expect(up.results.get("os-worker-4")!.stdout).toContain("is in maintenance mode (not configured yet)");
    expect(fc.calls()).toEqual([
      "version --client --short",
      `--talosconfig <talosconfig> -n ${WK[3]} version --short`,
      `-n ${WK[3]} get machinestatus --insecure -o yaml`,
      // Its ISO is 1.13 (a reader may ask its version), so its first apply may be staged.
      `-n ${WK[3]} version --insecure --short`,
    ]);
  });

  it("a Talos bump with a control plane reinstalled into maintenance mode upgrades the others and leaves it to its config apply", async ({
    fc,
  }) => {
    const before = makeSpec(fc, { talos: "v1.13.2", k8s: "1.36.0" });
    clusterOf(fc, before, { talos: "v1.13.2", k8s: "1.36.0" });
    const stack = fc.converged(before);
    fc.setNode(CP[1], { mode: "maintenance", version: "v1.13.9" });

    const up = await fc.pulumiUp(makeSpec(fc, { talos: "v1.13.9", k8s: "1.36.0" }), stack);

    expect(up.failed, JSON.stringify([...up.results])).toBeUndefined();
    expect(up.results.get("etcd-snapshot")!.stdout).toContain("cp-2 (10.0.0.2) is in maintenance mode");
    expect(up.results.get("os-cp-2")!.stdout).toContain(
      "its config apply installs ghcr.io/siderolabs/installer:v1.13.9",
    );
    expect(fc.upgradedNodes()).toEqual([CP[0], CP[2], ...WK.slice(0, 3)]);
    expect(fc.callsTo(CP[1]).some((c) => / upgrade |etcd/.test(c))).toBe(false);
  });
});

describe("Talos 1.12 -> 1.13.9 (the README's example): talosctl 1.13 falls back to the legacy upgrade API", () => {
  it.for([3, 1] as const)(
    "with %i control plane(s): snapshot, then each node upgraded and healthy before the next",
    async (cps, { fc }) => {
      const before = makeSpec(fc, { talos: "v1.12.6", k8s: "1.35.0", controlPlanes: cps });
      clusterOf(fc, before, { talos: "v1.12.6", k8s: "1.35.0", client: "v1.12.6" });
      const stack = fc.converged(before);
      fc.write("client-version", "v1.13.9\n");
      const spec = makeSpec(fc, { talos: "v1.13.9", k8s: "1.35.0", controlPlanes: cps });
      const nodes = spec.nodes.map((n) => n.address);

      const up = await fc.pulumiUp(spec, stack);

      expect(up.failed, JSON.stringify([...up.results])).toBeUndefined();
      expect(up.ran).not.toContain("kubernetes");
      expect(fc.upgradedNodes()).toEqual(nodes);
      for (const c of fc.upgradeCalls())
        expect(c).toMatch(
          / upgrade --image ghcr\.io\/siderolabs\/installer:v1\.13\.9 --wait --drain --timeout 30m --progress plain$/,
        );
      // The legacy call: preserve=false, the node drains itself; nothing drains from this machine.
      expect(fc.lines("upgrades.log").filter((l) => l.startsWith("start"))).toEqual(
        nodes.map((a) => `start ${a} legacy preserve=false`),
      );
      expect(fc.lines("drains.log")).toEqual(nodes.map((a) => `drain ${a} node`));
      const log = fc.calls();
      const snapshotAt = log.findIndex((c) => c.includes("etcd snapshot"));
      expect(snapshotAt).toBeGreaterThanOrEqual(0);
      expect(snapshotAt).toBeLessThan(log.findIndex((c) => c.includes(" upgrade --image")));
      // Between two upgrades the previous node was seen healthy: new version, Ready, etcd for a control plane.
      const upgrades = log.flatMap((c, i) => (c.includes(" upgrade --image") ? [i] : []));
      upgrades.slice(1).forEach((at, k) => {
        const prev = nodes[k];
        const between = log.slice(upgrades[k] + 1, at);
        expect(between).toContain(`--talosconfig <talosconfig> -n ${prev} version --short`);
        expect(between).toContain(`--talosconfig <talosconfig> -n ${prev} get nodestatuses -o yaml`);
        if (k < cps)
          expect(between).toContain(`--talosconfig <talosconfig> -n ${prev} get services etcd -o yaml`);
      });
      for (const a of nodes) expect(fc.versionOf(a)).toBe("v1.13.9");
      const files = fc.snapshotFiles();
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/^home-\d{8}T\d{6}Z-pre-v1\.13\.9\.db$/);
      expect(fc.snapshotModes()).toEqual({ dir: 0o700, file: 0o600 });
    },
  );

  it("refuses a jump over a minor before touching anything, naming the node and the minor to go through", async ({
    fc,
  }) => {
    const before = makeSpec(fc, { talos: "v1.11.5", k8s: "1.34.0" });
    clusterOf(fc, before, { talos: "v1.11.5", k8s: "1.34.0", client: "v1.11.5" });
    const stack = fc.converged(before);
    fc.write("client-version", "v1.13.9\n");

    const up = await fc.pulumiUp(makeSpec(fc, { talos: "v1.13.9", k8s: "1.34.0" }), stack);

    expect(up.failed).toBe("etcd-snapshot");
    const { stderr } = up.results.get("etcd-snapshot")!;
    expect(stderr).toContain("upgrade of node cp-1 (10.0.0.1) failed: refused");
    expect(stderr).toContain("skips v1.12");
    expect(fc.upgradeCalls()).toEqual([]);
    expect(fc.snapshotFiles()).toEqual([]);
  });
});

describe("a Talos 1.13 patch bump: talosctl upgrades through the LifecycleService API and drains from here", () => {
  it("drains and uncordons each node through the Kubernetes API, one control plane at a time", async ({
    fc,
  }) => {
    const before = makeSpec(fc, { talos: "v1.13.2", k8s: "1.36.0" });
    clusterOf(fc, before, { talos: "v1.13.2", k8s: "1.36.0" });
    const stack = fc.converged(before);

    const up = await fc.pulumiUp(makeSpec(fc, { talos: "v1.13.9", k8s: "1.36.0" }), stack);

    expect(up.failed, JSON.stringify([...up.results])).toBeUndefined();
    const nodes = [...CP, ...WK.slice(0, 3)];
    expect(fc.lines("upgrades.log")).toEqual(nodes.flatMap((a) => [`start ${a} lifecycle`, `end ${a}`]));
    expect(fc.lines("drains.log")).toEqual(
      nodes.flatMap((a) => [`drain ${a} client`, `uncordon ${a} client`]),
    );
    expect(up.results.get("os-cp-1")!.stdout).toContain("(LifecycleService API, drained from here)");
  });

  it("refuses before touching any node when this machine cannot reach the Kubernetes API", async ({ fc }) => {
    const before = makeSpec(fc, { talos: "v1.13.2", k8s: "1.36.0" });
    clusterOf(fc, before, { talos: "v1.13.2", k8s: "1.36.0" });
    const stack = fc.converged(before);
    await fc.stopKubeApi();

    const up = await fc.pulumiUp(makeSpec(fc, { talos: "v1.13.9", k8s: "1.36.0" }), stack);

    expect(up.failed).toBe("etcd-snapshot");
    const { stderr } = up.results.get("etcd-snapshot")!;
    expect(stderr).toContain("refused before touching any node");
    expect(stderr).toContain(`cannot reach the Kubernetes API at ${fc.kubeEndpoint}`);
    expect(stderr).toContain("Run pulumi up where the cluster endpoint answers");
    expect(fc.upgradeCalls()).toEqual([]);
    expect(fc.snapshotFiles()).toEqual([]);
  });

  it("a worker's own command refuses too (its node untouched) when the API went away mid-rollout", async ({
    fc,
  }) => {
    const spec = makeSpec(fc, { talos: "v1.13.9", k8s: "1.36.0" });
    clusterOf(fc, spec, { talos: "v1.13.9", k8s: "1.36.0" });
    fc.setNode(WK[0], { version: "v1.13.2" });
    await fc.stopKubeApi();

    const r = await fc.run("os-upgrade", osUpgradeEnvironment(spec, spec.workers[0], installer("v1.13.9")));

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "upgrade of node worker-1 (10.0.0.11) failed: refused before touching the node",
    );
    expect(fc.upgradeCalls()).toEqual([]);
    expect(fc.versionOf(WK[0])).toBe("v1.13.2");
  });
});

describe("Image Factory schematics at the same Talos version", () => {
  const A = "a".repeat(64);
  const B = "b".repeat(64);
  const factory = (id: string) => `factory.talos.dev/installer/${id}:v1.13.9`;

  it("a new schematic upgrades every node onto it, leaving a node already on it alone", async ({ fc }) => {
    const spec = makeSpec(fc, { talos: "v1.13.9", k8s: "1.36.0" });
    clusterOf(fc, spec, { talos: "v1.13.9", k8s: "1.36.0" });
    for (const a of [...CP, ...WK]) fc.setNode(a, { schematic: A });
    const stack = fc.converged(spec, factory(A));
    fc.setNode(WK[1], { schematic: B });

    const up = await fc.pulumiUp(spec, stack, {}, factory(B));

    expect(up.failed).toBeUndefined();
    expect(up.ran).not.toContain("kubernetes");
    expect(fc.upgradedNodes()).toEqual([...CP, WK[0], WK[2]]);
    expect(up.results.get("os-cp-1")!.stdout).toContain(`built from schematic ${A}, not ${B}`);
    expect(up.results.get("os-worker-2")!.stdout).toContain("already runs");
    expect(fc.snapshotFiles()).toHaveLength(1);
  });

  it("removing every extension moves each node back to the plain installer", async ({ fc }) => {
    const spec = makeSpec(fc, { talos: "v1.13.9", k8s: "1.36.0" });
    clusterOf(fc, spec, { talos: "v1.13.9", k8s: "1.36.0" });
    for (const a of [...CP, ...WK]) fc.setNode(a, { schematic: A });
    const stack = fc.converged(spec, factory(A));

    const up = await fc.pulumiUp(spec, stack, {}, installer("v1.13.9"));

    expect(up.failed, JSON.stringify([...up.results])).toBeUndefined();
    expect(fc.upgradedNodes()).toEqual([...CP, ...WK.slice(0, 3)]);
    expect(up.results.get("os-cp-1")!.stdout).toContain(`schematic ${A}, not the plain installer`);
    for (const a of [...CP, ...WK.slice(0, 3)]) expect(fc.nodeFile(a, "schematic")).toBeUndefined();
  });
});

describe("a failure on the second control plane", () => {
  async function failOnSecondControlPlane(fc: FakeCluster) {
    const before = makeSpec(fc, { talos: "v1.12.6", k8s: "1.35.0" });
    clusterOf(fc, before, { talos: "v1.12.6", k8s: "1.35.0", client: "v1.12.6" });
    const stack = fc.converged(before);
    fc.write("client-version", "v1.13.9\n");
    const spec = makeSpec(fc, { talos: "v1.13.9", k8s: "1.35.0" });
    const up = await fc.pulumiUp(spec, stack, { FAKE_TALOS_FAIL_NODE: CP[1] });
    return { spec, stack, up };
  }

  it("stops the rollout: later nodes untouched, non-zero exit, message names the node with talosctl's output", async ({
    fc,
  }) => {
    const { up } = await failOnSecondControlPlane(fc);

    expect(up.failed).toBe("os-cp-2");
    const r = up.results.get("os-cp-2")!;
    expect(r.stderr).toContain("upgrade of node cp-2 (10.0.0.2) failed:");
    expect(r.stderr).toContain("post check failed: etcd member is not healthy (simulated)");
    expect(fc.upgradedNodes()).toEqual([CP[0], CP[1]]);
    expect(fc.versionOf(CP[0])).toBe("v1.13.9");
    for (const a of [CP[1], CP[2], ...WK.slice(0, 3)]) expect(fc.versionOf(a)).toBe("v1.12.6");
    expect(up.ran).toEqual(["etcd-snapshot", "os-cp-1", "os-cp-2"]);
  });

  it("the next pulumi up resumes from that node: no second snapshot, the first control plane not upgraded again", async ({
    fc,
  }) => {
    const { spec, stack } = await failOnSecondControlPlane(fc);
    fc.clearCalls();

    const up = await fc.pulumiUp(spec, stack);

    expect(up.failed).toBeUndefined();
    expect(up.ran[0]).toBe("os-cp-2");
    expect(fc.calls().some((c) => c.includes("etcd snapshot"))).toBe(false);
    expect(fc.upgradedNodes()).toEqual([CP[1], CP[2], ...WK.slice(0, 3)]);
    expect(fc.snapshotFiles()).toHaveLength(1);
  });

  it("a node that upgraded but never became Ready holds the rollout, and on resume is only re-checked", async ({
    fc,
  }) => {
    const before = makeSpec(fc, { talos: "v1.12.6", k8s: "1.35.0" });
    clusterOf(fc, before, { talos: "v1.12.6", k8s: "1.35.0", client: "v1.12.6" });
    const stack = fc.converged(before);
    fc.write("client-version", "v1.13.9\n");
    const spec = makeSpec(fc, { talos: "v1.13.9", k8s: "1.35.0" });

    const first = await fc.pulumiUp(spec, stack, { FAKE_TALOS_NOT_READY_AFTER_UPGRADE: CP[1] });
    expect(first.failed).toBe("os-cp-2");
    expect(first.results.get("os-cp-2")!.stderr).toMatch(
      /upgrade of node cp-2 \(10\.0\.0\.2\) failed: .*not Ready/,
    );

    fc.setNode(CP[1], { ready: true });
    fc.clearCalls();
    const second = await fc.pulumiUp(spec, stack);

    expect(second.failed).toBeUndefined();
    expect(fc.upgradedNodes()).toEqual([CP[2], ...WK.slice(0, 3)]);
    expect(second.results.get("os-cp-2")!.stdout).toContain(
      "already runs ghcr.io/siderolabs/installer:v1.13.9",
    );
  });

  it("a control plane whose etcd member stays unhealthy after its upgrade holds the rollout", async ({
    fc,
  }) => {
    const before = makeSpec(fc, { talos: "v1.13.2", k8s: "1.36.0" });
    clusterOf(fc, before, { talos: "v1.13.2", k8s: "1.36.0" });
    const stack = fc.converged(before);
    fc.setNode(CP[0], { etcdHealthy: false });

    const up = await fc.pulumiUp(makeSpec(fc, { talos: "v1.13.9", k8s: "1.36.0" }), stack);

    expect(up.failed).toBe("os-cp-1");
    expect(up.results.get("os-cp-1")!.stderr).toContain("its etcd member is not healthy");
    expect(fc.upgradedNodes()).toEqual([CP[0]]);
  });
});

describe("workers in batches of 2", () => {
  it("upgrades the two workers of a batch side by side, and the next batch only after both", async ({
    fc,
  }) => {
    const before = makeSpec(fc, { talos: "v1.13.2", k8s: "1.36.0", workers: 4, batch: 2 });
    clusterOf(fc, before, { talos: "v1.13.2", k8s: "1.36.0" });
    const stack = fc.converged(before);

    // Each upgrade of a batch-1 worker waits until the other one has started: only side by side can both finish.
    const up = await fc.pulumiUp(
      makeSpec(fc, { talos: "v1.13.9", k8s: "1.36.0", workers: 4, batch: 2 }),
      stack,
      {
        FAKE_TALOS_BARRIER: `${WK[0]} ${WK[1]}`,
      },
    );

    expect(up.failed, JSON.stringify([...up.results])).toBeUndefined();
    const events = fc.lines("upgrades.log");
    const at = (e: string) => events.indexOf(e);
    expect(at(`end ${CP[0]}`)).toBeLessThan(at(`start ${CP[1]} lifecycle`));
    expect(at(`end ${CP[1]}`)).toBeLessThan(at(`start ${CP[2]} lifecycle`));
    expect(at(`end ${CP[2]}`)).toBeLessThan(
      Math.min(at(`start ${WK[0]} lifecycle`), at(`start ${WK[1]} lifecycle`)),
    );
    expect(Math.max(at(`end ${WK[0]}`), at(`end ${WK[1]}`))).toBeLessThan(
      Math.min(at(`start ${WK[2]} lifecycle`), at(`start ${WK[3]} lifecycle`)),
    );
    for (const a of WK) expect(fc.versionOf(a)).toBe("v1.13.9");
  });
});
