/**
 * The kubernetes stand-in on its own: the provider's replace rules (DiffConfig), autonaming and live objects
 * of namespaces, and Helm releases' defaults and diffs.
 */
import { describe, expect, it } from "vitest";
import { Dispatcher } from "../core/dispatch";
import { isSecret, secret, UNKNOWN, type WireMap } from "../core/wire";
import { adminKubeconfig } from "../talos/apply";
import { base, plain, useWorkDir } from "../testing";
import { createKubernetesProvider, K8S_TOKENS } from "./provider";

const w = useWorkDir();

describe("kubernetes stand-in", () => {
  const k8s = () => new Dispatcher(createKubernetesProvider(w.env), w.env);
  const kc = (server: string, crt = "Y2VydA==") => adminKubeconfig("lab", server, "Y2E=", crt, "a2V5");

  it("replaces the provider when the kubeconfig is unknown or its cluster changes, not when only the user does", async () => {
    const d = k8s();
    const diff = (news: WireMap) =>
      d.diffConfig({
        ...base(K8S_TOKENS.provider, "k"),
        id: "p",
        olds: { kubeconfig: kc("https://10.0.0.10:6443") },
        oldInputs: {},
        news,
        ignoreChanges: [],
      });
    expect(await diff({ kubeconfig: UNKNOWN })).toMatchObject({ replaces: ["kubeconfig"] });
    expect(await diff({ kubeconfig: kc("https://10.0.0.20:6443") })).toMatchObject({
      replaces: ["kubeconfig"],
    });
    expect(await diff({ kubeconfig: kc("https://10.0.0.10:6443", "b3RoZXI=") })).toMatchObject({
      changes: true,
      replaces: [],
    });
    expect(await diff({ kubeconfig: kc("https://10.0.0.10:6443") })).toMatchObject({ changes: false });
  });

  it("autonames namespaces, replaces on a new name, and returns the live object", async () => {
    const d = k8s();
    const seed = Buffer.from("seed");
    const auto = await d.check({
      ...base(K8S_TOKENS.namespace, "ns"),
      olds: {},
      news: { metadata: {} },
      randomSeed: seed,
    });
    const meta = auto.inputs.metadata as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(meta.name).toMatch(/^ns-[0-9a-f]{8}$/);
    expect(meta.annotations["pulumi.com/autonamed"]).toBe("true");
    const news = {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "tigera-operator", labels: { a: "1" } },
    };
    const c = await d.create({ ...base(K8S_TOKENS.namespace, "ns"), news, preview: false, timeout: 0 });
    const live = plain(c.outs);
    expect([c.id, live.metadata.labels["kubernetes.io/metadata.name"], live.status.phase]).toEqual([
      "tigera-operator",
      "tigera-operator",
      "Active",
    ]);
    expect(live.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    const diff = (m: WireMap) =>
      d.diff({
        ...base(K8S_TOKENS.namespace, "ns"),
        id: c.id,
        olds: c.outs,
        oldInputs: news,
        news: { ...news, metadata: m },
        ignoreChanges: [],
      });
    expect(await diff({ name: "other" })).toMatchObject({ replaces: ["metadata"] });
    expect(await diff({ name: "tigera-operator", labels: { a: "2" } })).toMatchObject({
      changes: true,
      replaces: [],
    });
  });

  it("defaults and diffs Helm releases as helm_release.go does", async () => {
    const d = k8s();
    await d.configure({ kubeconfig: secret(kc("https://10.0.0.10:6443")), enableServerSideApply: "true" });
    const news = {
      name: "cilium",
      chart: "cilium",
      version: "1.18.0",
      values: { ipam: { mode: "kubernetes" } },
    };
    const checked = (
      await d.check({ ...base(K8S_TOKENS.release, "r"), olds: {}, news, randomSeed: Buffer.alloc(0) })
    ).inputs;
    expect([checked.namespace, checked.timeout, String(checked.checksum).length]).toEqual([
      "default",
      300,
      64,
    ]);
    const unknown = (
      await d.check({
        ...base(K8S_TOKENS.release, "r"),
        olds: {},
        news: { ...news, namespace: UNKNOWN },
        randomSeed: Buffer.alloc(0),
      })
    ).inputs;
    expect(unknown.checksum).toBeUndefined();
    const c = await d.create({ ...base(K8S_TOKENS.release, "r"), news: checked, preview: false, timeout: 0 });
    expect([c.id, (c.outs.status as WireMap).status, isSecret(c.outs.__inputs)]).toEqual([
      "default/cilium",
      "deployed",
      true,
    ]);
    const diff = (n: WireMap) =>
      d.diff({
        ...base(K8S_TOKENS.release, "r"),
        id: c.id,
        olds: c.outs,
        oldInputs: checked,
        news: { ...checked, ...n },
        ignoreChanges: [],
      });
    expect(await diff({ name: "cilium2" })).toMatchObject({ replaces: ["name"] });
    expect(await diff({ values: { ipam: { mode: "cluster-pool" } } })).toMatchObject({
      changes: true,
      replaces: [],
    });
  });
});
