/**
 * ClusterUpgrade under the project's strict mocks: which commands it registers, how they are chained, what
 * they carry, and — comparing the registrations of programs run with different specs the way the engine
 * compares a stack's state with a new program — which commands a bump re-runs.
 *
 * Engine rules applied in `changes` (pulumi/pulumi step_generator + @pulumi/command 1.2.1): a command whose
 * `triggers` differ is replaced (its create runs: SDK-added replaceOnChanges `triggers[*]`); one whose other
 * non-ignored inputs differ is updated; `ignoreChanges` inputs never cause either.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ClusterSpec } from "../components/config/spec";
import { testSpec } from "./support/spec";
import { installMocks, type RecordedResource, type StrictMocks } from "./support/mocks";
import { promiseOf } from "./support/outputs";

type UpgradeModule = typeof import("../components/upgrade");
let mocks: StrictMocks;
let up: UpgradeModule;

const TALOSCONFIG = "context: home\ncontexts:\n  home:\n    key: SECRET-KEY-4b1d\n";

beforeAll(async () => {
  mocks = await installMocks();
  up = await import("../components/upgrade");
});

beforeEach(() => mocks.reset());

const makeSpec = (
  o: { talos?: string; k8s?: string; workers?: number; batch?: number; nodeTimeout?: string } = {},
) =>
  testSpec({
    talosVersion: o.talos,
    kubernetesVersion: o.k8s,
    workers: o.workers,
    workerBatchSize: o.batch,
    nodeTimeout: o.nodeTimeout,
  });

const image = (spec: ClusterSpec) => `ghcr.io/siderolabs/installer:${spec.talosVersion}`;

/** Registers a ClusterUpgrade and waits until every command is registered; returns its commands by child name. */
async function program(name: string, spec: ClusterSpec, talosconfig = TALOSCONFIG) {
  // The image arrives as an Output, as it does from the lead's TalosCluster (it may come from a schematic).
  const component = new up.ClusterUpgrade(name, {
    spec,
    installerImage: pulumi.output(image(spec)),
    talosconfig: pulumi.secret(talosconfig),
  });
  const all = [component.etcdSnapshot, ...Object.values(component.nodeUpgrades), component.kubernetesUpgrade];
  await Promise.all(all.map((c) => promiseOf(c.urn)));
  const byChild = new Map<string, RecordedResource>();
  for (const r of mocks.resources) {
    if (r.type === "command:local:Command" && r.name.startsWith(`${name}-`))
      byChild.set(r.name.slice(name.length + 1), r);
  }
  return { component, commands: byChild };
}

function childName(urn: string): string {
  const r = mocks.resources.find((x) => x.urn === urn);
  return r ? r.name.replace(/^[^-]+-/, "") : urn;
}

const deps = (r: RecordedResource) => (r.options?.dependencies ?? []).map(childName).sort();

type Change = "replace" | "update";

/** What the engine would do to each command of `before` when the program becomes `after`. */
function changes(before: Map<string, RecordedResource>, after: Map<string, RecordedResource>) {
  const out: Record<string, Change | "create" | "delete"> = {};
  for (const [child, next] of after) {
    const prev = before.get(child);
    if (!prev) {
      out[child] = "create";
      continue;
    }
    const ignored = new Set(next.options?.ignoreChanges ?? []);
    const differs = (k: string) => JSON.stringify(prev.inputs[k]) !== JSON.stringify(next.inputs[k]);
    const keys = new Set([...Object.keys(prev.inputs), ...Object.keys(next.inputs)]);
    if (differs("triggers")) out[child] = "replace";
    else if ([...keys].some((k) => !ignored.has(k) && differs(k))) out[child] = "update";
  }
  for (const child of before.keys()) if (!after.has(child)) out[child] = "delete";
  return out;
}

const OS = ["cp-1", "cp-2", "cp-3", "worker-1", "worker-2", "worker-3"].map((n) => `os-${n}`);

