/**
 * scripts/staged-reboot.sh executed for real (the exact `bash -c` text its Command runs) against the fake
 * talosctl, over a whole cluster in rollout order the way the engine runs the StagedReboots chain: one step
 * after the other, the nodes of a step side by side, a failure stopping every later step (that the component
 * chains the commands like this is checked under mocks in staged-reboot-component.test.ts).
 *
 * A config apply with applyMode staged_if_needing_reboot leaves a change that needs a reboot staged on the
 * node (fake state `staged-config`); the reboot boots it (`config`). Each test has its own fake cluster.
 */
import { describe, expect } from "vitest";
import type { ClusterSpec } from "../components/config/spec";
import { planRollout } from "../components/upgrade/plan";
import { stagedRebootEnvironment } from "../components/upgrade/staged-reboot";
import { testSpec } from "./support/spec";
import { FakeCluster, it, type Result } from "./fake-talosctl/harness";
import * as fs from "node:fs";
import * as path from "node:path";

function makeSpec(fc: FakeCluster, workers = 3, batch = 2): ClusterSpec {
  return {
    ...testSpec({ talosVersion: "v1.13.9", kubernetesVersion: "1.36.0", workers, workerBatchSize: batch }),
    endpoint: fc.kubeEndpoint,
  };
}

/** A running cluster of SPEC's nodes where the apply staged `patch` on the nodes in STAGED. */
function cluster(fc: FakeCluster, spec: ClusterSpec, staged: readonly string[], patch = "kernel args v2") {
  fc.write("reboots.log", "");
  fc.cluster({
    talos: "v1.13.9",
    k8s: "1.36.0",
    controlPlanes: spec.controlPlanes.map((n) => n.address),
    workers: spec.workers.map((n) => n.address),
  });
  for (const n of spec.nodes) {
    const dir = path.join(fc.state, "nodes", n.address);
    fs.writeFileSync(path.join(dir, "config"), "kernel args v1\n");
    if (staged.includes(n.name)) fs.writeFileSync(path.join(dir, "staged-config"), `${patch}\n`);
  }
}

/** Runs every node's reboot command in rollout order; MODE gives each node's resolvedApplyMode. */
async function rebootRollout(
  fc: FakeCluster,
  spec: ClusterSpec,
  mode: (name: string) => string,
  extra: Record<string, string> = {},
) {
  const ran: string[] = [];
  const results = new Map<string, Result>();
  for (const step of planRollout(spec)) {
    const out = await Promise.all(
      step.nodes.map((n) =>
        fc.run("staged-reboot", { ...stagedRebootEnvironment(spec, n), APPLY_MODE: mode(n.name) }, extra),
      ),
    );
    step.nodes.forEach((n, i) => (ran.push(n.name), results.set(n.name, out[i])));
    const failed = step.nodes.find((_, i) => out[i].code !== 0);
    if (failed) return { ran, results, failed: failed.name };
  }
  return { ran, results, failed: undefined };
}

const configOf = (fc: FakeCluster, address: string) => fc.nodeFile(address, "config");

