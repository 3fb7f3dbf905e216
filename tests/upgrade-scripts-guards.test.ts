/**
 * The upgrade scripts' guards and the Kubernetes upgrade, run for real against the fake talosctl (see
 * upgrade-scripts.test.ts for the rollout scenarios and tests/fake-talosctl/harness.ts for the harness):
 * which talosctl is on PATH, nodes that do not answer, the Kubernetes API this machine must reach, and the
 * talosconfig that must never leak. Every test gets its own fake cluster (the `fc` fixture).
 */
import * as fs from "node:fs";
import { describe, expect } from "vitest";
import type { ClusterSpec } from "../components/config/spec";
import {
  commandScript,
  kubernetesUpgradeEnvironment,
  osUpgradeEnvironment,
  snapshotEnvironment,
  type UpgradeScript,
} from "../components/upgrade";
import { CONTROL_PLANE_ADDRESSES, WORKER_ADDRESSES, testSpec } from "./support/spec";
import { FakeCluster, SYSTEM_PATH, installer, it } from "./fake-talosctl/harness";

const CP = CONTROL_PLANE_ADDRESSES;
const WK = WORKER_ADDRESSES.slice(0, 3);

const makeSpec = (fc: FakeCluster, o: { talos: string; k8s: string }): ClusterSpec => ({
  ...testSpec({ talosVersion: o.talos, kubernetesVersion: o.k8s, snapshotDir: fc.snapshots }),
  endpoint: fc.kubeEndpoint,
});

const clusterOf = (fc: FakeCluster, o: { talos: string; k8s: string; client?: string }) =>
  fc.cluster({ ...o, controlPlanes: CP, workers: WK });

describe("a Kubernetes bump alone", () => {
  it("runs upgrade-k8s once through one control plane and no OS upgrade; a second pulumi up does nothing", async ({
    fc,
  }) => {
    clusterOf(fc, { talos: "v1.13.9", k8s: "1.35.0" });
    const stack = fc.converged(makeSpec(fc, { talos: "v1.13.9", k8s: "1.35.0" }));
    const spec = makeSpec(fc, { talos: "v1.13.9", k8s: "1.36.0" });

    const up = await fc.pulumiUp(spec, stack);

    expect(up.failed).toBeUndefined();
    expect(up.ran).toEqual(["kubernetes"]);
    expect(fc.k8sUpgrades()).toEqual(["--talosconfig <talosconfig> -n 10.0.0.1 upgrade-k8s --to 1.36.0"]);
    expect(fc.upgradeCalls()).toEqual([]);
    expect(fc.k8sVersion()).toBe("1.36.0");

    fc.clearCalls();
    expect((await fc.pulumiUp(spec, stack)).ran).toEqual([]);
    expect(fc.calls()).toEqual([]);
  });

  it("run again on a cluster already at the target (e.g. replaced after an address change), it upgrades nothing", async ({
    fc,
  }) => {
    clusterOf(fc, { talos: "v1.13.9", k8s: "1.36.0" });

    const r = await fc.run(
      "kubernetes-upgrade",
      kubernetesUpgradeEnvironment(makeSpec(fc, { talos: "v1.13.9", k8s: "1.36.0" })),
    );

    expect(r.code).toBe(0);
    expect(r.stdout).toContain("already runs Kubernetes 1.36.0");
    expect(fc.k8sUpgrades()).toEqual([]);
  });

  it("refuses a jump of more than one minor, naming the minor to go through", async ({ fc }) => {
    clusterOf(fc, { talos: "v1.13.9", k8s: "1.34.2" });

    const r = await fc.run(
      "kubernetes-upgrade",
      kubernetesUpgradeEnvironment(makeSpec(fc, { talos: "v1.13.9", k8s: "1.36.0" })),
    );

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "upgrade of Kubernetes to 1.36.0 through control plane cp-1 (10.0.0.1) failed: refused",
    );
    expect(r.stderr).toContain("skips 1.35");
    expect(fc.k8sUpgrades()).toEqual([]);
    expect(fc.k8sVersion()).toBe("1.34.2");
  });

  it("refuses what talosctl 1.13's own path table does not support, with its dry run's answer", async ({
    fc,
  }) => {
    clusterOf(fc, { talos: "v1.13.9", k8s: "1.36.2" });

    const r = await fc.run(
      "kubernetes-upgrade",
      kubernetesUpgradeEnvironment(makeSpec(fc, { talos: "v1.13.9", k8s: "1.37.0" })),
    );

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("talosctl upgrade-k8s --dry-run refused Kubernetes 1.36.2 -> 1.37.0");
    expect(r.stderr).toContain('unsupported upgrade path 1.36->1.37 (from "1.36.2" to "1.37.0")');
    expect(fc.k8sUpgrades()).toEqual([]);
  });

  it("reports upgrade-k8s's own failure with its output", async ({ fc }) => {
    clusterOf(fc, { talos: "v1.13.9", k8s: "1.35.0" });

    const r = await fc.run(
      "kubernetes-upgrade",
      kubernetesUpgradeEnvironment(makeSpec(fc, { talos: "v1.13.9", k8s: "1.36.0" })),
      { FAKE_TALOS_FAIL_K8S: "1" },
    );

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "upgrade of Kubernetes to 1.36.0 through control plane cp-1 (10.0.0.1) failed:",
    );
    expect(r.stderr).toContain("failed updating kube-apiserver: simulated");
  });

  it("says first that this machine cannot reach the Kubernetes API upgrade-k8s works through", async ({
    fc,
  }) => {
    clusterOf(fc, { talos: "v1.13.9", k8s: "1.35.0" });
    await fc.stopKubeApi();

    const r = await fc.run(
      "kubernetes-upgrade",
      kubernetesUpgradeEnvironment(makeSpec(fc, { talos: "v1.13.9", k8s: "1.36.0" })),
    );

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`cannot reach the Kubernetes API at ${fc.kubeEndpoint}`);
    expect(fc.calls().some((c) => c.includes("upgrade-k8s"))).toBe(false);
  });
});

