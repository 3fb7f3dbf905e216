/**
 * Engine tier: the node lifecycle as the real engine runs it. Each Day-2 path is one edit of the stack file and
 * one `up` (or `destroy`), checked on the simulated cluster the talos stand-in and the fake talosctl/kubectl share
 * (tests/engine/standins: a Node object or etcd member left behind fails the final health check, as on a real
 * cluster). What only the engine decides, and is proved here: that the membership step runs inside the `up`,
 * before the health check and before the removed node's resources are deleted; that a rename is a create of the
 * new apply then a delete of the old one (create-before-delete), and that delete wipes nothing; that a teardown
 * deletes the membership step (the resets) and skips the CNI's deletes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readCluster } from "./standins/talos/cluster";
import { readNode } from "./standins/talos/nodes";
import { EngineProject, shippedStackFile, type Step } from "./harness";

const projects: EngineProject[] = [];
afterEach(() => {
  for (const p of projects.splice(0)) p.dispose();
});

async function provisioned(stack: string, stackFile: string): Promise<EngineProject> {
  const p = await EngineProject.create({ stack, stackFile });
  projects.push(p);
  await p.up();
  return p;
}

const HOME = shippedStackFile("home");
const WORKER_1 = [
  "    - name: worker-1",
  "      address: 127.168.1.11",
  "      role: worker",
  "      installDisk: /dev/sda",
  "      labels:",
  '        homelab.example/storage: "true"',
  "",
].join("\n");
const withoutWorker = (file: string) => {
  const out = file.replace(WORKER_1, "");
  expect(out, "the edit applies to the shipped stack file").not.toEqual(file);
  return out;
};
const resetting = (file: string) => file.replace("config:\n", "config:\n  homelab:resetOnDestroy: true\n");
const changed = (steps: Step[]) => steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`);
const world = (p: EngineProject) => ({
  node: (address: string) => readNode(address, p.standinEnv),
  cluster: () => readCluster(p.standinEnv),
});

describe("removing a node: one edit, one up, and the up ends healthy", () => {
  it("a worker is shut down and its Node deleted inside the up, before its resources are deleted", async () => {
    const p = await provisioned("home", HOME);
    p.setStackFile(withoutWorker(HOME));
    const up = await p.up(); // the final getHealth would fail on "unexpected nodes" had the Node stayed
    const [first, ...deletes] = changed(up.steps);
    expect(first).toBe("update homelab-lifecycle-membership");
    expect(deletes.sort()).toEqual([
      "delete homelab-reboots-reboot-worker-1",
      "delete homelab-upgrade-os-worker-1",
      "delete homelab-worker-1",
    ]);
    expect(world(p).node("127.168.1.11")?.halted).toBe(true);
    expect(Object.keys(world(p).cluster().k8sNodes)).toEqual(["control-plane-1"]);
    expect(changed((await p.up()).steps)).toEqual([]);
  });

  it("control planes leave etcd one at a time, are shut down, and their Nodes deleted; the last carries on", async () => {
    // 3 -> 1 in one change: the program refuses 2 control planes (etcd quorum), so both go together.
    const ha = shippedStackFile("example-ha");
    const p = await provisioned("ha", ha);
    const cp = (n: number) =>
      `    - name: cp-${n}\n      address: 127.168.1.3${n}\n      role: controlplane\n`;
    expect(ha).toContain(cp(2) + cp(3));
    p.setStackFile(ha.replace(cp(2) + cp(3), ""));
    await p.up();
    expect(Object.keys(world(p).cluster().etcdMembers).sort()).toEqual(["127.168.1.31"]);
    for (const n of [2, 3]) {
      expect(world(p).cluster().k8sNodes[`cp-${n}`]).toBeUndefined();
      expect(world(p).node(`127.168.1.3${n}`)?.halted).toBe(true);
    }
    expect(changed((await p.up()).steps)).toEqual([]);
  });

  it("reset in the same change that removes the node: the machine is wiped back to maintenance mode", async () => {
    const p = await provisioned("home", HOME);
    p.setStackFile(resetting(withoutWorker(HOME)));
    await p.up();
    expect(world(p).node("127.168.1.11")).toBeUndefined();
    const reset = p.tool("talosctl", [
      "-e",
      "127.168.1.11",
      "-n",
      "127.168.1.11",
      "get",
      "machinestatus",
      "--insecure",
      "-o",
      "jsonpath={.spec.stage}",
    ]);
    expect(reset.stdout).toBe("maintenance\n");
    expect(Object.keys(world(p).cluster().k8sNodes)).toEqual(["control-plane-1"]);
  });
});

describe("renaming a node", () => {
  it("creates the new apply before deleting the old one, and the delete never wipes the machine, even with resetOnDestroy", async () => {
    const p = await provisioned("home", resetting(HOME));
    const applies = world(p).node("127.168.1.11")!.applies;
    p.setStackFile(resetting(HOME).replace("- name: worker-1", "- name: storage-1"));
    const up = await p.up();
    const steps = changed(up.steps);
    expect(steps.indexOf("create homelab-storage-1")).toBeGreaterThanOrEqual(0);
    expect(steps.indexOf("create homelab-storage-1")).toBeLessThan(steps.indexOf("delete homelab-worker-1"));
    expect(steps.indexOf("update homelab-lifecycle-membership")).toBeLessThan(
      steps.indexOf("delete homelab-worker-1"),
    );
    // Still the same configured machine, configured once more; only the Node under the old hostname went.
    expect(world(p).node("127.168.1.11")?.applies).toBe(applies + 1);
    expect(Object.keys(world(p).cluster().k8sNodes).sort()).toEqual(["control-plane-1", "storage-1"]);
    const deleted = p.calls().find((c) => c.method === "delete" && c.urn?.endsWith("::homelab-worker-1"));
    expect((deleted?.inputs as { onDestroy?: unknown }).onDestroy).toEqual({
      reset: false,
      graceful: true,
      reboot: false,
    });
    expect(changed((await p.up()).steps)).toEqual([]);
  });
});

describe("tearing down a one-control-plane stack with resetOnDestroy", () => {
  it("completes: the worker is reset gracefully, the last etcd member ungracefully, the CNI's deletes are skipped", async () => {
    const p = await provisioned("home", resetting(HOME));
    const secrets = p
      .stateText()
      .match(/urn:pulumi:home::homelab::[^"]*talos:machine\/secrets:Secrets::homelab-secrets/)![0];
    const unprotect = p.cli(["state", "unprotect", secrets, "--yes"]);
    expect(unprotect.status, unprotect.stderr).toBe(0);
    const destroyed = await p.destroy();
    expect(changed(destroyed.steps)).toContain("delete homelab-lifecycle-membership");
    expect(world(p).node("127.168.1.10")).toBeUndefined();
    expect(world(p).node("127.168.1.11")).toBeUndefined();
    const tools = fs
      .readFileSync(path.join(p.standinEnv.STANDIN_STATE!, "tool-calls.log"), "utf8")
      .split("\n");
    const resets = tools
      .filter((c) => c.includes(" reset "))
      .map((c) => `${/-n (\S+)/.exec(c)?.[1]} graceful=${/--graceful=(\w+)/.exec(c)?.[1]}`);
    expect(resets).toEqual(["127.168.1.11 graceful=true", "127.168.1.10 graceful=false"]);
    const kubernetesDeletes = p.calls().filter((c) => c.provider === "kubernetes" && c.method === "delete");
    expect(kubernetesDeletes).toEqual([]);
  });
});
