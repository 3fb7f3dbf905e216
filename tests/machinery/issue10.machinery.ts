/**
 * The disagreements issue 10 found between the program and the Talos machinery, each checked both ways
 * now: what the program says about the stack, and what the machinery does with the registrations.
 */
import { describe, expect, inject, it } from "vitest";
import { checkStack } from "../../components/config/load";
import { parseClusterConfig } from "../../components/config/schema";
import type { ClusterSpec, DiskSelector, NodeSpec } from "../../components/config/spec";
import { installerImage } from "../../components/machine/image";
import { registrationsOf, runTalosCheck, type CheckCase, type NodeReport } from "./talos-check";

type Doc = Record<string, unknown>;
const VERSIONS = [
  { talosVersion: "v1.13.9", kubernetesVersion: "1.36.0" },
  { talosVersion: "v1.12.6", kubernetesVersion: "1.35.0" },
];
const cp = { name: "cp-1", address: "192.168.1.10", role: "controlplane" };
const worker = { name: "w-1", address: "192.168.1.20", role: "worker" };

function structural(raw: Record<string, unknown>): ClusterSpec {
  const { spec, errors } = parseClusterConfig(raw);
  if (!spec) throw new Error(errors.join("\n"));
  return spec;
}
const register = (name: string, spec: ClusterSpec) =>
  registrationsOf(name, spec, installerImage(spec.talosVersion));
const refusals = (nodes: NodeReport[]) =>
  nodes.flatMap((n) => n.refusals.map((f) => `${n.name} ${f.machinery}: ${f.message}`));

