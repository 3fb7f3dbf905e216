/**
 * StagedReboots under the project's strict mocks: one reboot command per node, chained in rollout order
 * (control planes one at a time, then worker batches), each depending on its own config apply, triggered by
 * what the apply resolved (so preview replaces exactly the commands of nodes whose change was staged), and
 * TalosCluster's applies using staged_if_needing_reboot with their reboots registered.
 *
 * The applies are real ConfigurationApply registrations whose two outputs the component reads are replaced,
 * so a test can choose what the provider resolved (the strict mocks resolve staged_if_needing_reboot to "auto", as the provider does when it
 * cannot ask a node).
 */
import * as pulumi from "@pulumi/pulumi";
import * as talos from "@pulumiverse/talos";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ClusterSpec } from "../components/config/spec";
import { installMocks, type RecordedResource, type StrictMocks } from "./support/mocks";
import { promiseOf } from "./support/outputs";
import { testSpec } from "./support/spec";
import type { StagedApply } from "../components/upgrade/staged-reboot";

type Module = typeof import("../components/upgrade/staged-reboot");
let mocks: StrictMocks;
let sr: Module;
let commandScript: typeof import("../components/upgrade").commandScript;

const TALOSCONFIG = "context: home\ncontexts:\n  home:\n    key: SECRET-KEY-77aa\n";

beforeAll(async () => {
  mocks = await installMocks();
  sr = await import("../components/upgrade/staged-reboot");
  commandScript = (await import("../components/upgrade")).commandScript;
});

beforeEach(() => mocks.reset());

/**
 * A real ConfigurationApply (a custom resource, so a dependency on it is recorded as such) whose two outputs
 * StagedReboots reads are what the test says the provider resolved.
 */
function applyResolvedAs(name: string, address: string, mode: string, hash: string): StagedApply {
  const apply = new talos.machine.ConfigurationApply(name, {
    node: address,
    clientConfiguration: { caCertificate: "ca", clientCertificate: "cert", clientKey: "key" },
    machineConfigurationInput: "version: v1alpha1\n",
    applyMode: "staged_if_needing_reboot",
  });
  return Object.create(apply, {
    resolvedApplyMode: { value: pulumi.output(mode) },
    machineConfigurationHash: { value: pulumi.output(hash) },
  }) as StagedApply;
}

/** Registers StagedReboots with each node's apply resolved by MODE; returns its commands by node name. */
async function program(name: string, spec: ClusterSpec, mode: (node: string) => string, hash = "h1") {
  const applies = Object.fromEntries(
    spec.nodes.map((n) => [
      n.name,
      applyResolvedAs(`${name}-apply-${n.name}`, n.address, mode(n.name), `${hash}-${n.name}`),
    ]),
  );
  const component = new sr.StagedReboots(name, { spec, applies, talosconfig: pulumi.secret(TALOSCONFIG) });
  await Promise.all(Object.values(component.reboots).map((c) => promiseOf(c.urn)));
  const byNode = new Map<string, RecordedResource>();
  for (const r of mocks.resources)
    if (r.type === "command:local:Command" && r.name.startsWith(`${name}-reboot-`))
      byNode.set(r.name.slice(`${name}-reboot-`.length), r);
  const urns = new Map<string, string>();
  for (const [n, a] of Object.entries(applies)) urns.set((await promiseOf(a.urn))!, `apply-${n}`);
  for (const [n, c] of Object.entries(component.reboots)) urns.set((await promiseOf(c.urn))!, n);
  const deps = (node: string) =>
    (byNode.get(node)!.options?.dependencies ?? []).map((u) => urns.get(u) ?? u).sort();
  return { component, commands: byNode, deps };
}

const spec = (workers = 3, batch = 2) =>
  testSpec({ talosVersion: "v1.13.9", workers, workerBatchSize: batch });

