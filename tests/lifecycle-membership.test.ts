/**
 * components/lifecycle/scripts/membership.sh, the membership command's create and update, run for real against a
 * simulated cluster (tests/support/lifecycle-world.ts): which nodes it decommissions, how, in which order, what it
 * refuses before touching anything, and that a rename is never a removal.
 */
import fc from "fast-check";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { CREDENTIALS, table, useWorld, type Machine } from "./support/lifecycle-world";

const world = useWorld();

const cp = (n: number, extra: Partial<Machine> = {}): Machine => ({
  name: `cp-${n}`,
  address: `127.0.10.${n}`,
  role: "controlplane",
  ...extra,
});
const worker = (n: number, extra: Partial<Machine> = {}): Machine => ({
  name: `worker-${n}`,
  address: `127.0.20.${n}`,
  role: "worker",
  ...extra,
});

/** The membership command's update: the table it printed last time, the stack's new one. */
function update(before: Machine[], after: Machine[], env: Record<string, string> = {}) {
  return world.run("membership", {
    ...CREDENTIALS,
    MEMBERS: table(after),
    PULUMI_COMMAND_STDOUT: table(before),
    RESET: "false",
    JOIN_TIMEOUT: "0",
    ...env,
  });
}

const talosCalls = () =>
  world
    .calls()
    .filter((c) => !c.includes("get machinestatus"))
    .map((c) => c.replace(/ --talosconfig <file>| --kubeconfig <file>/g, ""));

