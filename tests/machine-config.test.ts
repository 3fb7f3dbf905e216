/**
 * Machine configuration: the patches the program generates (pure), their canonical form, and how the
 * example stacks turn into resources (under the strict mocks).
 */
import fc from "fast-check";
import * as YAML from "yaml";
import { describe, expect, it } from "vitest";
import type { ClusterSpec } from "../components/config/spec";
import { checkStack } from "../components/config/load";
import { canonicalYaml } from "../components/machine/canonical";
import { machineConfigProblems } from "../components/machine/checks";
import { VANILLA_SCHEMATIC_ID, installerImage, schematicYaml } from "../components/machine/image";
import { nodePatches, rolePatches, vipDocuments } from "../components/machine/patches";
import { validateTalosDocument } from "../components/machine/talos-schema";
import { runProgram, stackConfigFromFile, type ProgramRun } from "./support/program";

function specOf(raw: Record<string, unknown>): ClusterSpec {
  const r = checkStack(raw);
  if (!r.spec) throw new Error(r.errors.join("\n"));
  return r.spec;
}
const cp = (name: string, address: string, extra = {}) => ({ name, address, role: "controlplane", ...extra });
const worker = (name: string, address: string, extra = {}) => ({ name, address, role: "worker", ...extra });

describe("canonical patches", () => {
  const jsonValue = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small" },
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.array(tie("value"), { maxLength: 3 }),
      fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), tie("value"), { maxKeys: 4 }),
    ),
  })).value;
  const reorder = (v: unknown, seed: number): unknown => {
    if (Array.isArray(v)) return v.map((x) => reorder(x, seed));
    if (v && typeof v === "object") {
      const keys = Object.keys(v);
      const rotated = keys.map((_, i) => keys[(i + seed) % keys.length]).reverse();
      return Object.fromEntries(rotated.map((k) => [k, reorder((v as Record<string, unknown>)[k], seed)]));
    }
    return v;
  };

  it("is the same text whatever the key order, and reads back as the same data", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), jsonValue, { maxKeys: 5 }),
        fc.nat(7),
        (doc, seed) => {
          const text = canonicalYaml(doc);
          expect(canonicalYaml(reorder(doc, seed) as Record<string, unknown>)).toBe(text);
          expect(YAML.parse(text) ?? {}).toEqual(doc);
        },
      ),
    );
  });
});

