/**
 * Rollout planning and the version-jump rules, directly and as properties; plus the check that the shell
 * scripts (which apply the same rules to the versions nodes really run) decide exactly like plan.ts.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { NodeSpec } from "../components/config/spec";
import { checkKubernetesUpgradePath, checkTalosUpgradePath, planRollout } from "../components/upgrade/plan";
import { testNode } from "./support/spec";

const VERSIONS = path.join(__dirname, "..", "components", "upgrade", "scripts", "versions.sh");

const node = (name: string, role: NodeSpec["role"], index: number): NodeSpec =>
  testNode(name, `10.0.${role === "controlplane" ? 0 : 1}.${index + 1}`, role, index);

function cluster(controlPlanes: number, workers: number, workerBatchSize: number) {
  return {
    controlPlanes: Array.from({ length: controlPlanes }, (_, i) => node(`cp-${i + 1}`, "controlplane", i)),
    workers: Array.from({ length: workers }, (_, i) => node(`w-${i + 1}`, "worker", i)),
    upgrade: { workerBatchSize, snapshotDir: "./etcd-snapshots", keepSnapshots: 5, nodeTimeout: "30m" },
  };
}

const names = (steps: ReturnType<typeof planRollout>) => steps.map((s) => s.nodes.map((n) => n.name));

describe("planRollout", () => {
  it("puts each control plane in its own step, then workers in batches, in stack-file order", () => {
    expect(names(planRollout(cluster(3, 5, 2)))).toEqual([
      ["cp-1"],
      ["cp-2"],
      ["cp-3"],
      ["w-1", "w-2"],
      ["w-3", "w-4"],
      ["w-5"],
    ]);
  });

  it("upgrades workers one by one by default (batch size 1) and handles a cluster without workers", () => {
    expect(names(planRollout(cluster(1, 2, 1)))).toEqual([["cp-1"], ["w-1"], ["w-2"]]);
    expect(names(planRollout(cluster(1, 0, 3)))).toEqual([["cp-1"]]);
  });

  it.each([0, -1, 1.5, Number.NaN])("refuses a worker batch size of %s", (size) => {
    expect(() => planRollout(cluster(3, 3, size))).toThrow(/workerBatchSize must be a positive integer/);
  });

  it("has the rollout properties for any cluster shape", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 0, max: 25 }),
        fc.integer({ min: 1, max: 10 }),
        (cps, ws, batch) => {
          const c = cluster(cps, ws, batch);
          const steps = planRollout(c);
          const flat = steps.flatMap((s) => s.nodes);
          // Every node exactly once, in stack-file order with control planes first.
          expect(flat).toEqual([...c.controlPlanes, ...c.workers]);
          // Control planes alone in their steps, all before any worker step.
          const firstWorker = steps.findIndex((s) => s.role === "worker");
          steps.forEach((s, i) => {
            if (s.role === "controlplane") {
              expect(s.nodes).toHaveLength(1);
              expect(s.nodes[0].role).toBe("controlplane");
              if (firstWorker >= 0) expect(i).toBeLessThan(firstWorker);
            } else {
              expect(s.nodes.every((n) => n.role === "worker")).toBe(true);
              expect(s.nodes.length).toBeGreaterThan(0);
              expect(s.nodes.length).toBeLessThanOrEqual(batch);
            }
          });
          // Only the last batch may be short, so no more steps than needed.
          const workerSteps = steps.filter((s) => s.role === "worker");
          expect(workerSteps).toHaveLength(Math.ceil(ws / batch));
          workerSteps.slice(0, -1).forEach((s) => expect(s.nodes).toHaveLength(batch));
        },
      ),
    );
  });
});

describe("checkTalosUpgradePath", () => {
  it.each([
    ["v1.12.6", "v1.13.9"],
    ["v1.13.9", "v1.13.9"],
    ["v1.13.0", "v1.13.9"],
    ["v1.13.9", "v1.13.2"],
    ["v1.13.9", "v1.14.0-rc.1"],
  ])("allows %s → %s", (from, to) => {
    expect(checkTalosUpgradePath(from, to)).toBeUndefined();
  });

  it("refuses a skipped minor and names the minor to go through", () => {
    const msg = checkTalosUpgradePath("v1.11.5", "v1.13.9");
    expect(msg).toContain("skips v1.12");
    expect(msg).toContain("latest v1.12.x patch");
  });

  it("refuses a move to an older minor, a major change and unparseable versions", () => {
    expect(checkTalosUpgradePath("v1.13.9", "v1.12.6")).toMatch(/downgrade.*talosctl rollback/);
    expect(checkTalosUpgradePath("v1.13.9", "v2.0.0")).toMatch(/major/);
    expect(checkTalosUpgradePath("latest", "v1.13.9")).toMatch(/cannot compare/);
  });

  it("allows exactly the same minor or the next one", () => {
    fc.assert(
      fc.property(versionPair(), ({ from, to, a, b }) => {
        const ok = a.major === b.major && b.minor >= a.minor && b.minor <= a.minor + 1;
        expect(checkTalosUpgradePath(`v${from}`, `v${to}`) === undefined).toBe(ok);
      }),
    );
  });
});

describe("checkKubernetesUpgradePath", () => {
  it("allows a patch move or one minor up", () => {
    expect(checkKubernetesUpgradePath("1.35.0", "1.36.0")).toBeUndefined();
    expect(checkKubernetesUpgradePath("1.36.0", "1.36.3")).toBeUndefined();
  });

  it("refuses two minors at once, naming the one in between, and downgrades", () => {
    expect(checkKubernetesUpgradePath("1.34.2", "1.36.0")).toContain("skips 1.35");
    expect(checkKubernetesUpgradePath("1.36.0", "1.35.4")).toMatch(/downgrade/);
  });
});

interface Pair {
  from: string;
  to: string;
  a: { major: number; minor: number };
  b: { major: number; minor: number };
}

/** Version pairs dense around the interesting boundaries (same minor, next, skip, older). */
function versionPair(): fc.Arbitrary<Pair> {
  const v = fc.record({
    major: fc.integer({ min: 1, max: 2 }),
    minor: fc.integer({ min: 0, max: 6 }),
    patch: fc.integer({ min: 0, max: 12 }),
  });
  return fc.tuple(v, v).map(([a, b]) => ({
    from: `${a.major}.${a.minor}.${a.patch}`,
    to: `${b.major}.${b.minor}.${b.patch}`,
    a,
    b,
  }));
}

