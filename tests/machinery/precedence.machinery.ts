/**
 * The precedence the program promises, per setting, as the real Talos machinery builds each node's
 * config: generated defaults < stack-wide patches < per-role patches < per-node patches. And where the
 * stack file sets a value twice at levels that do not outrank each other, the program and the machinery
 * both say so.
 */
import * as YAML from "yaml";
import { describe, expect, inject, it } from "vitest";
import { checkStack } from "../../components/config/load";
import { parseClusterConfig } from "../../components/config/schema";
import type { ClusterSpec } from "../../components/config/spec";
import { installerImage } from "../../components/machine/image";
import { documentKey } from "../../components/machine/merge";
import { registrationsOf, runTalosCheck, type CheckCase, type NodeReport } from "./talos-check";

type Doc = Record<string, unknown>;

interface Row {
  setting: string;
  /** A patch setting the value. */
  patch: (v: string | boolean) => Doc;
  /** Where the value lands: document key and path. */
  at: [string, string[]];
  /** What the program generates when no patch sets it, per node name. */
  generated: (node: string) => unknown;
  /** Values set stack-wide, per role (workers), per node (w-1). */
  values: [string | boolean, string | boolean, string | boolean];
}

const ROWS: Row[] = [
  {
    setting: "install disk",
    patch: (v) => ({ machine: { install: { disk: v } } }),
    at: ["v1alpha1", ["machine", "install", "disk"]],
    generated: () => "/dev/sda",
    values: ["/dev/sdb", "/dev/sdc", "/dev/nvme0n1"],
  },
  {
    setting: "install disk selector",
    patch: (v) => ({ machine: { install: { diskSelector: { model: v } } } }),
    at: ["v1alpha1", ["machine", "install", "diskSelector", "model"]],
    generated: () => undefined,
    values: ["WDC*", "Samsung*", "KINGSTON*"],
  },
  {
    setting: "hostname (HostnameConfig)",
    patch: (v) => ({ apiVersion: "v1alpha1", kind: "HostnameConfig", hostname: v }),
    at: ["HostnameConfig", ["hostname"]],
    generated: (node) => node,
    values: ["everyone", "a-worker", "the-one"],
  },
  {
    setting: "automatic hostnames (HostnameConfig auto)",
    patch: (v) => ({ apiVersion: "v1alpha1", kind: "HostnameConfig", auto: v }),
    at: ["HostnameConfig", ["auto"]],
    generated: () => "off",
    values: ["stable", "stable", "stable"],
  },
  {
    setting: "node label",
    patch: (v) => ({ machine: { nodeLabels: { zone: v } } }),
    at: ["v1alpha1", ["machine", "nodeLabels", "zone"]],
    generated: () => undefined,
    values: ["a", "b", "c"],
  },
  {
    setting: "node taint",
    patch: (v) => ({ machine: { nodeTaints: { dedicated: v } } }),
    at: ["v1alpha1", ["machine", "nodeTaints", "dedicated"]],
    generated: () => undefined,
    values: ["a:NoSchedule", "b:NoExecute", "c:PreferNoSchedule"],
  },
  {
    setting: "sysctl",
    patch: (v) => ({ machine: { sysctls: { "vm.max_map_count": v } } }),
    at: ["v1alpha1", ["machine", "sysctls", "vm.max_map_count"]],
    generated: () => undefined,
    values: ["262144", "524288", "1048576"],
  },
  {
    setting: "kubelet argument",
    patch: (v) => ({ machine: { kubelet: { extraArgs: { "max-pods": v } } } }),
    at: ["v1alpha1", ["machine", "kubelet", "extraArgs", "max-pods"]],
    generated: () => undefined,
    values: ["110", "150", "250"],
  },
  {
    setting: "scheduling on control planes",
    patch: (v) => ({ cluster: { allowSchedulingOnControlPlanes: v } }),
    at: ["v1alpha1", ["cluster", "allowSchedulingOnControlPlanes"]],
    generated: (node) => (node.startsWith("cp") ? true : undefined),
    values: [false, true, false],
  },
];

const NODES = [
  { name: "cp-1", address: "192.168.1.10", role: "controlplane" },
  { name: "w-1", address: "192.168.1.20", role: "worker" },
  { name: "w-2", address: "192.168.1.21", role: "worker" },
];

/** The stack with the row's value set at the first `depth` levels (0: none, 1: all, 2: +worker, 3: +w-1). */
function stackFor(row: Row, depth: number, version: string): Record<string, unknown> {
  const [all, role, node] = row.values;
  return {
    talosVersion: version,
    kubernetesVersion: version.startsWith("v1.12") ? "1.35.0" : "1.36.0",
    nodes: NODES.map((n) => (n.name === "w-1" && depth >= 3 ? { ...n, patches: [row.patch(node)] } : n)),
    patches: {
      ...(depth >= 1 ? { all: [row.patch(all)] } : {}),
      ...(depth >= 2 ? { worker: [row.patch(role)] } : {}),
    },
  };
}

