/**
 * What a version bump in the stack file changes in the whole program, as the engine would diff it:
 * inputs compared between two runs, minus what each resource's ignoreChanges masks.
 */
import { describe, expect, it } from "vitest";
import { encodeConfig, runProgram, type ProgramRun } from "./support/program";

const nodes = [
  { name: "cp-1", address: "10.0.0.1", role: "controlplane" },
  { name: "cp-2", address: "10.0.0.2", role: "controlplane" },
  { name: "cp-3", address: "10.0.0.3", role: "controlplane" },
  { name: "worker-1", address: "10.0.0.11", role: "worker" },
  { name: "worker-2", address: "10.0.0.12", role: "worker" },
];
const stack = (talosVersion: string, kubernetesVersion: string) =>
  encodeConfig({
    "homelab:nodes": nodes,
    "homelab:talosVersion": talosVersion,
    "homelab:kubernetesVersion": kubernetesVersion,
  });

/** Resource → its inputs with ignored top-level properties removed, keyed `type::name`. */
function effectiveInputs(run: ProgramRun): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of run.resources) {
    const ignored = new Set(r.options?.ignoreChanges ?? []);
    const kept = Object.fromEntries(Object.entries(r.inputs).filter(([k]) => !ignored.has(k)));
    out.set(`${r.type}::${r.name}`, JSON.stringify(kept));
  }
  return out;
}

function changed(before: ProgramRun, after: ProgramRun): string[] {
  const a = effectiveInputs(before);
  const b = effectiveInputs(after);
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort()); // a bump adds or removes nothing
  return [...b.keys()]
    .filter((k) => a.get(k) !== b.get(k))
    .map((k) => k.slice(k.lastIndexOf("::") + 2))
    .sort();
}

const applies = nodes.map((n) => `homelab-${n.name}`);
const osUpgrades = nodes.map((n) => `homelab-upgrade-os-${n.name}`);

describe("a version bump changes exactly what it should", async () => {
  const base = await runProgram(stack("v1.13.8", "1.35.2"));
  const talosBump = await runProgram(stack("v1.13.9", "1.35.2"));
  const k8sBump = await runProgram(stack("v1.13.8", "1.36.0"));
  const both = await runProgram(stack("v1.13.9", "1.36.0"));

  it("all runs load cleanly", () => {
    for (const run of [base, talosBump, k8sBump, both]) {
      expect(run.error).toBeUndefined();
      expect(run.mocks.problems).toEqual([]);
    }
  });

  it("Talos bump: the snapshot, one OS upgrade per node and the configs; no Kubernetes upgrade, secrets or bootstrap", () => {
    expect(changed(base, talosBump)).toEqual(
      [...applies, ...osUpgrades, "homelab-upgrade-etcd-snapshot"].sort(),
    );
  });

  it("Kubernetes bump: upgrade-k8s and the configs that carry the new version; no OS upgrade", () => {
    expect(changed(base, k8sBump)).toEqual([...applies, "homelab-upgrade-kubernetes"].sort());
  });

  it("both at once: every OS upgrade, then upgrade-k8s, then configs", () => {
    expect(changed(base, both)).toEqual(
      [...applies, ...osUpgrades, "homelab-upgrade-etcd-snapshot", "homelab-upgrade-kubernetes"].sort(),
    );
  });

  it("the configs carry the bumped Kubernetes version", () => {
    const invoke = k8sBump.mocks.invokes.find(
      (i) => i.token === "talos:machine/getConfiguration:getConfiguration",
    )!;
    expect(invoke.inputs.kubernetesVersion).toBe("1.36.0");
  });

  it("every config apply waits for the end of the rollout", () => {
    for (const apply of both.byType("talos:machine/configurationApply:ConfigurationApply")) {
      expect(
        (apply.options?.dependencies ?? []).some((d) => d.endsWith("::homelab-upgrade-kubernetes")),
      ).toBe(true);
    }
  });
});