describe("StagedReboots", () => {
  it("chains control planes one at a time, then worker batches, each after its own apply", async () => {
    const { component, commands, deps } = await program("r", spec(), () => "staged");

    expect([...commands.keys()].sort()).toEqual(["cp-1", "cp-2", "cp-3", "worker-1", "worker-2", "worker-3"]);
    expect(deps("cp-1")).toEqual(["apply-cp-1"]);
    expect(deps("cp-2")).toEqual(["apply-cp-2", "cp-1"]);
    expect(deps("cp-3")).toEqual(["apply-cp-3", "cp-2"]);
    expect(deps("worker-1")).toEqual(["apply-worker-1", "cp-3"]);
    expect(deps("worker-2")).toEqual(["apply-worker-2", "cp-3"]);
    expect(deps("worker-3")).toEqual(["apply-worker-3", "worker-1", "worker-2"]);
    expect(component.complete).toEqual([component.reboots["worker-3"]]);
  });

  it("runs the staged-reboot script with the node, its resolved mode, and the talosconfig only as a secret", async () => {
    const { commands } = await program("r", spec(), (n) => (n === "cp-2" ? "staged" : "auto"));
    const cp2 = commands.get("cp-2")!;

    expect(cp2.inputs.create).toBe(commandScript("staged-reboot"));
    expect(cp2.inputs.interpreter).toEqual(["/bin/bash", "-c"]);
    expect(cp2.inputs.environment).toMatchObject({
      NODE: "10.0.0.2",
      NODE_NAME: "cp-2",
      NODE_ROLE: "controlplane",
      APPLY_MODE: "staged",
      TARGET_VERSION: "v1.13.9",
      TALOSCONFIG_DATA: TALOSCONFIG,
    });
    expect(commands.get("worker-1")!.inputs.environment.APPLY_MODE).toBe("auto");
    for (const r of commands.values()) {
      expect(r.secretInputs).toEqual(["environment"]);
      expect(r.options?.ignoreChanges?.sort()).toEqual(["create", "environment"]);
      expect(r.options?.replaceOnChanges).toContain("triggers[*]");
      const { environment: _env, ...rest } = r.inputs;
      expect(JSON.stringify(rest)).not.toContain("SECRET-KEY");
    }
  });

  it("triggers name the staged configuration, so preview replaces exactly the nodes that will reboot", async () => {
    const before = await program("a", spec(), () => "auto", "h1");
    const staged = ["cp-1", "cp-3"];
    const after = await program("b", spec(), (n) => (staged.includes(n) ? "staged" : "auto"), "h2");
    const replaced = [...after.commands]
      .filter(
        ([n, r]) =>
          JSON.stringify(r.inputs.triggers) !== JSON.stringify(before.commands.get(n)!.inputs.triggers),
      )
      .map(([n]) => n);

    expect(replaced).toEqual(staged);
    expect(after.commands.get("cp-1")!.inputs.triggers).toEqual([
      "reboot to apply staged configuration sha256:h2-cp-1",
    ]);
    // A further change that needs no reboot replaces nothing that had none either.
    const again = await program("c", spec(), () => "auto", "h3");
    expect(again.commands.get("worker-1")!.inputs.triggers).toEqual(
      before.commands.get("worker-1")!.inputs.triggers,
    );
  });

  it("refuses a node without a config apply (a program bug) before registering anything", () => {
    const s = spec();
    expect(() => new sr.StagedReboots("x", { spec: s, applies: {}, talosconfig: TALOSCONFIG })).toThrow(
      /no config apply for node\(s\) cp-1, cp-2, cp-3, worker-1, worker-2, worker-3/,
    );
  });
});

describe("rebootTrigger", () => {
  it("is the same for every change applied without a reboot and differs per staged configuration", () => {
    expect(sr.rebootTrigger("auto", "a")).toBe(sr.rebootTrigger("auto", "b"));
    expect(sr.rebootTrigger("staged", "a")).not.toBe(sr.rebootTrigger("staged", "b"));
    expect(sr.rebootTrigger("staged", "a")).not.toBe(sr.rebootTrigger("auto", "a"));
  });
});
