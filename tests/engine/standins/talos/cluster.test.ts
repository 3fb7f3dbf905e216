/**
 * The simulated cluster behind the talos stand-in (cluster.ts): what a node leaves behind when it goes, and the
 * health check failing on it as the real data source does ("unexpected nodes", etcd members that are not control
 * planes), which is what made every `up` after a node removal fail before the membership step existed.
 */
import { describe, expect, it } from "vitest";
import { Dispatcher } from "../core/dispatch";
import { applyInputs, base, useWorkDir } from "../testing";
import { readCluster } from "./cluster";
import { readNode } from "./nodes";
import { FUNCTIONS } from "./functions";
import { TOKENS } from "./plan";
import { createTalosProvider } from "./provider";
import type { WireMap } from "../core/wire";

const w = useWorkDir();
const talos = () => new Dispatcher(createTalosProvider(w.env), w.env);

/** Two control planes configured (the first bootstrapped); returns the inputs the applies were made with. */
async function twoControlPlanes(d: Dispatcher) {
  const inputs = await applyInputs(d, "10.0.0.11");
  const second = { ...inputs, node: "10.0.0.12" };
  await d.create({ ...base(TOKENS.configurationApply, "a"), news: inputs, preview: false, timeout: 0 });
  await d.create({ ...base(TOKENS.configurationApply, "b"), news: second, preview: false, timeout: 0 });
  const boot = { node: "10.0.0.11", clientConfiguration: inputs.clientConfiguration };
  await d.create({ ...base(TOKENS.bootstrap, "boot"), news: boot, preview: false, timeout: 0 });
  return { inputs, second };
}

const health = (d: Dispatcher, controlPlaneNodes: string[], skipKubernetesChecks = false) =>
  d.invoke({
    token: FUNCTIONS.health,
    preview: false,
    args: {
      clientConfiguration: {},
      controlPlaneNodes,
      workerNodes: [],
      endpoints: controlPlaneNodes,
      skipKubernetesChecks,
    },
  });

describe("the simulated cluster", () => {
  it("registers a Node and an etcd member per configured control plane; health passes with both listed", async () => {
    const d = talos();
    await twoControlPlanes(d);
    expect(Object.values(readCluster(w.env).k8sNodes).sort()).toEqual(["10.0.0.11", "10.0.0.12"]);
    expect(Object.keys(readCluster(w.env).etcdMembers).sort()).toEqual(["10.0.0.11", "10.0.0.12"]);
    expect((await health(d, ["10.0.0.11", "10.0.0.12"])).outputs.id).toBe("cluster_health");
  });

  it("fails health on a node the check was not told about: its etcd member, then its Node object", async () => {
    const d = talos();
    await twoControlPlanes(d);
    await expect(health(d, ["10.0.0.11"], true)).rejects.toThrow(
      'etcd member ips ["10.0.0.11" "10.0.0.12"] are not subset of control plane node ips ["10.0.0.11"]',
    );
  });

  it("fails health on a Node object left behind (a renamed node registers a second one)", async () => {
    const d = talos();
    const { inputs } = await twoControlPlanes(d);
    const renamed = `---\napiVersion: v1alpha1\nkind: HostnameConfig\nhostname: renamed\nauto: "off"\n`;
    const news: WireMap = { ...inputs, configPatches: [renamed] };
    await d.update({
      ...base(TOKENS.configurationApply, "a"),
      id: "x",
      olds: inputs,
      oldInputs: inputs,
      news,
      preview: false,
      ignoreChanges: [],
    });
    await expect(health(d, ["10.0.0.11", "10.0.0.12"])).rejects.toThrow(
      'unexpected nodes with IPs ["10.0.0.11"]',
    );
  });

  it("a graceful reset on destroy leaves etcd first, which etcd refuses for its last member", async () => {
    const d = talos();
    const { inputs, second } = await twoControlPlanes(d);
    const onDestroy = { reset: true, graceful: true, reboot: true };
    await d.delete({
      ...base(TOKENS.configurationApply, "b"),
      id: "x",
      olds: { ...second, onDestroy },
      oldInputs: second,
    });
    expect(Object.keys(readCluster(w.env).etcdMembers)).toEqual(["10.0.0.11"]);
    const last = {
      ...base(TOKENS.configurationApply, "a"),
      id: "x",
      olds: { ...inputs, onDestroy },
      oldInputs: inputs,
    };
    await expect(d.delete(last)).rejects.toThrow(
      "Error resetting machine: failed to leave cluster: etcdserver: re-configuration failed due to not enough started members",
    );
    await d.delete({ ...last, olds: { ...inputs, onDestroy: { ...onDestroy, graceful: false } } });
    expect(readNode("10.0.0.11", w.env)).toBeUndefined();
    // An ungraceful reset leaves the member behind: only a teardown may do it, to the last one.
    expect(Object.keys(readCluster(w.env).etcdMembers)).toEqual(["10.0.0.11"]);
  });
});