/** Runs one versions.sh check over many argument lists in a single bash process; true where it succeeds. */
function scriptAccepts(
  fn: "talos_path_problem" | "k8s_path_problem" | "lifecycle_upgrade" | "prerelease_after",
  pairs: Array<[string, string] | [string]>,
): boolean[] {
  const program = [
    "set -euo pipefail",
    `. ${JSON.stringify(VERSIONS)}`,
    "while read -r -a args; do if msg=$(" +
      fn +
      ' "${args[@]}"); then echo ok; else echo "no $msg"; fi; done',
  ].join("\n");
  const r = spawnSync("/bin/bash", ["-c", program], {
    input: pairs.map((p) => p.join(" ")).join("\n") + "\n",
  });
  expect(r.status, r.stderr.toString()).toBe(0);
  return r.stdout
    .toString()
    .split("\n")
    .filter(Boolean)
    .map((l) => l === "ok");
}

describe("the scripts' version rules (versions.sh) decide like plan.ts", () => {
  const pairs = fc.sample(versionPair(), { numRuns: 400, seed: 7 });

  it("talos_path_problem matches checkTalosUpgradePath on every pair", () => {
    const input = pairs.map((p): [string, string] => [`v${p.from}`, `v${p.to}`]);
    const got = scriptAccepts("talos_path_problem", input);
    expect(got).toEqual(input.map(([f, t]) => checkTalosUpgradePath(f, t) === undefined));
  });

  it("k8s_path_problem matches checkKubernetesUpgradePath on every pair", () => {
    const input = pairs.map((p): [string, string] => [p.from, p.to]);
    const got = scriptAccepts("k8s_path_problem", input);
    expect(got).toEqual(input.map(([f, t]) => checkKubernetesUpgradePath(f, t) === undefined));
  });

  it("both refuse garbage versions", () => {
    expect(
      scriptAccepts("talos_path_problem", [
        ["latest", "v1.13.9"],
        ["v1.13", "v1.13.9"],
      ]),
    ).toEqual([false, false]);
    expect(scriptAccepts("k8s_path_problem", [["1.36", "1.36.0"]])).toEqual([false]);
  });
});

describe("lifecycle_upgrade: which nodes talosctl 1.13 upgrades through the LifecycleService API", () => {
  // talos@v1.13.9 cmd/talosctl/cmd/talos/upgrade.go: talosUpgradeAPIVersionRange = ">1.13.0-alpha.2 <2.0.0".
  it("takes exactly the Talos versions in >1.13.0-alpha.2 <2.0.0", () => {
    const cases: Array<[string, boolean]> = [
      ["v1.12.6", false],
      ["v1.13.0-alpha.1", false],
      ["v1.13.0-alpha.2", false],
      ["v1.13.0-alpha.3", true],
      ["v1.13.0-alpha.10", true],
      ["v1.13.0-beta.0", true],
      ["v1.13.0-rc.1", true],
      ["v1.13.0", true],
      ["v1.13.9", true],
      ["1.14.0-rc.1", true],
      ["v1.99.0", true],
      ["v2.0.0", false],
      ["v0.14.0", false],
      ["latest", false],
    ];
    expect(
      scriptAccepts(
        "lifecycle_upgrade",
        cases.map(([v]) => [v]),
      ),
    ).toEqual(cases.map(([, want]) => want));
  });

  it("prerelease_after orders pre-releases as semver does (a strict total order, alpha.9 < alpha.10 < beta)", () => {
    const ids = [
      "alpha",
      "alpha.1",
      "alpha.2",
      "alpha.9",
      "alpha.10",
      "alpha.beta",
      "beta",
      "beta.2",
      "beta.11",
      "rc.1",
    ];
    const pairs = ids.flatMap((a, i) => ids.map((b, j) => ({ a, b, after: i > j })));
    expect(
      scriptAccepts(
        "prerelease_after",
        pairs.map(({ a, b }) => [a, b]),
      ),
    ).toEqual(pairs.map((p) => p.after));
  });
});
