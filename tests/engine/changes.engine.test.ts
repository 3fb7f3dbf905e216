/**
 * Engine tier: what the real engine decides for each kind of change to a converged stack (example-ha: 3 control
 * planes, 2 workers, a VIP, Cilium, Image Factory extensions). Each case previews one edit of the stack file and
 * checks exactly which resources are created, updated, replaced and deleted, and in what order, as
 * `pulumi preview` reports them (resourcePreEvent metadata), with the stand-in providers' diffs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EngineProject, shippedStackFile, type Step } from "./harness";

const BASE = shippedStackFile("example-ha");
let project: EngineProject;

beforeAll(async () => {
  project = await EngineProject.create({ stack: "ha", stackFile: BASE });
  await project.up();
});
afterAll(() => project.dispose());

/** `op name` of every step that changes something, in the engine's order. */
async function previewOf(stackFile: string): Promise<string[]> {
  project.setStackFile(stackFile);
  const { steps } = await project.preview();
  return steps.filter((s: Step) => s.op !== "same").map((s) => `${s.op} ${s.name}`);
}

const CONTROL_PLANES = ["cp-1", "cp-2", "cp-3"];
const WORKERS = ["worker-1", "worker-2"];
const NODES = [...CONTROL_PLANES, ...WORKERS];
const MEMBERSHIP = "update homelab-lifecycle-membership";
const applies = (nodes: string[]) => nodes.map((n) => `update homelab-${n}`);
const replaced = (names: string[]) =>
  names.flatMap((n) => [`create-replacement ${n}`, `replace ${n}`, `delete-replaced ${n}`]);
const before = (changes: string[], a: string, b: string) => {
  expect(changes, `${a} is planned`).toContain(a);
  expect(changes, `${b} is planned`).toContain(b);
  expect(changes.indexOf(a), `${a} before ${b}`).toBeLessThan(changes.indexOf(b));
};

describe("a change to a converged cluster", () => {
  it("Talos bump: the snapshot and every node's OS upgrade re-run in rollout order, then every config applies", async () => {
    const changes = await previewOf(BASE.replace("talosVersion: v1.13.9", "talosVersion: v1.13.10"));
    const commands = ["etcd-snapshot", ...NODES.map((n) => `os-${n}`)].map((c) => `homelab-upgrade-${c}`);
    expect([...changes].sort()).toEqual([...replaced(commands), ...applies(NODES)].sort());
    const order = changes;
    before(order, "replace homelab-upgrade-etcd-snapshot", "replace homelab-upgrade-os-cp-1");
    before(order, "replace homelab-upgrade-os-cp-1", "replace homelab-upgrade-os-cp-2");
    before(order, "replace homelab-upgrade-os-cp-2", "replace homelab-upgrade-os-cp-3");
    for (const w of WORKERS)
      before(order, "replace homelab-upgrade-os-cp-3", `replace homelab-upgrade-os-${w}`);
    for (const n of NODES) before(order, `replace homelab-upgrade-os-${WORKERS[1]}`, `update homelab-${n}`);
  });

  it("Talos bump: the machine configs keep the contract the cluster was created with; configContract moves it", async () => {
    const contracts = () =>
      project
        .calls()
        .filter((c) => c.method === "invoke" && c.token === "talos:machine/getConfiguration:getConfiguration")
        .map((c) => (c.inputs as { talosVersion?: string }).talosVersion);
    const bumped = BASE.replace("talosVersion: v1.13.9", "talosVersion: v1.13.10");
    const seen = contracts().length;
    await previewOf(bumped);
    expect(new Set(contracts().slice(seen))).toEqual(new Set(["v1.13.9"]));
    const seen2 = contracts().length;
    await previewOf(bumped.replace("  homelab:nodes:", "  homelab:configContract: v1.13\n  homelab:nodes:"));
    expect(new Set(contracts().slice(seen2))).toEqual(new Set(["v1.13"]));
  });

  it("Kubernetes bump: upgrade-k8s re-runs once, then every config applies; no OS upgrade", async () => {
    const changes = await previewOf(BASE.replace("kubernetesVersion: 1.36.0", "kubernetesVersion: 1.36.1"));
    expect([...changes].sort()).toEqual(
      [...replaced(["homelab-upgrade-kubernetes"]), ...applies(NODES)].sort(),
    );
    for (const n of NODES) before(changes, "replace homelab-upgrade-kubernetes", `update homelab-${n}`);
  });

  it("extensions change: a new schematic (replaced, so its ID changes), every node upgrades onto it", async () => {
    const changes = await previewOf(BASE.replace("    - siderolabs/util-linux-tools\n", ""));
    const commands = ["etcd-snapshot", ...NODES.map((n) => `os-${n}`)].map((c) => `homelab-upgrade-${c}`);
    // The configs name the new schematic's ID, unknown until it is replaced: the provider cannot dry-run the
    // applies, so every node's reboot command may re-run (it reboots only the nodes that resolve to "staged").
    const reboots = NODES.map((n) => `homelab-reboots-reboot-${n}`);
    expect([...changes].sort()).toEqual(
      [
        ...replaced(["homelab-schematic"]),
        ...replaced(commands),
        ...replaced(reboots),
        ...applies(NODES),
      ].sort(),
    );
    before(changes, "replace homelab-schematic", "replace homelab-upgrade-etcd-snapshot");
  });

  it("a node's patch changes: only that node's config applies", async () => {
    expect(await previewOf(BASE.replace('max-pods: "150"', 'max-pods: "200"'))).toEqual([
      "update homelab-worker-2",
    ]);
  });

  it("a worker added: its rollout step, its apply and its reboot command are created; control planes stop taking workloads at 3 workers; the membership step records it", async () => {
    const added = BASE.replace(
      "  homelab:patches:",
      "    - name: worker-3\n      address: 127.168.1.43\n      role: worker\n  homelab:patches:",
    );
    const changes = await previewOf(added);
    expect([...changes].sort()).toEqual(
      [
        "create homelab-upgrade-os-worker-3",
        "create homelab-worker-3",
        "create homelab-reboots-reboot-worker-3",
        ...applies(CONTROL_PLANES),
        MEMBERSHIP,
      ].sort(),
    );
    before(changes, "create homelab-upgrade-os-worker-3", "create homelab-worker-3");
    before(changes, "create homelab-worker-3", "create homelab-reboots-reboot-worker-3");
    before(changes, "create homelab-worker-3", MEMBERSHIP);
  });

  it("a worker removed: the membership step decommissions it, then its apply, its rollout step and its reboot command are deleted", async () => {
    const worker1 = [
      "    - name: worker-1",
      "      address: 127.168.1.41",
      "      role: worker",
      "      labels:",
      "        topology.kubernetes.io/zone: rack-a",
      "",
    ].join("\n");
    const removed = BASE.replace(worker1, "");
    expect(removed).not.toEqual(BASE);
    const changes = await previewOf(removed);
    expect([...changes].sort()).toEqual(
      [
        MEMBERSHIP,
        "delete homelab-worker-1",
        "delete homelab-upgrade-os-worker-1",
        "delete homelab-reboots-reboot-worker-1",
      ].sort(),
    );
    before(changes, MEMBERSHIP, "delete homelab-worker-1");
  });

  it("the cluster renamed: every config applies again; the protected machine secrets stay", async () => {
    const changes = await previewOf(BASE.replace("homelab:clusterName: ha", "homelab:clusterName: ha2"));
    // The membership step's talosconfig names the cluster: an update that removes nothing.
    expect([...changes].sort()).toEqual([...applies(NODES), MEMBERSHIP].sort());
  });
});