describe.each(VERSIONS)("Talos $talosVersion", (version) => {
  it("a disk selector on name: the program refuses it in the stack setting and in a patch; so do the 1.12 and 1.13 machinery", async () => {
    const setting = { ...version, nodes: [{ ...cp, installDiskSelector: { name: "/dev/sda" } }] };
    expect(checkStack(setting).errors.join("\n")).toContain("selector on name is not supported");
    const patch = {
      ...version,
      nodes: [{ ...cp, patches: [{ machine: { install: { diskSelector: { name: "/dev/sda" } } } }] }],
    };
    expect(checkStack(patch).errors.join("\n")).toContain("selector on name is not supported");

    // The setting as the program would register it, had it let the selector through.
    const base = structural({ ...version, nodes: [{ ...cp, installDiskSelector: { type: "nvme" } }] });
    const withName: NodeSpec = {
      ...base.nodes[0],
      installDisk: { selector: { name: "/dev/sda" } as DiskSelector },
    };
    const fromSetting = { ...base, nodes: [withName], controlPlanes: [withName], bootstrapNode: withName };
    const report = await runTalosCheck(inject("talosCheck"), [
      register("setting", fromSetting),
      register("patch", structural(patch)),
    ]);
    for (const c of report.cases) {
      const found = refusals(c.nodes);
      expect(
        found.some((r) => r.includes("v1.13.0") && r.includes("selector on name is not supported")),
      ).toBe(true);
      if (version.talosVersion.startsWith("v1.12")) {
        expect(
          found.some((r) => r.includes("v1.12.0") && r.includes("selector on name is not supported")),
        ).toBe(true);
      }
    }
  });

  it("a legacy interface VIP: accepted on control planes, refused on workers, by both", async () => {
    const vip = {
      machine: { network: { interfaces: [{ interface: "eth0", dhcp: true, vip: { ip: "192.168.1.9" } }] } },
    };
    const onControlPlanes = { ...version, nodes: [cp, worker], patches: { controlplane: [vip] } };
    const everywhere = { ...version, nodes: [cp, worker], patches: { all: [vip] } };
    const withStackVip = { ...onControlPlanes, vip: { address: "192.168.1.8", link: "eth0" } };
    expect(checkStack(onControlPlanes).errors).toEqual([]);
    expect(checkStack(withStackVip).errors).toEqual([]);
    expect(checkStack(everywhere).errors.join("\n")).toContain(
      "virtual (shared) IP is not allowed on non-controlplane nodes",
    );
    const report = await runTalosCheck(inject("talosCheck"), [
      register("cp", structural(onControlPlanes)),
      register("cp+vip", structural(withStackVip)),
      register("all", structural(everywhere)),
    ]);
    expect(refusals(report.cases[0].nodes)).toEqual([]);
    expect(refusals(report.cases[1].nodes)).toEqual([]);
    const [cpReport, workerReport] = report.cases[2].nodes;
    expect(cpReport.refusals).toEqual([]);
    expect(workerReport.refusals.map((f) => f.message)).toContain(
      "virtual (shared) IP is not allowed on non-controlplane nodes",
    );
  });

  it("a JSON 6902 patch: the provider loads it but cannot apply it to a multi-document config, and the program says so", async () => {
    const json6902 = '[{"op": "add", "path": "/machine/sysctls", "value": {"vm.swappiness": "10"}}]';
    expect(checkStack({ ...version, nodes: [cp], patches: { all: [json6902] } }).errors.join("\n")).toContain(
      "JSON6902 patches are not supported for multi-document machine configuration",
    );
    // Where the program would have registered it: in a role's invoke (the old place of stack patches) or
    // in a node's apply (their place now).
    const plain = register("plain", structural({ ...version, nodes: [cp] }));
    const inInvoke: CheckCase = {
      ...plain,
      name: "invoke",
      configs: {
        ...plain.configs,
        controlplane: {
          ...plain.configs.controlplane,
          configPatches: [...plain.configs.controlplane.configPatches, json6902],
          origins: [...plain.configs.controlplane.origins, { source: "patches.all[0]", level: 1 }],
        },
      },
    };
    const inApply: CheckCase = {
      ...plain,
      name: "apply",
      nodes: plain.nodes.map((n) => ({
        ...n,
        configPatches: [...n.configPatches, json6902],
        origins: [...n.origins, { source: "patches.all[0]", level: 1 }],
      })),
    };
    const report = await runTalosCheck(inject("talosCheck"), [inInvoke, inApply]);
    for (const c of report.cases) {
      expect(refusals(c.nodes).join("\n")).toContain(
        "JSON6902 patches are not supported for multi-document machine configuration",
      );
    }
  });

  it("machine.time: Talos accepts it without a warning, and so does the program", async () => {
    const stack = {
      ...version,
      nodes: [cp],
      patches: { all: [{ machine: { time: { servers: ["time.cloudflare.com"] } } } as Doc] },
    };
    expect(checkStack(stack)).toMatchObject({ errors: [], warnings: [] });
    const report = await runTalosCheck(inject("talosCheck"), [register("time", structural(stack))]);
    expect(report.cases[0].nodes.flatMap((n) => [...n.refusals, ...n.warnings])).toEqual([]);
  });

  it("the issue's stack-level patches reach the node: an install disk, a worker HostnameConfig, a label", async () => {
    const stack = {
      ...version,
      nodes: [cp, worker],
      patches: {
        all: [
          { machine: { install: { disk: "/dev/nvme0n1" }, nodeLabels: { "homelab.example/rack": "a" } } },
        ],
        worker: [{ apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "stable" }],
      },
    };
    expect(checkStack(stack).errors).toEqual([]);
    const report = await runTalosCheck(inject("talosCheck"), [register("issue", structural(stack))], {
      configs: true,
    });
    const [cpNode, workerNode] = report.cases[0].nodes;
    for (const n of [cpNode, workerNode]) {
      expect(n.refusals).toEqual([]);
      expect(n.overrides).toEqual([]);
      expect(n.config).toContain("disk: /dev/nvme0n1");
      expect(n.config).toContain("homelab.example/rack: a");
    }
    expect(workerNode.config).toMatch(/kind: HostnameConfig\nauto: stable/);
    expect(workerNode.config).not.toContain("hostname: w-1");
  });
});