describe("ClusterUpgrade commands", () => {
  it("registers one OS upgrade per node, one etcd snapshot and one Kubernetes upgrade, under the component", async () => {
    const { component, commands } = await program("home", makeSpec());

    expect([...commands.keys()].sort()).toEqual(["etcd-snapshot", "kubernetes", ...OS].sort());
    expect(Object.keys(component.nodeUpgrades)).toEqual([
      "cp-1",
      "cp-2",
      "cp-3",
      "worker-1",
      "worker-2",
      "worker-3",
    ]);
    const componentUrn = await promiseOf(component.urn);
    expect(componentUrn).toContain("homelab:upgrade:ClusterUpgrade");
    for (const r of commands.values()) expect(r.options?.parent).toBe(componentUrn);
    expect(commands.get("os-worker-2")!.inputs.environment).toMatchObject({
      NODE: "10.0.0.12",
      NODE_NAME: "worker-2",
      NODE_ROLE: "worker",
      K8S_ENDPOINT: "https://10.0.0.1:6443",
      TARGET_IMAGE: "ghcr.io/siderolabs/installer:v1.12.6",
      TARGET_VERSION: "v1.12.6",
      NODE_TIMEOUT: "30m",
    });
  });

  it("chains snapshot → control planes one by one → worker batches → upgrade-k8s, and exposes the last as complete", async () => {
    const { component, commands } = await program("home", makeSpec({ workers: 3, batch: 2 }));

    expect(deps(commands.get("etcd-snapshot")!)).toEqual([]);
    expect(deps(commands.get("os-cp-1")!)).toEqual(["etcd-snapshot"]);
    expect(deps(commands.get("os-cp-2")!)).toEqual(["os-cp-1"]);
    expect(deps(commands.get("os-cp-3")!)).toEqual(["os-cp-2"]);
    expect(deps(commands.get("os-worker-1")!)).toEqual(["os-cp-3"]);
    expect(deps(commands.get("os-worker-2")!)).toEqual(["os-cp-3"]);
    expect(deps(commands.get("os-worker-3")!)).toEqual(["os-worker-1", "os-worker-2"]);
    expect(deps(commands.get("kubernetes")!)).toEqual(["os-worker-3"]);
    expect(component.complete).toEqual([component.kubernetesUpgrade]);
  });

  it("runs the shipped scripts with bash, logs their output, and never depends on anything outside the rollout", async () => {
    const { commands } = await program("home", makeSpec());
    const scriptOf: Record<string, "os-upgrade" | "etcd-snapshot" | "kubernetes-upgrade"> = {
      "etcd-snapshot": "etcd-snapshot",
      kubernetes: "kubernetes-upgrade",
    };

    for (const [child, r] of commands) {
      expect(r.inputs.create).toBe(up.commandScript(scriptOf[child] ?? "os-upgrade"));
      expect(r.inputs.interpreter).toEqual(["/bin/bash", "-c"]);
      expect(r.inputs.logging).toBe("stdoutAndStderr");
      expect(r.inputs.update).toBeUndefined();
      expect(r.inputs.delete).toBeUndefined();
      expect(r.options?.replaceOnChanges).toContain("triggers[*]");
      expect(r.options?.ignoreChanges?.sort()).toEqual(["create", "environment"]);
      for (const dep of deps(r)) expect(commands.has(dep)).toBe(true);
    }
  });

  it("hands the talosconfig over only as a secret environment variable", async () => {
    const { commands } = await program("home", makeSpec());

    for (const r of commands.values()) {
      expect(r.secretInputs).toEqual(["environment"]);
      expect(r.inputs.environment.TALOSCONFIG_DATA).toBe(TALOSCONFIG);
      const { environment: _env, ...rest } = r.inputs;
      expect(JSON.stringify(rest)).not.toContain("SECRET-KEY");
    }
  });

  it("refuses an installer image that is not the target Talos version", () => {
    expect(
      () =>
        new up.ClusterUpgrade("bad", {
          spec: makeSpec({ talos: "v1.13.9" }),
          installerImage: "ghcr.io/siderolabs/installer:v1.12.6",
          talosconfig: TALOSCONFIG,
        }),
    ).toThrow(/not tagged with talosVersion v1\.13\.9/);
  });
});

describe("what a change to the stack file re-runs", () => {
  it("a Talos bump replaces the snapshot and every node's upgrade, not the Kubernetes upgrade", async () => {
    const before = await program("a", makeSpec());
    const after = await program("b", makeSpec({ talos: "v1.13.9" }));

    expect(changes(before.commands, after.commands)).toEqual(
      Object.fromEntries(["etcd-snapshot", ...OS].map((c) => [c, "replace"])),
    );
  });

  it("a Kubernetes bump replaces only the Kubernetes upgrade", async () => {
    const before = await program("a", makeSpec());
    const after = await program("b", makeSpec({ k8s: "1.36.0" }));

    expect(changes(before.commands, after.commands)).toEqual({ kubernetes: "replace" });
  });

  it("both bumps replace every command", async () => {
    const before = await program("a", makeSpec());
    const after = await program("b", makeSpec({ talos: "v1.13.9", k8s: "1.36.0" }));

    expect(changes(before.commands, after.commands)).toEqual(
      Object.fromEntries(["etcd-snapshot", ...OS, "kubernetes"].map((c) => [c, "replace"])),
    );
  });

  it("a renewed talosconfig or another nodeTimeout re-runs nothing", async () => {
    const before = await program("a", makeSpec());
    const renewed = await program("b", makeSpec({ nodeTimeout: "45m" }), TALOSCONFIG.replace("4b1d", "9e2f"));

    expect(changes(before.commands, renewed.commands)).toEqual({});
    // …although the new values are what a later replacement would run with.
    expect(renewed.commands.get("os-cp-1")!.inputs.environment.NODE_TIMEOUT).toBe("45m");
  });

  it("adding a worker creates its command and re-runs nothing else", async () => {
    const before = await program("a", makeSpec({ workers: 3 }));
    const after = await program("b", makeSpec({ workers: 4 }));

    expect(changes(before.commands, after.commands)).toEqual({ "os-worker-4": "create" });
  });
});