describe("a patch that needs a reboot on 3 control planes (and 3 workers)", () => {
  it("reboots each control plane alone, healthy (etcd) before the next goes down, then workers in batches", async ({
    fc,
  }) => {
    const spec = makeSpec(fc);
    cluster(
      fc,
      spec,
      spec.nodes.map((n) => n.name),
    );

    const up = await rebootRollout(fc, spec, () => "staged");

    expect(up.failed, JSON.stringify([...up.results])).toBeUndefined();
    for (const n of spec.nodes) expect(configOf(fc, n.address)).toBe("kernel args v2");
    const [a, b, c] = spec.controlPlanes.map((n) => n.address);
    const log = fc.lines("reboots.log");
    // Control planes strictly one after the other: never two down at once.
    expect(log.slice(0, 6)).toEqual([`down ${a}`, `up ${a}`, `down ${b}`, `up ${b}`, `down ${c}`, `up ${c}`]);
    // Each control plane's etcd member was seen healthy after its reboot and before the next one's.
    const calls = fc.calls();
    const at = (s: string) => calls.findIndex((x) => x.includes(s));
    for (const [node, next] of [
      [a, b],
      [b, c],
    ]) {
      const rebooted = at(`-n ${node} reboot`);
      const etcd = calls.findIndex((x, i) => i > rebooted && x.includes(`-n ${node} get services etcd`));
      expect(etcd).toBeGreaterThan(rebooted);
      expect(etcd).toBeLessThan(at(`-n ${next} reboot`));
    }
    // Workers after every control plane, drained first, in batches of 2.
    const workerDowns = log.slice(6).filter((l) => l.startsWith("down"));
    expect(workerDowns.sort()).toEqual(spec.workers.map((n) => `down ${n.address}`).sort());
    expect(fc.lines("drains.log").filter((l) => l.startsWith("drain"))).toHaveLength(6);
    expect(up.results.get("cp-1")!.stdout).toContain("has a staged configuration that needs a reboot");
  });

  it("stops the rollout when a rebooted control plane's etcd member does not come back healthy", async ({
    fc,
  }) => {
    const spec = makeSpec(fc);
    cluster(
      fc,
      spec,
      spec.nodes.map((n) => n.name),
    );
    const cp2 = spec.controlPlanes[1].address;

    const up = await rebootRollout(fc, spec, () => "staged", { FAKE_TALOS_ETCD_UNHEALTHY_AFTER_REBOOT: cp2 });

    expect(up.failed).toBe("cp-2");
    expect(up.results.get("cp-2")!.stderr).toContain("its etcd member is not healthy");
    // The third control plane keeps running its old configuration: quorum is never put at risk.
    expect(fc.lines("reboots.log")).toEqual([
      `down ${spec.controlPlanes[0].address}`,
      `up ${spec.controlPlanes[0].address}`,
      `down ${cp2}`,
      `up ${cp2}`,
    ]);
    expect(configOf(fc, spec.controlPlanes[2].address)).toBe("kernel args v1");
  });

  it("refuses to take a control plane down while another one's etcd member is unhealthy", async ({ fc }) => {
    const spec = makeSpec(fc);
    cluster(fc, spec, ["cp-1", "cp-2", "cp-3"]);
    const cp3 = spec.controlPlanes[2].address;
    fc.setNode(cp3, { etcdHealthy: false });

    const up = await rebootRollout(fc, spec, (n) => (n.startsWith("cp-") ? "staged" : "auto"));

    expect(up.failed).toBe("cp-1");
    expect(up.results.get("cp-1")!.stderr).toContain(
      `the etcd member on control plane cp-3 (${cp3}) is not healthy, and rebooting cp-1 now would leave etcd without quorum`,
    );
    expect(fc.read("reboots.log")).toBe("");
  });

  it("refuses to reboot anything when this machine cannot reach the Kubernetes API the drain needs", async ({
    fc,
  }) => {
    const spec = makeSpec(fc);
    cluster(fc, spec, ["cp-1"]);
    await fc.stopKubeApi();

    const up = await rebootRollout(fc, spec, (n) => (n === "cp-1" ? "staged" : "auto"));

    expect(up.failed).toBe("cp-1");
    expect(up.results.get("cp-1")!.stderr).toContain("refused before touching the node");
    expect(fc.read("reboots.log")).toBe("");
  });

  it("reboots only the nodes whose apply was staged (a control-plane-only patch)", async ({ fc }) => {
    const spec = makeSpec(fc);
    const cps = spec.controlPlanes.map((n) => n.name);
    cluster(fc, spec, cps);

    const up = await rebootRollout(fc, spec, (n) => (cps.includes(n) ? "staged" : "auto"));

    expect(up.failed).toBeUndefined();
    expect(fc.lines("reboots.log").filter((l) => l.startsWith("down"))).toEqual(
      spec.controlPlanes.map((n) => `down ${n.address}`),
    );
    for (const w of spec.workers) expect(fc.callsTo(w.address)).toEqual([]);
  });
});

describe("a patch that needs no reboot (every apply resolved to auto)", () => {
  it("reboots nothing and does not even call talosctl", async ({ fc }) => {
    const spec = makeSpec(fc);
    cluster(fc, spec, []);

    const up = await rebootRollout(fc, spec, () => "auto");

    expect(up.failed).toBeUndefined();
    expect(up.ran).toEqual(spec.nodes.map((n) => n.name));
    expect(fc.calls()).toEqual([]);
    expect(fc.read("reboots.log")).toBe("");
    expect(up.results.get("worker-1")!.stdout).toContain("applied without a reboot");
  });
});

it("fails with a clear message on a resolvedApplyMode it does not know", async ({ fc }) => {
  const spec = makeSpec(fc);
  cluster(fc, spec, []);
  const r = await fc.run("staged-reboot", {
    ...stagedRebootEnvironment(spec, spec.controlPlanes[0]),
    APPLY_MODE: "reboot",
  });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('unexpected resolvedApplyMode "reboot"');
  expect(fc.calls()).toEqual([]);
});