describe("a node removed from the stack", () => {
  it("a worker is shut down, then its Kubernetes Node deleted; the new table is printed", async () => {
    const all = [cp(1), worker(1), worker(2)];
    world.boot(all);
    const r = update(all, [cp(1), worker(2)]);
    expect(r.stderr).toContain("worker worker-1 (127.0.20.1): shutting down");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${table([cp(1), worker(2)])}\n`);
    expect(world.stateOf("127.0.20.1")).toBe("off");
    expect(Object.keys(world.cluster().k8sNodes).sort()).toEqual(["cp-1", "worker-2"]);
    expect(talosCalls()).toEqual([
      "talosctl -e 127.0.20.1 -n 127.0.20.1 shutdown --wait --timeout 30m",
      "kubectl delete node worker-1 --ignore-not-found --wait=true --timeout=120s",
    ]);
  });

  it("with RESET=true it is reset instead (graceful, STATE and EPHEMERAL wiped) and comes back in maintenance mode", async () => {
    const all = [cp(1), worker(1)];
    world.boot(all);
    const r = update(all, [cp(1)], { RESET: "true" });
    expect(r.status, r.stderr).toBe(0);
    expect(world.stateOf("127.0.20.1")).toBe("maintenance");
    expect(talosCalls()[0]).toBe(
      "talosctl -e 127.0.20.1 -n 127.0.20.1 reset --graceful=true --reboot --system-labels-to-wipe STATE --system-labels-to-wipe EPHEMERAL --wait --timeout 30m",
    );
    expect(world.cluster().k8sNodes).toEqual({ "cp-1": "127.0.10.1" });
  });

  it("a control plane leaves etcd first, then is shut down; workers go before control planes", async () => {
    const all = [cp(1), cp(2), cp(3), worker(1)];
    world.boot(all);
    const r = update(all, [cp(1), cp(2), worker(1)]);
    expect(r.status, r.stderr).toBe(0);
    expect(talosCalls()).toEqual([
      "talosctl -e 127.0.10.3 -n 127.0.10.3 etcd leave",
      "talosctl -e 127.0.10.3 -n 127.0.10.3 shutdown --wait --timeout 30m",
      "kubectl delete node cp-3 --ignore-not-found --wait=true --timeout=120s",
    ]);
    expect(Object.keys(world.cluster().etcdMembers).sort()).toEqual(["127.0.10.1", "127.0.10.2"]);

    const both = update([cp(1), cp(2), worker(1)], [cp(1)]);
    expect(both.status, both.stderr).toBe(0);
    const order = talosCalls().slice(3);
    expect(order.findIndex((c) => c.includes("127.0.20.1 shutdown"))).toBeLessThan(
      order.findIndex((c) => c.includes("127.0.10.2 etcd leave")),
    );
  });

  it("a control plane that does not answer is removed from etcd through another one, and reported", async () => {
    const all = [cp(1), cp(2), cp(3)];
    world.boot(all);
    const tc = path.join(world.dir, "tc");
    fs.writeFileSync(tc, "x", { mode: 0o600 });
    expect(
      world.tool("talosctl", ["--talosconfig", tc, "-e", "127.0.10.3", "-n", "127.0.10.3", "shutdown"])
        .status,
    ).toBe(0);
    const r = update(all, [cp(1), cp(2)]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/does not answer: removing its etcd member [0-9a-f]{16} from 127\.0\.10\.1/);
    expect(r.stderr).toMatch(/WARNING: controlplane cp-3 .* neither shut down nor reset/);
    expect(Object.keys(world.cluster().etcdMembers).sort()).toEqual(["127.0.10.1", "127.0.10.2"]);
    expect(world.cluster().k8sNodes["cp-3"]).toBeUndefined();
  });

  it("a failed run is finished by the next one from the same old table (nothing done twice harms)", async () => {
    const all = [cp(1), cp(2), worker(1)];
    world.boot(all);
    expect(update(all, [cp(1)]).status).toBe(0);
    // The engine keeps the old stdout when an update fails: the next run starts from the same table.
    const again = update(all, [cp(1)]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/cp-2 .* is not an etcd member/);
    expect(Object.keys(world.cluster().etcdMembers)).toEqual(["127.0.10.1"]);
  });
});

describe("refused before any node is touched", () => {
  it("etcd refusing the leave (here: the last member) stops the removal with what to do", async () => {
    const all = [cp(1), cp(2)];
    world.boot(all);
    world.setCluster({ ...world.cluster(), etcdMembers: { "127.0.10.1": "cp-1" } });
    const r = update(all, [cp(2)]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      "etcd refused to let controlplane cp-1 (127.0.10.1) leave; it was not shut down or reset.",
    );
    expect(world.stateOf("127.0.10.1")).toBe("running");
    expect(world.cluster().k8sNodes["cp-1"]).toBe("127.0.10.1");
  });

  it("a control plane added in the same change must have joined etcd before the old one is removed", async () => {
    world.boot([cp(1), cp(2)], [cp(1)]);
    const r = update([cp(1)], [cp(2)]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("control plane cp-2 (127.0.10.2), added in this change, has not joined etcd");
    expect(r.stderr).toContain("no node was removed");
    expect(talosCalls().filter((c) => !c.includes("etcd members"))).toEqual([]);

    world.boot([cp(2)]);
    const joined = update([cp(1)], [cp(2)]);
    expect(joined.status, joined.stderr).toBe(0);
    expect(Object.keys(world.cluster().etcdMembers)).toEqual(["127.0.10.2"]);
  });

  it("without kubectl on PATH nothing is done, and the message says what to install", async () => {
    const all = [cp(1), worker(1)];
    world.boot(all);
    const r = world.run(
      "membership",
      { ...CREDENTIALS, MEMBERS: table([cp(1)]), PULUMI_COMMAND_STDOUT: table(all) },
      undefined,
      [world.sandboxPath(["talosctl"])],
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("removing nodes needs kubectl on PATH; nothing was changed.");
    expect(world.calls()).toEqual([]);
  });
});

describe("not a removal", () => {
  it("a first run (no previous table) and an unchanged table touch nothing", async () => {
    const all = [cp(1), worker(1)];
    world.boot(all);
    const created = world.run("membership", { MEMBERS: table(all) });
    expect(created.status).toBe(0);
    expect(created.stdout).toBe(`${table(all)}\n`);
    expect(update(all, all).status).toBe(0);
    expect(world.calls()).toEqual([]);
  });

  it("a rename keeps the machine, even with RESET=true; only the Node left under the old hostname goes", async () => {
    const before = [cp(1), worker(1)];
    world.boot(before);
    const renamed = worker(1, { name: "storage-1" });
    // The new config apply ran first: the kubelet registered the new name, the old Node object stayed.
    world.boot([renamed]);
    expect(Object.keys(world.cluster().k8sNodes).sort()).toEqual(["cp-1", "storage-1", "worker-1"]);
    const r = update(before, [cp(1), renamed], { RESET: "true" });
    expect(r.status, r.stderr).toBe(0);
    expect(world.stateOf("127.0.20.1")).toBe("running");
    expect(talosCalls()).toEqual([
      "kubectl delete node worker-1 --ignore-not-found --wait=true --timeout=120s",
    ]);
    expect(Object.keys(world.cluster().k8sNodes).sort()).toEqual(["cp-1", "storage-1"]);
  });
});

describe("the plan (PLAN_ONLY=1), for any old and new table", () => {
  const machine = fc.record({
    name: fc.constantFrom("a", "b", "c", "d", "e", "f"),
    address: fc.constantFrom("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"),
    role: fc.constantFrom("controlplane" as const, "worker" as const),
    hostname: fc.constantFrom("h1", "h2", "h3", "h4"),
  });
  const tableArb = fc.uniqueArray(machine, { selector: (m) => m.name, maxLength: 5 }).map((ms) => {
    const seen = new Set<string>();
    return ms.filter((m) => !seen.has(m.address) && seen.add(m.address));
  });

  it("removes exactly the nodes whose name and address both left, workers first, and never a kept machine", () => {
    fc.assert(
      fc.property(tableArb, tableArb, (before, after) => {
        const r = world.run("membership", {
          MEMBERS: table(after),
          PULUMI_COMMAND_STDOUT: table(before),
          PLAN_ONLY: "1",
        });
        expect(r.status, r.stderr).toBe(0);
        const lines = r.stdout.split("\n").filter(Boolean);
        const removed = lines.filter((l) => l.startsWith("remove ")).map((l) => l.split(" "));
        const expected = before.filter(
          (b) => !after.some((a) => a.name === b.name) && !after.some((a) => a.address === b.address),
        );
        expect(removed.map((f) => f[1]).sort()).toEqual(expected.map((m) => m.name).sort());
        const roles = removed.map((f) => f[3]);
        expect(roles).toEqual([...roles].sort((x, y) => (x === y ? 0 : x === "worker" ? -1 : 1)));
        for (const f of lines.filter((l) => l.startsWith("forget ")).map((l) => l.split(" ")[1])) {
          expect(after.some((a) => a.hostname === f)).toBe(false);
          expect(before.some((b) => b.hostname === f && after.some((a) => a.address === b.address))).toBe(
            true,
          );
        }
        const awaited = lines.filter((l) => l.startsWith("await ")).map((l) => l.split(" ")[1]);
        const cpRemoved = removed.some((f) => f[3] === "controlplane");
        const newCps = after.filter(
          (a) => a.role === "controlplane" && !before.some((b) => b.address === a.address),
        );
        expect(awaited.sort()).toEqual(cpRemoved ? newCps.map((m) => m.name).sort() : []);
      }),
      { numRuns: 60 },
    );
  });
});
