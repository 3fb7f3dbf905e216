/**
 * Where each patch goes and which value wins (generated defaults < stack-wide < per-role < per-node), and
 * the conflicts the program refuses before registering anything. tests/machinery/precedence.machinery.ts
 * checks the same promises against the real Talos machinery.
 */
import { describe, expect, it } from "vitest";
import { checkStack } from "../components/config/load";
import type { ClusterSpec } from "../components/config/spec";
import { nodePatches, rolePatches } from "../components/machine/patches";

function specOf(raw: Record<string, unknown>): ClusterSpec {
  const r = checkStack(raw);
  if (!r.spec) throw new Error(r.errors.join("\n"));
  return r.spec;
}
const errorsOf = (raw: Record<string, unknown>) => checkStack(raw).errors.join("\n");
const cp = (name: string, address: string, extra = {}) => ({ name, address, role: "controlplane", ...extra });
const worker = (name: string, address: string, extra = {}) => ({ name, address, role: "worker", ...extra });

describe("precedence: generated defaults < stack-wide < per-role < per-node", () => {
  const stack = () => ({
    nodes: [
      cp("c", "10.0.0.1"),
      worker("w", "10.0.0.2", { patches: [{ machine: { sysctls: { a: "3" } } }] }),
    ],
    patches: {
      all: [{ machine: { sysctls: { a: "1" } } }],
      worker: [{ machine: { sysctls: { a: "2" } } }],
    },
  });

  it("keeps stack patches out of the role invokes and applies them per node after the generated settings", () => {
    const spec = specOf(stack());
    const worker = spec.nodes[1];
    expect(JSON.stringify(rolePatches(spec, "worker", "img"))).not.toContain("sysctls");
    const docs = nodePatches(spec, worker);
    const at = (doc: unknown) => docs.findIndex((d) => JSON.stringify(d) === JSON.stringify(doc));
    const generated = [
      at({ apiVersion: "v1alpha1", kind: "HostnameConfig", hostname: "w", auto: "off" }),
      at({ machine: { install: { disk: "/dev/sda" } } }),
    ];
    const user = [1, 2, 3].map((v) => at({ machine: { sysctls: { a: String(v) } } }));
    expect([...generated, ...user].every((i) => i >= 0)).toBe(true);
    expect(Math.max(...generated)).toBeLessThan(Math.min(...user));
    expect(user).toEqual([...user].sort((a, b) => a - b));
    expect(nodePatches(spec, spec.nodes[0])).toContainEqual({ machine: { sysctls: { a: "1" } } });
    expect(JSON.stringify(nodePatches(spec, spec.nodes[0]))).not.toContain('"2"');
  });

  it("lets a stack patch replace a generated default it cannot merge into: install disk and automatic hostnames", () => {
    const spec = specOf({
      nodes: [cp("c", "10.0.0.1"), worker("w", "10.0.0.2")],
      patches: {
        all: [{ machine: { install: { diskSelector: { type: "nvme" } } } }],
        worker: [{ apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "stable" }],
      },
    });
    const [c, w] = spec.nodes.map((n) => nodePatches(spec, n));
    expect(c).not.toContainEqual({ machine: { install: { disk: "/dev/sda" } } });
    expect(JSON.stringify(w)).not.toContain('"hostname":"w"');
    expect(c).toContainEqual({ apiVersion: "v1alpha1", kind: "HostnameConfig", hostname: "c", auto: "off" });
  });

  it("keeps role-default and per-node labels in separate documents, so each carries its own level", () => {
    const spec = specOf({
      nodes: [worker("w", "10.0.0.2", { labels: { b: "node" } }), cp("c", "10.0.0.1")],
      roles: { worker: { labels: { a: "role", b: "role" } } },
    });
    const docs = nodePatches(spec, spec.nodes[0]);
    expect(docs).toContainEqual({ machine: { nodeLabels: { a: "role" } } });
    expect(docs).toContainEqual({ machine: { nodeLabels: { b: "node" } } });
  });

  it.each([
    [
      "a stack-wide patch against a node's own install disk",
      {
        nodes: [cp("c", "10.0.0.1", { installDisk: "/dev/nvme0n1" })],
        patches: { all: [{ machine: { install: { disk: "/dev/sdb" } } }] },
      },
      /patches\.all\[0\] changes machine\.install\.disk from "\/dev\/nvme0n1" \(set by nodes\[0\]\.installDisk\) to "\/dev\/sdb": a stack-wide patch cannot change a per-node value/,
    ],
    [
      "a role patch against the role's default label",
      {
        nodes: [cp("c", "10.0.0.1"), worker("w", "10.0.0.2")],
        roles: { worker: { labels: { zone: "a" } } },
        patches: { worker: [{ machine: { nodeLabels: { zone: "b" } } }] },
      },
      /patches\.worker\[0\] changes machine\.nodeLabels\.zone from "a" \(set by roles\.worker\.labels\) to "b": both are per-role.*nodes\[i\]\.patches/,
    ],
    [
      "two stack-wide patches setting one value",
      {
        nodes: [cp("c", "10.0.0.1")],
        patches: { all: [{ machine: { sysctls: { a: "1" } } }, { machine: { sysctls: { a: "2" } } }] },
      },
      /patches\.all\[1\] changes machine\.sysctls\.a from "1" \(set by patches\.all\[0\]\) to "2"/,
    ],
    [
      "a patch against the CNI the program deploys",
      {
        nodes: [cp("c", "10.0.0.1")],
        patches: { all: [{ cluster: { network: { cni: { name: "flannel" } } } }] },
      },
      /patches\.all\[0\] changes cluster\.network\.cni\.name from "none" \(set by cni\)/,
    ],
    [
      "a role's disk path under the role's disk selector",
      {
        nodes: [cp("c", "10.0.0.1"), worker("w", "10.0.0.2")],
        roles: { worker: { installDiskSelector: { type: "nvme" } } },
        patches: { worker: [{ machine: { install: { disk: "/dev/sdb" } } }] },
      },
      /patches\.worker\[0\] sets machine\.install\.disk to "\/dev\/sdb", which has no effect: machine\.install\.diskSelector is set.*roles\.worker\.installDiskSelector/,
    ],
    [
      "a shared IP that reaches a worker",
      {
        nodes: [cp("c", "10.0.0.1"), worker("w", "10.0.0.2")],
        patches: {
          all: [{ machine: { network: { interfaces: [{ interface: "eth0", vip: { ip: "10.0.0.9" } }] } } }],
        },
      },
      /patches\.all\[0\]: machine\.network\.interfaces\[\]\.vip reaches worker w.*virtual \(shared\) IP is not allowed on non-controlplane nodes/,
    ],
    [
      "kernel arguments beside the UKI command line",
      {
        nodes: [cp("c", "10.0.0.1")],
        patches: { all: [{ machine: { install: { extraKernelArgs: ["console=ttyS0"] } } }] },
      },
      /patches\.all\[0\] sets machine\.install\.extraKernelArgs, which Talos refuses next to machine\.install\.grubUseUKICmdline/,
    ],
    [
      "legacy time servers beside a TimeSyncConfig",
      {
        nodes: [cp("c", "10.0.0.1")],
        patches: {
          all: [
            { machine: { time: { servers: ["a.example"] } } },
            { apiVersion: "v1alpha1", kind: "TimeSyncConfig", ntp: { servers: ["b.example"] } },
          ],
        },
      },
      /patches\.all\[0\] sets machine\.time\.servers and patches\.all\[1\] a TimeSyncConfig document.*time servers cannot be specified in both/,
    ],
    [
      "deleting a label that is not there",
      {
        nodes: [cp("c", "10.0.0.1")],
        patches: { all: [{ machine: { nodeLabels: { zone: { $patch: "delete" } } } }] },
      },
      /patches\.all\[0\] deletes machine\.nodeLabels\.zone.*lookup failed/,
    ],
    [
      "a static hostname beside automatic hostnames",
      {
        nodes: [cp("c", "10.0.0.1", { hostname: "kube-c" })],
        patches: { all: [{ apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "stable" }] },
      },
      /'auto' and 'hostname' cannot be set at the same time/,
    ],
  ])("refuses %s, naming both places", (_label, raw, expected) => {
    expect(errorsOf(raw)).toMatch(expected);
  });

  it("lets a more specific patch override a less specific one, and a shared IP stay on control planes", () => {
    for (const raw of [
      stack(),
      {
        nodes: [cp("c", "10.0.0.1", { patches: [{ machine: { install: { disk: "/dev/vdb" } } }] })],
        roles: { controlplane: { installDisk: "/dev/nvme0n1" } },
      },
      {
        nodes: [cp("c", "10.0.0.1"), worker("w", "10.0.0.2")],
        patches: {
          controlplane: [
            { machine: { network: { interfaces: [{ interface: "eth0", vip: { ip: "10.0.0.9" } }] } } },
          ],
        },
      },
      {
        nodes: [cp("c", "10.0.0.1")],
        patches: { all: [{ machine: { time: { servers: ["pool.ntp.org"] } } }] },
      },
    ]) {
      expect(checkStack(raw)).toMatchObject({ errors: [], warnings: [] });
    }
  });
});