describe("both bumps at once", () => {
  it("upgrades every OS first, then runs upgrade-k8s exactly once, last", async ({ fc }) => {
    clusterOf(fc, { talos: "v1.12.6", k8s: "1.35.0", client: "v1.12.6" });
    const stack = fc.converged(makeSpec(fc, { talos: "v1.12.6", k8s: "1.35.0" }));
    fc.write("client-version", "v1.13.9\n");

    const up = await fc.pulumiUp(makeSpec(fc, { talos: "v1.13.9", k8s: "1.36.0" }), stack);

    expect(up.failed).toBeUndefined();
    expect(up.ran.at(-1)).toBe("kubernetes");
    const log = fc.calls();
    const k8sAt = log.findIndex((c) => c.includes(" upgrade-k8s --to 1.36.0") && !c.includes("--dry-run"));
    const lastOsUpgrade = log.reduce((last, c, i) => (c.includes(" upgrade --image") ? i : last), -1);
    expect(fc.k8sUpgrades()).toHaveLength(1);
    expect(k8sAt).toBeGreaterThan(lastOsUpgrade);
    expect(fc.upgradedNodes()).toHaveLength(6);
    expect(fc.k8sVersion()).toBe("1.36.0");
  });
});

describe("talosctl on PATH", () => {
  const envFor = (fc: FakeCluster, script: UpgradeScript) => {
    const s = makeSpec(fc, { talos: "v1.13.9", k8s: "1.36.0" });
    if (script === "os-upgrade") return osUpgradeEnvironment(s, s.controlPlanes[0], installer("v1.13.9"));
    if (script === "etcd-snapshot") return snapshotEnvironment(s, installer("v1.13.9"));
    return kubernetesUpgradeEnvironment(s);
  };

  it.for<UpgradeScript>(["os-upgrade", "etcd-snapshot", "kubernetes-upgrade"])(
    "%s fails with how to install it when talosctl is missing",
    async (script, { fc }) => {
      clusterOf(fc, { talos: "v1.12.6", k8s: "1.35.0" });

      const r = await fc.run(script, envFor(fc, script), { PATH: SYSTEM_PATH });

      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("talosctl is not on PATH");
      expect(r.stderr).toContain("Install talosctl 1.13.x");
      expect(r.stderr).toContain("https://github.com/siderolabs/talos/releases");
      expect(fc.calls()).toEqual([]);
    },
  );

  it("refuses a talosctl whose minor differs from the target before contacting any node", async ({ fc }) => {
    clusterOf(fc, { talos: "v1.12.6", k8s: "1.35.0", client: "v1.12.6" });

    const r = await fc.run("os-upgrade", envFor(fc, "os-upgrade"));

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("talosctl on PATH is v1.12.6 but v1.13.x is needed");
    expect(fc.calls()).toEqual(["version --client --short"]);
  });
});