describe("generated patches are valid Talos 1.13 configuration", () => {
  // Any count the program accepts: it refuses exactly 2 control planes (etcd quorum).
  const nodesArb = fc
    .constantFrom(1, 3, 4)
    .chain((cps) =>
      fc.tuple(
        fc.constant(cps),
        fc.integer({ min: 0, max: 4 }),
        fc.constantFrom("calico", "cilium", "flannel"),
        fc.boolean(),
        fc.boolean(),
      ),
    );

  it("for any mix of roles, CNI, VIP and disk selection", () => {
    fc.assert(
      fc.property(nodesArb, ([cps, workers, cni, vip, selector]) => {
        const disk = selector
          ? { installDiskSelector: { type: "nvme", size: ">= 100GB" } }
          : { installDisk: "/dev/nvme0n1" };
        const spec = specOf({
          nodes: [
            ...Array.from({ length: cps }, (_, i) => cp(`cp-${i}`, `10.0.0.${i + 1}`, disk)),
            ...Array.from({ length: workers }, (_, i) =>
              worker(`w-${i}`, `10.0.1.${i + 1}`, {
                labels: { a: "b" },
                taints: { dedicated: "x:NoSchedule" },
              }),
            ),
          ],
          cni,
          ...(vip ? { vip: { address: "10.0.0.100", link: "eth0" } } : {}),
        });
        expect(machineConfigProblems(spec)).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });

  it("the check catches a generated document Talos would refuse", () => {
    const spec = specOf({ nodes: [cp("a", "10.0.0.1")] });
    const broken = { ...spec, vip: { address: "10.0.0.9", link: "eth0" } };
    const docs = vipDocuments(broken).map((d) => ({ ...d, interface: "eth0" }));
    expect(docs.flatMap((d) => validateTalosDocument(d, { talosMinor: "1.13", where: "vip" }))).not.toEqual(
      [],
    );
  });
});

describe("patch builders", () => {
  it("sets a static hostname through HostnameConfig, never machine.network.hostname", () => {
    const spec = specOf({ nodes: [cp("cp-1", "10.0.0.1", { hostname: "kube-a" })] });
    const docs = nodePatches(spec, spec.nodes[0]);
    expect(docs).toContainEqual({
      apiVersion: "v1alpha1",
      kind: "HostnameConfig",
      hostname: "kube-a",
      auto: "off",
    });
    expect(JSON.stringify(docs)).not.toContain('"network"');
  });

  it("puts the VIP on control planes only, as a Layer2VIPConfig on the named link", () => {
    const spec = specOf({
      nodes: [cp("c", "10.0.0.1"), worker("w", "10.0.0.2")],
      vip: { address: "10.0.0.9", link: "enp1s0" },
    });
    expect(rolePatches(spec, "controlplane", "img")).toContainEqual({
      apiVersion: "v1alpha1",
      kind: "Layer2VIPConfig",
      name: "10.0.0.9",
      link: "enp1s0",
    });
    expect(JSON.stringify(rolePatches(spec, "worker", "img"))).not.toContain("Layer2VIPConfig");
    expect(spec.endpoint).toBe("https://10.0.0.9:6443");
  });

  it("selects the VIP link by CEL through a link alias", () => {
    const match = 'mac(link.permanent_addr) == "00:1a:2b:33:44:55"';
    const spec = specOf({ nodes: [cp("c", "10.0.0.1")], vip: { address: "10.0.0.9", linkMatch: match } });
    const [alias, vip] = vipDocuments(spec);
    expect(alias).toMatchObject({ kind: "LinkAliasConfig", selector: { match } });
    expect(vip).toMatchObject({ kind: "Layer2VIPConfig", link: alias.name });
    expect(machineConfigProblems(spec)).toEqual([]);
  });

  it("installs to the disk path or the selector, per node or per role", () => {
    const spec = specOf({
      nodes: [cp("c", "10.0.0.1"), worker("w", "10.0.0.2", { installDisk: "/dev/vdb" })],
      roles: { controlplane: { installDiskSelector: { model: "WDC*", type: "ssd" } } },
    });
    expect(nodePatches(spec, spec.nodes[0])).toContainEqual({
      machine: { install: { diskSelector: { model: "WDC*", type: "ssd" } } },
    });
    expect(nodePatches(spec, spec.nodes[1])).toContainEqual({ machine: { install: { disk: "/dev/vdb" } } });
  });

  it("prepares Talos for Cilium: no CNI, no kube-proxy, KubePrism on", () => {
    const patches = rolePatches(specOf({ nodes: [cp("c", "10.0.0.1")], cni: "cilium" }), "worker", "img");
    expect(patches).toContainEqual({
      cluster: { network: { cni: { name: "none" } }, proxy: { disabled: true } },
    });
    expect(patches).toContainEqual({ machine: { features: { kubePrism: { enabled: true, port: 7445 } } } });
  });

  it("keeps kube-proxy for Calico, and leaves flannel to Talos", () => {
    const calico = rolePatches(specOf({ nodes: [cp("c", "10.0.0.1")] }), "worker", "img");
    expect(calico).toContainEqual({ cluster: { network: { cni: { name: "none" } } } });
    expect(JSON.stringify(calico)).not.toContain("proxy");
    const flannel = rolePatches(specOf({ nodes: [cp("c", "10.0.0.1")], cni: "flannel" }), "worker", "img");
    expect(JSON.stringify(flannel)).not.toContain('"cni"');
  });
});

describe("installer images", () => {
  it("uses ghcr up to 1.13 and the Image Factory with a schematic or from 1.14", () => {
    expect(installerImage("v1.13.9")).toBe("ghcr.io/siderolabs/installer:v1.13.9");
    expect(installerImage("v1.13.9", "abc")).toBe("factory.talos.dev/installer/abc:v1.13.9");
    expect(installerImage("v1.14.0")).toBe(
      `factory.talos.dev/metal-installer/${VANILLA_SCHEMATIC_ID}:v1.14.0`,
    );
    expect(installerImage("1.14.1", "abc")).toBe("factory.talos.dev/metal-installer/abc:v1.14.1");
  });

  it("the schematic lists extensions in one order whatever the stack file says", () => {
    expect(schematicYaml(["siderolabs/util-linux-tools", "siderolabs/iscsi-tools"])).toBe(
      schematicYaml(["siderolabs/iscsi-tools", "siderolabs/util-linux-tools"]),
    );
    expect(YAML.parse(schematicYaml(["siderolabs/iscsi-tools"]))).toEqual({
      customization: { systemExtensions: { officialExtensions: ["siderolabs/iscsi-tools"] } },
    });
  });
});

const roleConfigPatches = (run: ProgramRun, role: string) =>
  (
    run.mocks.invokes.find(
      (i) => i.token === "talos:machine/getConfiguration:getConfiguration" && i.inputs.machineType === role,
    )!.inputs.configPatches as string[]
  ).map((p) => YAML.parse(p));

describe("example stacks", () => {
  it("Pulumi.example-single.yaml: one schedulable control plane, flannel, NVMe by selector", async () => {
    const run = await runProgram(stackConfigFromFile("Pulumi.example-single.yaml"));
    expect(run.error).toBeUndefined();
    expect(run.mocks.problems).toEqual([]);
    expect(run.byType("talos:machine/configurationApply:ConfigurationApply")).toHaveLength(1);
    expect(run.byType("kubernetes:helm.sh/v3:Release")).toEqual([]);
    expect(roleConfigPatches(run, "controlplane")).toContainEqual({
      cluster: { allowSchedulingOnControlPlanes: true },
    });
    const [apply] = run.byType("talos:machine/configurationApply:ConfigurationApply");
    expect((apply.inputs.configPatches as string[]).map((p) => YAML.parse(p))).toContainEqual({
      machine: { install: { diskSelector: { type: "nvme" } } },
    });
  });

  it("Pulumi.example-ha.yaml: VIP endpoint, Cilium, Image Factory installer, control planes schedulable with two workers", async () => {
    const run = await runProgram(stackConfigFromFile("Pulumi.example-ha.yaml"));
    expect(run.error).toBeUndefined();
    expect(run.mocks.problems).toEqual([]);
    expect(run.outputs.endpoint).toBe("https://192.168.1.30:6443");
    const [schematic] = run.byType("talos:imageFactory/schematic:Schematic");
    expect(YAML.parse(schematic.inputs.schematic)).toEqual({
      customization: {
        systemExtensions: { officialExtensions: ["siderolabs/iscsi-tools", "siderolabs/util-linux-tools"] },
      },
    });
    expect(String(run.outputs.installerImage)).toMatch(
      /^factory\.talos\.dev\/installer\/[0-9a-f]{64}:v1\.13\.9$/,
    );
    const cpPatches = roleConfigPatches(run, "controlplane");
    expect(cpPatches).toContainEqual({
      apiVersion: "v1alpha1",
      kind: "Layer2VIPConfig",
      name: "192.168.1.30",
      link: "enp1s0",
    });
    expect(cpPatches).toContainEqual({ cluster: { allowSchedulingOnControlPlanes: true } });
    expect(JSON.stringify(roleConfigPatches(run, "worker"))).not.toContain("Layer2VIPConfig");
    expect(cpPatches[0]).toMatchObject({ machine: { install: { image: run.outputs.installerImage } } });
    const [cilium] = run.byType("kubernetes:helm.sh/v3:Release");
    expect(cilium.inputs).toMatchObject({
      chart: "cilium",
      version: "1.18.0",
      values: { kubeProxyReplacement: true, k8sServicePort: 7445 },
    });
    const talosconfigEndpoints = run.mocks.invokes.find(
      (i) => i.token === "talos:client/getConfiguration:getConfiguration",
    )!.inputs.endpoints;
    expect(talosconfigEndpoints).toEqual(["192.168.1.31", "192.168.1.32", "192.168.1.33"]);
  });
});