/** What each node should end up with at that depth. */
function expected(row: Row, depth: number, node: string): unknown {
  const [all, role, own] = row.values;
  if (depth >= 3 && node === "w-1") return own;
  if (depth >= 2 && node.startsWith("w")) return role;
  if (depth >= 1) return all;
  return row.generated(node);
}

function valueIn(config: string, [key, path]: [string, string[]]): unknown {
  for (const d of YAML.parseAllDocuments(config)) {
    const doc = d.toJS() as Doc;
    if (documentKey(doc) !== key) continue;
    return path.reduce<unknown>((node, k) => (node as Doc | undefined)?.[k], doc);
  }
  return undefined;
}

const verdict = (n: NodeReport) => [...n.refusals.map((f) => f.message), ...n.overrides.map((o) => o.path)];

describe.each(["v1.13.9", "v1.12.6"])("Talos %s: generated < stack-wide < per-role < per-node", (version) => {
  it("holds for every setting, as the machinery builds each node's config", async () => {
    const runs: { row: Row; depth: number; spec: ClusterSpec }[] = [];
    for (const row of ROWS) {
      for (const depth of [0, 1, 2, 3]) {
        const { spec, errors } = checkStack(stackFor(row, depth, version));
        expect(errors, `${row.setting} at depth ${depth}`).toEqual([]);
        runs.push({ row, depth, spec: spec! });
      }
    }
    const cases: CheckCase[] = runs.map(({ row, depth, spec }) =>
      registrationsOf(`${row.setting} ${depth}`, spec, installerImage(spec.talosVersion)),
    );
    const report = await runTalosCheck(inject("talosCheck"), cases, { configs: true });
    const wrong: string[] = [];
    runs.forEach(({ row, depth }, i) => {
      for (const n of report.cases[i].nodes) {
        const got = valueIn(n.config ?? "", row.at);
        const want = expected(row, depth, n.name);
        if (JSON.stringify(got) !== JSON.stringify(want) || verdict(n).length > 0) {
          wrong.push(
            `${row.setting}, depth ${depth}, ${n.name}: ${JSON.stringify(got)} (want ${JSON.stringify(want)}) ${verdict(n).join("; ")}`,
          );
        }
      }
    });
    expect(wrong).toEqual([]);
  });

  it("a value set twice where neither outranks the other is refused by the program and lost on the node", async () => {
    const conflicts: [string, Record<string, unknown>, string][] = [
      [
        "a node's install disk and a stack-wide disk",
        {
          nodes: [{ ...NODES[0], installDisk: "/dev/nvme0n1" }],
          patches: { all: [{ machine: { install: { disk: "/dev/sdb" } } }] },
        },
        "machine.install.disk",
      ],
      [
        "a node's label and a per-role label",
        {
          nodes: [NODES[0], { ...NODES[1], labels: { zone: "mine" } }],
          patches: { worker: [{ machine: { nodeLabels: { zone: "theirs" } } }] },
        },
        "machine.nodeLabels.zone",
      ],
      [
        "a role's taint and a stack-wide taint",
        {
          nodes: [NODES[0], NODES[1]],
          roles: { worker: { taints: { dedicated: "storage:NoSchedule" } } },
          patches: { all: [{ machine: { nodeTaints: { dedicated: "gpu:NoSchedule" } } }] },
        },
        "machine.nodeTaints.dedicated",
      ],
      [
        "two stack-wide patches",
        {
          nodes: [NODES[0]],
          patches: { all: [{ machine: { sysctls: { a: "1" } } }, { machine: { sysctls: { a: "2" } } }] },
        },
        "machine.sysctls.a",
      ],
      [
        "a role's disk selector and a per-role disk path",
        {
          nodes: [NODES[0], NODES[1]],
          roles: { worker: { installDiskSelector: { type: "nvme" } } },
          patches: { worker: [{ machine: { install: { disk: "/dev/sdb" } } }] },
        },
        "machine.install.disk",
      ],
    ];
    const specs = conflicts.map(([label, raw]) => {
      const full = {
        talosVersion: version,
        kubernetesVersion: version.startsWith("v1.12") ? "1.35.0" : "1.36.0",
        ...raw,
      };
      const checked = checkStack(full);
      expect(checked.errors.join("\n"), label).toMatch(/changes|has no effect/);
      return registrationsOf(label, checkStackSpecOf(full), installerImage(version));
    });
    const report = await runTalosCheck(inject("talosCheck"), specs);
    conflicts.forEach(([label, , path], i) => {
      const lost = report.cases[i].nodes.flatMap((n) => n.overrides.map((o) => o.path));
      expect(lost, label).toContain(path);
    });
  });
});

/** The spec behind a stack the program refuses only for its conflicts (so it can be registered anyway). */
function checkStackSpecOf(raw: Record<string, unknown>): ClusterSpec {
  const { spec, errors } = parseClusterConfig(raw); // structure and relations only

  if (!spec) throw new Error(errors.join("\n"));
  return spec;
}
