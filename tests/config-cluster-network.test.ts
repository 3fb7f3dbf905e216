/**
 * What the whole cluster shares. The endpoint every node's configuration points at
 * (cluster.controlPlane.endpoint): a worker's address is refused (workers serve no Kubernetes API), and an IP
 * that is no control plane and not the VIP is warned about, since that is what an endpoint left on a removed
 * control plane looks like. The pod and service ranges: settings only, never a patch, because the CNI and the
 * address checks read the setting.
 */
import { describe, expect, it } from "vitest";
import { validatePatchAgainstTalosSchema } from "../components/config/load";
import { parseClusterConfig } from "../components/config/schema";

const nodes = [
  { name: "cp-1", address: "192.168.1.11", role: "controlplane" },
  { name: "cp-2", address: "192.168.1.12", role: "controlplane" },
  { name: "cp-3", address: "192.168.1.13", role: "controlplane" },
  { name: "w-1", address: "192.168.1.21", role: "worker" },
];
const parse = (extra: Record<string, unknown>) =>
  parseClusterConfig({ nodes, ...extra }, validatePatchAgainstTalosSchema);
const endpointWarnings = (extra: Record<string, unknown>) =>
  parse(extra).warnings.filter((w) => w.startsWith("endpoint:"));

describe("the endpoint", () => {
  it("on a worker's address is refused, naming the node and the fix", () => {
    const r = parse({ endpoint: "https://192.168.1.21:6443" });
    expect(r.spec).toBeUndefined();
    expect(r.errors).toContainEqual(
      expect.stringMatching(
        /^endpoint: .*nodes\[3\], a worker.*point the endpoint at the VIP or a control plane/,
      ),
    );
  });

  it("on an IP the stack does not hold (a control plane removed from nodes) is warned about, with the order to follow", () => {
    const r = parse({ endpoint: "https://192.168.1.10:6443" });
    expect(r.spec).toBeDefined();
    expect(endpointWarnings({ endpoint: "https://192.168.1.10:6443" })).toEqual([
      expect.stringMatching(
        /neither a control plane's address nor the VIP.*point the endpoint at the VIP or a remaining control plane first/,
      ),
    ]);
  });

  it("on a control plane, the VIP (in any spelling) or a DNS name passes without a word", () => {
    expect(endpointWarnings({ endpoint: "https://192.168.1.12:6443" })).toEqual([]);
    const vip = { address: "192.168.1.100", link: "eth0" };
    expect(endpointWarnings({ vip, endpoint: "https://192.168.1.100:6443" })).toEqual([]);
    expect(endpointWarnings({ endpoint: "https://k8s.home.arpa:6443" })).toEqual([]);
    expect(endpointWarnings({})).toEqual([]);
  });

  it("compares IPv6 addresses as the network does", () => {
    const v6 = [
      { name: "cp-1", address: "fd00::11", role: "controlplane" },
      { name: "w-1", address: "fd00::21", role: "worker" },
    ];
    const r = parseClusterConfig(
      { nodes: v6, endpoint: "https://[FD00:0::11]:6443" },
      validatePatchAgainstTalosSchema,
    );
    expect(r.warnings.filter((w) => w.startsWith("endpoint:"))).toEqual([]);
    const w = parseClusterConfig(
      { nodes: v6, endpoint: "https://[fd00:0:0::21]:6443" },
      validatePatchAgainstTalosSchema,
    );
    expect(w.errors).toContainEqual(expect.stringMatching(/^endpoint: .*a worker/));
  });
});

describe("the pod and service ranges", () => {
  it("are refused in a patch (node, role or stack-wide), naming the patch and the setting to use", () => {
    const range = { cluster: { network: { podSubnets: ["10.50.0.0/16"] } } };
    const r = parseClusterConfig(
      {
        nodes: [{ ...nodes[0], patches: [range] }, ...nodes.slice(1)],
        patches: { all: [{ cluster: { network: { serviceSubnets: ["10.60.0.0/12"] } } }] },
      },
      validatePatchAgainstTalosSchema,
    );
    expect(r.spec).toBeUndefined();
    expect(r.errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /nodes\[0\]\.patches\[0\].*sets cluster\.network\.podSubnets — set the stack's network\.podSubnets instead/,
        ),
        expect.stringMatching(
          /patches\.all\[0\].*sets cluster\.network\.serviceSubnets — set the stack's network\.serviceSubnets instead/,
        ),
      ]),
    );
  });

  it("are accepted as the setting, and other cluster.network fields stay patchable", () => {
    const r = parseClusterConfig(
      {
        nodes: [
          { ...nodes[0], patches: [{ cluster: { network: { dnsDomain: "home.arpa" } } }] },
          ...nodes.slice(1),
        ],
        network: { podSubnets: ["10.50.0.0/16"] },
      },
      validatePatchAgainstTalosSchema,
    );
    expect(r.errors).toEqual([]);
    expect(r.spec?.podSubnets).toEqual(["10.50.0.0/16"]);
  });
});
