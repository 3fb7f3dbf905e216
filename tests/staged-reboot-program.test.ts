/**
 * The whole program under the strict mocks: every config apply asks the provider to stage a change that needs
 * a reboot (never `auto`, which reboots every node at once), and every node has its reboot command, after its
 * own apply, chained in rollout order. On a new cluster the mocks resolve every apply to "auto" (what the
 * provider answers for a node in maintenance mode), so no command would reboot anything.
 */
import { describe, expect, it } from "vitest";
import { encodeConfig, runProgram } from "./support/program";
import { stackNodes } from "./support/spec";

const APPLY = "talos:machine/configurationApply:ConfigurationApply";
const urnName = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

describe("a 3+2 cluster", async () => {
  const run = await runProgram(encodeConfig({ "homelab:nodes": stackNodes(3, 2) }));
  const reboots = run.byType("command:local:Command").filter((r) => r.name.startsWith("homelab-reboots-"));
  const deps = (node: string) =>
    (reboots.find((r) => r.name === `homelab-reboots-reboot-${node}`)!.options?.dependencies ?? [])
      .map(urnName)
      // The talosconfig comes from the secrets bundle; only the applies and the chain matter here.
      .filter((n) => n !== "homelab-secrets")
      .sort();

  it("loads and honours the provider contract", () => {
    expect(run.error).toBeUndefined();
    expect(run.mocks.problems).toEqual([]);
  });

  it("applies every node's configuration with staged_if_needing_reboot", () => {
    const applies = run.byType(APPLY);
    expect(applies).toHaveLength(5);
    for (const a of applies) expect(a.inputs.applyMode).toBe("staged_if_needing_reboot");
  });

  it("registers one reboot per node, after its own apply, control planes one at a time, then workers", () => {
    expect(reboots.map((r) => r.name).sort()).toEqual(
      ["cp-1", "cp-2", "cp-3", "worker-1", "worker-2"].map((n) => `homelab-reboots-reboot-${n}`),
    );
    expect(deps("cp-1")).toEqual(["homelab-cp-1"]);
    expect(deps("cp-2")).toEqual(["homelab-cp-2", "homelab-reboots-reboot-cp-1"]);
    expect(deps("cp-3")).toEqual(["homelab-cp-3", "homelab-reboots-reboot-cp-2"]);
    expect(deps("worker-1")).toContain("homelab-reboots-reboot-cp-3");
    for (const r of reboots) {
      expect(r.inputs.environment.APPLY_MODE).toBe("auto");
      expect(r.inputs.triggers).toEqual(["applied without a reboot"]);
    }
  });
});

describe("a Talos 1.12 cluster", async () => {
  const run = await runProgram(
    encodeConfig({
      "homelab:nodes": stackNodes(1, 1),
      "homelab:talosVersion": "v1.12.11",
      "homelab:kubernetesVersion": "1.35.0",
    }),
  );

  it("applies in auto mode: 1.12's maintenance mode would refuse the staged first apply", () => {
    expect(run.error).toBeUndefined();
    const applies = run.byType(APPLY);
    expect(applies).toHaveLength(2);
    for (const a of applies) expect(a.inputs.applyMode).toBe("auto");
  });
});
