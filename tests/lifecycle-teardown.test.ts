/**
 * components/lifecycle/scripts/teardown.sh (the membership command's delete: `pulumi destroy`) and
 * drift-probe.sh (the drift check), run for real against a simulated cluster (tests/support/lifecycle-world.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { UNGRACEFUL_AT_TEARDOWN } from "../components/lifecycle";
import { configFor, CREDENTIALS, table, useWorld, type Machine } from "./support/lifecycle-world";

const world = useWorld();

const cp = (n: number): Machine => ({ name: `cp-${n}`, address: `127.0.10.${n}`, role: "controlplane" });
const worker = (n: number): Machine => ({ name: `worker-${n}`, address: `127.0.20.${n}`, role: "worker" });

function teardown(machines: Machine[], env: Record<string, string> = {}) {
  return world.run("teardown", {
    TALOSCONFIG_DATA: CREDENTIALS.TALOSCONFIG_DATA,
    MEMBERS: table(machines),
    RESET: "true",
    UNGRACEFUL: UNGRACEFUL_AT_TEARDOWN,
    ...env,
  });
}

const resets = () =>
  world
    .calls()
    .filter((c) => c.includes(" reset "))
    .map((c) => `${/-n (\S+)/.exec(c)?.[1]} ${/--graceful=(\w+)/.exec(c)?.[1]}`);

describe("teardown (pulumi destroy) with resetOnDestroy", () => {
  it("wipes a one-control-plane cluster: the worker gracefully, then the last etcd member ungracefully", async () => {
    const all = [cp(1), worker(1)];
    world.boot(all);
    const r = teardown(all);
    expect(r.status, r.stderr).toBe(0);
    expect(resets()).toEqual(["127.0.20.1 true", "127.0.10.1 false"]);
    expect(all.map((m) => world.stateOf(m.address))).toEqual(["maintenance", "maintenance"]);
  });

  it("without the declared exception the last control plane cannot leave etcd, and the teardown fails", async () => {
    const all = [cp(1), worker(1)];
    world.boot(all);
    const r = teardown(all, { UNGRACEFUL: "none" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("not enough started members");
    expect(world.stateOf("127.0.10.1")).toBe("running");
  });

  it("takes three control planes down one at a time: two leave etcd, the last standing is reset ungracefully", async () => {
    const all = [cp(1), cp(2), cp(3), worker(1), worker(2)];
    world.boot(all);
    const r = teardown(all);
    expect(r.status, r.stderr).toBe(0);
    expect(resets()).toEqual([
      "127.0.20.1 true",
      "127.0.20.2 true",
      "127.0.10.1 true",
      "127.0.10.2 true",
      "127.0.10.3 false",
    ]);
    expect(Object.keys(world.cluster().etcdMembers)).toEqual(["127.0.10.3"]);
  });

  it("reports a machine that does not answer and still completes", async () => {
    const all = [cp(1), worker(1)];
    world.boot(all, [cp(1)]);
    fs.rmSync(path.join(world.dir, "iso", "nodes", "127.0.20.1"), { recursive: true });
    const r = teardown(all);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("WARNING: worker-1 (127.0.20.1) does not answer and was not reset");
    expect(world.stateOf("127.0.10.1")).toBe("maintenance");
  });

  it("leaves every machine running when the stack did not opt in", async () => {
    const all = [cp(1), worker(1)];
    world.boot(all);
    const r = teardown(all, { RESET: "false" });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("the machines keep running");
    expect(world.calls()).toEqual([]);
  });
});

describe("the drift probe", () => {
  const probe = (m: Machine, config: string) =>
    world.run(
      "drift-probe",
      { NODE: m.address, NODE_NAME: m.name, TALOSCONFIG_DATA: CREDENTIALS.TALOSCONFIG_DATA },
      config,
    );

  it("answers in-sync when the node runs the rendered config, however it is formatted", async () => {
    world.boot([cp(1)]);
    expect(probe(cp(1), configFor(cp(1))).stdout).toBe("in-sync\n");
    const reformatted = configFor(cp(1)).replace("  type: controlplane\n", "  type: 'controlplane'\n");
    expect(probe(cp(1), reformatted).stdout).toBe("in-sync\n");
  });

  it("answers differs for a config changed by hand, without printing any of it", async () => {
    world.boot([cp(1)]);
    const file = path.join(world.dir, "edited.yaml");
    fs.writeFileSync(file, configFor(cp(1), "  allowSchedulingOnControlPlanes: true"));
    const tc = path.join(world.dir, "tc");
    fs.writeFileSync(tc, "x", { mode: 0o600 });
    const edit = world.tool("talosctl", [
      "--talosconfig",
      tc,
      "-e",
      "127.0.10.1",
      "-n",
      "127.0.10.1",
      "apply-config",
      "--file",
      file,
    ]);
    expect(edit.status, edit.stderr).toBe(0);
    const r = probe(cp(1), configFor(cp(1)));
    expect(r.stdout).toBe("differs 1 changed lines\n");
    expect(r.stdout + r.stderr).not.toContain("secret-looking-token");
  });

  it("answers maintenance for a wiped node and unreachable for one that is off", async () => {
    world.boot([cp(1), worker(1)], [worker(1)]);
    expect(probe(cp(1), configFor(cp(1))).stdout).toBe("maintenance\n");
    const tc = path.join(world.dir, "tc");
    fs.writeFileSync(tc, "x", { mode: 0o600 });
    world.tool("talosctl", ["--talosconfig", tc, "-e", "127.0.20.1", "-n", "127.0.20.1", "shutdown"]);
    expect(probe(worker(1), configFor(worker(1))).stdout).toBe("unreachable\n");
  });

  it("leaves no credential or config file behind", async () => {
    world.boot([cp(1)]);
    probe(cp(1), configFor(cp(1)));
    expect(fs.readdirSync(path.join(world.dir, "tmp"))).toEqual([]);
  });
});