describe("nodes that do not answer", () => {
  it("a configured node that is down fails the bump with a message naming it and both answers", async ({
    fc,
  }) => {
    clusterOf(fc, { talos: "v1.12.6", k8s: "1.35.0" });
    fc.setNode(WK[1], { mode: "down" });
    const s = makeSpec(fc, { talos: "v1.13.9", k8s: "1.35.0" });

    const r = await fc.run("os-upgrade", osUpgradeEnvironment(s, s.workers[1], installer("v1.13.9")));

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "upgrade of node worker-2 (10.0.0.12) failed: it answers neither the cluster's talosconfig",
    );
    expect(r.stderr).toMatch(/with the cluster's talosconfig: .*no route to host/s);
    expect(r.stderr).toMatch(/without credentials \(maintenance mode\): .*no route to host/);
  });

  it("a hanging node is given up on after PROBE_TIMEOUT instead of hanging the rollout", async ({ fc }) => {
    clusterOf(fc, { talos: "v1.12.6", k8s: "1.35.0" });
    const s = makeSpec(fc, { talos: "v1.13.9", k8s: "1.35.0" });

    const r = await fc.run("os-upgrade", osUpgradeEnvironment(s, s.workers[0], installer("v1.13.9")), {
      FAKE_TALOS_HANG_NODE: WK[0],
      PROBE_TIMEOUT: "0.3",
    });

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("upgrade of node worker-1 (10.0.0.11) failed: it answers neither");
    expect(fc.upgradeCalls()).toEqual([]);
  });
});

describe("the talosconfig", () => {
  it("is removed when the script is terminated mid-call (its process group gets SIGTERM)", async ({ fc }) => {
    clusterOf(fc, { talos: "v1.12.6", k8s: "1.35.0" });
    const s = makeSpec(fc, { talos: "v1.13.9", k8s: "1.35.0" });
    const child = fc.spawn("os-upgrade", {
      ...osUpgradeEnvironment(s, s.workers[0], installer("v1.13.9")),
      FAKE_TALOS_HANG_NODE: WK[0],
      PROBE_TIMEOUT: "60",
    });
    const closed = new Promise<void>((resolve) => child.on("close", () => resolve()));
    // Waits for an event (the hanging probe is on record), not for time; the deadline is only a safety net.
    const deadline = Date.now() + 20_000;
    while (!fc.calls().some((c) => c.includes(`-n ${WK[0]} version`)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(fs.readdirSync(fc.tmp).filter((f) => f.startsWith("homelab-talosconfig"))).toHaveLength(1);

    process.kill(-child.pid!, "SIGTERM");
    await closed;

    expect(fs.readdirSync(fc.tmp)).toEqual([]);
  });

  it("reaches talosctl only as a 0600 temp file that is gone afterwards, and never appears in any output", async ({
    fc,
  }) => {
    clusterOf(fc, { talos: "v1.12.6", k8s: "1.35.0", client: "v1.12.6" });
    const stack = fc.converged(makeSpec(fc, { talos: "v1.12.6", k8s: "1.35.0" }));
    fc.write("client-version", "v1.13.9\n");
    const spec = makeSpec(fc, { talos: "v1.13.9", k8s: "1.36.0" });

    // Both bumps and a failure: every script, and the failure path, run.
    const up = await fc.pulumiUp(spec, stack, { FAKE_TALOS_FAIL_NODE: WK[2] });
    const again = await fc.pulumiUp(spec, stack);

    expect(up.failed).toBe("os-worker-3");
    expect(again.failed).toBeUndefined();
    // The fake checked content and mode on every call; here: each path it was given is gone.
    const paths = fc.lines("talosconfig-paths.log");
    expect(paths.length).toBeGreaterThan(10);
    for (const p of new Set(paths)) expect(fs.existsSync(p)).toBe(false);
    expect(fs.readdirSync(fc.tmp)).toEqual([]);
    const everything = [...up.results.values(), ...again.results.values()]
      .map((r) => r.stdout + r.stderr)
      .concat(fc.calls())
      .join("\n");
    expect(everything).not.toContain("SECRET-KEY");
    for (const script of ["os-upgrade", "etcd-snapshot", "kubernetes-upgrade"] as const) {
      expect(commandScript(script)).not.toContain("SECRET-KEY");
    }
  });
});
