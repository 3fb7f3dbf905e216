import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeStackConfig, parseClusterConfig } from "../components/config/schema";
import { endpointProblem } from "../components/config/checks";
import { validatePatchAgainstTalosSchema } from "../components/config/load";
import { checkVersionPair } from "../components/config/versions";

const cp = (name: string, address: string) => ({ name, address, role: "controlplane" });
const worker = (name: string, address: string) => ({ name, address, role: "worker" });
const base = () => ({
  nodes: [cp("control-plane-1", "192.168.1.10"), worker("worker-1", "192.168.1.11")],
});
const parse = (raw: Record<string, unknown>) => parseClusterConfig(raw, validatePatchAgainstTalosSchema);
const errorsOf = (raw: Record<string, unknown>) => {
  const r = parse(raw);
  expect(r.spec).toBeUndefined();
  return r.errors.join("\n");
};

describe("parseClusterConfig: a valid stack", () => {
  it("normalizes the minimal homelab with documented defaults", () => {
    const { spec, errors } = parse(base());
    expect(errors).toEqual([]);
    expect(spec).toMatchObject({
      clusterName: "homelab",
      endpoint: "https://192.168.1.10:6443",
      talosVersion: "v1.13.9",
      kubernetesVersion: "1.36.0",
      cni: { name: "calico", version: "v3.31.4" },
      allowSchedulingOnControlPlanes: true,
      resetOnDestroy: false,
      upgrade: { workerBatchSize: 1 },
    });
    expect(spec!.bootstrapNode.name).toBe("control-plane-1");
    expect(spec!.nodes[1]).toMatchObject({ hostname: "worker-1", installDisk: { path: "/dev/sda" } });
  });

  it("accepts versions with or without v and normalizes each its own way", () => {
    const { spec } = parse({ ...base(), talosVersion: "1.13.2", kubernetesVersion: "v1.35.1" });
    expect(spec).toMatchObject({ talosVersion: "v1.13.2", kubernetesVersion: "1.35.1" });
  });

  it("derives the endpoint from the VIP, bracketing IPv6", () => {
    expect(parse({ ...base(), vip: { address: "192.168.1.9", link: "eth0" } }).spec!.endpoint).toBe(
      "https://192.168.1.9:6443",
    );
    const v6 = parse({ nodes: [cp("a", "fd00::10")] }).spec!;
    expect(v6.endpoint).toBe("https://[fd00::10]:6443");
  });

  it("decodes the strings Pulumi passes: JSON for lists and maps, booleans and numbers as text", () => {
    const raw = decodeStackConfig({
      "homelab:nodes": JSON.stringify(base().nodes),
      "homelab:resetOnDestroy": "true",
      "homelab:upgrade": JSON.stringify({ workerBatchSize: 3 }),
      "homelab:kubernetesVersion": "1.35.0",
      "other:key": "ignored",
    });
    const { spec, errors } = parse(raw);
    expect(errors).toEqual([]);
    expect(spec).toMatchObject({
      resetOnDestroy: true,
      kubernetesVersion: "1.35.0",
      upgrade: { workerBatchSize: 3 },
    });
  });

  it("turns off control-plane scheduling from three workers, and lets the stack override it", () => {
    const three = {
      nodes: [
        cp("c", "10.0.0.1"),
        worker("w1", "10.0.0.2"),
        worker("w2", "10.0.0.3"),
        worker("w3", "10.0.0.4"),
      ],
    };
    expect(parse(three).spec!.allowSchedulingOnControlPlanes).toBe(false);
    expect(
      parse({ ...three, allowSchedulingOnControlPlanes: "true" }).spec!.allowSchedulingOnControlPlanes,
    ).toBe(true);
  });

  it("merges role defaults under node settings", () => {
    const { spec } = parse({
      nodes: [
        cp("c", "10.0.0.1"),
        { ...worker("w", "10.0.0.2"), labels: { b: "node" }, installDisk: "/dev/vda" },
      ],
      roles: {
        worker: { installDiskSelector: { type: "nvme" }, labels: { a: "role", b: "role" } },
        controlplane: { installDiskSelector: { model: "Samsung*" } },
      },
    });
    expect(spec!.nodes[0].installDisk).toEqual({ selector: { model: "Samsung*" } });
    expect(spec!.nodes[1].installDisk).toEqual({ path: "/dev/vda" });
    expect(spec!.nodes[1].labels).toEqual({ a: "role", b: "node" });
  });

  it("refuses 2 control planes (etcd loses quorum when either is down), naming nodes and the fix", () => {
    const r = parse({ nodes: [cp("a", "10.0.0.1"), cp("b", "10.0.0.2")] });
    expect(r.spec).toBeUndefined();
    expect(r.errors.join("\n")).toMatch(/nodes.*2 control planes.*use 1 or 3/);
  });

  it("takes a config contract no newer than the Talos version, and refuses a newer one naming the fix", () => {
    expect(parse({ ...base(), configContract: "1.12" }).spec?.configContract).toBe("v1.12");
    expect(parse(base()).spec?.configContract).toBeUndefined();
    expect(errorsOf({ ...base(), talosVersion: "v1.12.11", configContract: "v1.13" })).toMatch(
      /configContract.*newer than talosVersion v1\.12\.11.*upgrade Talos first/,
    );
  });

  it("warns, without failing, about 4 control planes (no more tolerance than 3)", () => {
    const r = parse({ nodes: ["a", "b", "c", "d"].map((n, i) => cp(n, `10.0.0.${i + 1}`)) });
    expect(r.spec).toBeDefined();
    expect(r.warnings.join("\n")).toMatch(/4 control planes.*odd number/);
  });

  it("parses YAML patches, multi-document ones too", () => {
    const { spec, errors } = parse({
      ...base(),
      patches: {
        all: [
          "machine:\n  sysctls:\n    vm.max_map_count: '262144'\n---\napiVersion: v1alpha1\nkind: HostnameConfig\nauto: stable\n",
        ],
      },
    });
    expect(errors).toEqual([]);
    expect(spec!.patches.all).toHaveLength(2);
  });
});

describe("parseClusterConfig: bad input names the path and the fix", () => {
  it.each([
    [
      "duplicate names",
      { nodes: [cp("a", "10.0.0.1"), worker("a", "10.0.0.2")] },
      /nodes\[1\]\.name: duplicate node name "a"/,
    ],
    [
      "duplicate addresses",
      { nodes: [cp("a", "10.0.0.1"), worker("b", "10.0.0.1")] },
      /nodes\[1\]\.address: duplicate address 10\.0\.0\.1/,
    ],
    [
      "invalid IP",
      { nodes: [cp("a", "999.1.1.1")] },
      /nodes\[0\]\.address: "999\.1\.1\.1" is not an IPv4 or IPv6 address/,
    ],
    ["no control plane", { nodes: [worker("a", "10.0.0.1")] }, /nodes: no control plane/],
    [
      "bootstrap node that is a worker",
      { ...base(), bootstrapNode: "worker-1" },
      /bootstrapNode: "worker-1" is a worker/,
    ],
    [
      "bootstrap node that does not exist",
      { ...base(), bootstrapNode: "nope" },
      /bootstrapNode: "nope" is not a node name/,
    ],
    [
      "http endpoint",
      { ...base(), endpoint: "http://10.0.0.1:6443" },
      /endpoint: .*uses http — must be https:\/\/<host>:<port>/,
    ],
    ["endpoint without port", { ...base(), endpoint: "https://10.0.0.1" }, /endpoint: .*has no port/],
    ["endpoint with a path", { ...base(), endpoint: "https://10.0.0.1:6443/api" }, /endpoint: .*path/],
    [
      "malformed Talos version",
      { ...base(), talosVersion: "1.13" },
      /talosVersion: "1\.13" is not a Talos version — write it in full/,
    ],
    [
      "malformed Kubernetes version",
      { ...base(), kubernetesVersion: "latest" },
      /kubernetesVersion: "latest" is not a Kubernetes version/,
    ],
    [
      "Kubernetes outside the Talos window",
      { ...base(), kubernetesVersion: "1.30.4" },
      /kubernetesVersion: Kubernetes 1\.30\.4 is not supported by Talos 1\.13 \(supported: 1\.31 to 1\.36\)/,
    ],
    [
      "unsupported Talos minor",
      { ...base(), talosVersion: "v1.9.5" },
      /Talos 1\.9 is not supported by this program/,
    ],
    ["unknown CNI", { ...base(), cni: "weave" }, /cni.*must be one of "calico", "cilium", "flannel"/],
    [
      "unparsable patch",
      { ...base(), patches: { all: ["machine: [unclosed"] } },
      /patches\.all\[0\]: is not valid YAML/,
    ],
    [
      "patch with a misspelled key",
      {
        ...base(),
        nodes: [cp("a", "10.0.0.1"), { ...worker("b", "10.0.0.2"), patches: [{ machine: { nework: {} } }] }],
      },
      /nodes\[1\]\.patches\[0\]: machine\.nework is not a Talos setting — did you mean machine\.network\?/,
    ],
    [
      "both install disk settings",
      { nodes: [{ ...cp("a", "10.0.0.1"), installDisk: "/dev/sda", installDiskSelector: { type: "ssd" } }] },
      /nodes\[0\]: set installDisk or installDiskSelector, not both/,
    ],
    [
      "misspelled top-level key",
      { ...base(), kubernetesVersoin: "1.36.0" },
      /unknown setting "kubernetesVersoin" \(did you mean "kubernetesVersion"\?\)/,
    ],
    ["VIP without a link", { ...base(), vip: { address: "10.0.0.9" } }, /vip: name the VIP's interface/],
    ["upper-case node name", { nodes: [cp("CP1", "10.0.0.1")] }, /nodes\[0\]\.name: must be a DNS label/],
    ["no nodes at all", { nodes: [] }, /nodes: list at least one node/],
    [
      "a disk selector on name, which every Talos node refuses",
      { nodes: [{ ...cp("a", "10.0.0.1"), installDiskSelector: { name: "/dev/sda" } }] },
      /nodes\[0\]\.installDiskSelector\.name: Talos refuses a disk selector on name \("selector on name is not supported"\)/,
    ],
    [
      "a label key Kubernetes refuses",
      { nodes: [{ ...cp("a", "10.0.0.1"), labels: { "bad key": "x" } }] },
      /nodes\[0\]\.labels\.bad key: Talos refuses it: name "bad key" is invalid/,
    ],
    [
      "a label value Kubernetes refuses",
      { ...base(), roles: { worker: { labels: { zone: "a b" } } } },
      /roles\.worker\.labels\.zone: Talos refuses it: label value "a b" is invalid/,
    ],
    [
      "a JSON 6902 patch as YAML",
      {
        ...base(),
        patches: { all: ["- op: add\n  path: /machine/sysctls\n  value:\n    vm.swappiness: '10'\n"] },
      },
      /patches\.all\[0\]: is a JSON 6902 patch.*JSON6902 patches are not supported for multi-document machine configuration.*\{"machine":\{"sysctls":\{"vm\.swappiness":"10"\}\}\}/,
    ],
    [
      "a JSON 6902 patch as a list",
      { ...base(), patches: { worker: [[{ op: "remove", path: "/machine/nodeLabels/zone" }]] } },
      /patches\.worker\[0\]: is a JSON 6902 patch.*\{"machine":\{"nodeLabels":\{"zone":\{"\$patch":"delete"\}\}\}\}/,
    ],
    [
      "a JSON 6902 patch on list items, which has no simple equivalent",
      { ...base(), patches: { all: ['[{"op": "add", "path": "/machine/certSANs/-", "value": "x"}]'] } },
      /patches\.all\[0\]: is a JSON 6902 patch.*Write it as a strategic-merge patch \(a mapping of the settings to change\)/,
    ],
  ])("%s", (_label, raw, expected) => {
    expect(errorsOf(raw as Record<string, unknown>)).toMatch(expected);
  });

  it("reports every problem of one stack at once", () => {
    const errors = errorsOf({
      nodes: [worker("a", "300.0.0.1"), worker("a", "10.0.0.2")],
      endpoint: "10.0.0.1:6443",
      kubernetesVersion: "one",
    });
    for (const fragment of [
      "nodes[0].address",
      "nodes[1].name",
      "no control plane",
      "endpoint",
      "kubernetesVersion",
    ]) {
      expect(errors).toContain(fragment);
    }
  });
});

describe("endpointProblem", () => {
  it("accepts exactly https://host:port", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 1, max: 65535 }), (ip, port) => {
        expect(endpointProblem(`https://${ip}:${port}`)).toBeUndefined();
        expect(endpointProblem(`http://${ip}:${port}`)).toBeDefined();
        expect(endpointProblem(`https://${ip}:${port}/x`)).toBeDefined();
      }),
    );
  });
});

describe("version matrix", () => {
  it("accepts every Kubernetes minor in Talos 1.13's window and nothing outside", () => {
    fc.assert(
      fc.property(fc.integer({ min: 20, max: 45 }), fc.integer({ min: 0, max: 20 }), (minor, patch) => {
        const ok = checkVersionPair("v1.13.9", `1.${minor}.${patch}`) === undefined;
        expect(ok).toBe(minor >= 31 && minor <= 36);
      }),
    );
  });
});

/**
 * A machine's IPv4 address: not 0.0.0.0, multicast (224/4) or link-local (169.254/16), and outside the
 * default pod (10.244/16) and service (10.96/12) ranges, which the stack checks refuse.
 */
const machineIpV4 = fc.ipV4().filter((ip) => {
  const [a, b] = ip.split(".").map(Number);
  return (
    ip !== "0.0.0.0" &&
    !(a >= 224 && a <= 239) &&
    !(a === 169 && b === 254) &&
    !(a === 10 && (b === 244 || (b >= 96 && b <= 111)))
  );
});

/** Arbitrary valid clusters: unique names and addresses, at least one control plane, never exactly two. */
const clusterArb = fc
  .uniqueArray(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/), machineIpV4), {
    minLength: 1,
    maxLength: 12,
    selector: ([n]) => n,
  })
  .filter((xs) => new Set(xs.map(([, ip]) => ip)).size === xs.length)
  .chain((xs) =>
    fc.tuple(fc.constant(xs), fc.array(fc.boolean(), { minLength: xs.length, maxLength: xs.length })),
  )
  .map(([xs, isWorker]) =>
    xs.map(([name, address], i) => ({
      name,
      address,
      role: i > 0 && isWorker[i] ? "worker" : "controlplane",
    })),
  )
  .filter((nodes) => nodes.filter((n) => n.role === "controlplane").length !== 2);

describe("parseClusterConfig: properties", () => {
  it("any valid cluster parses; roles partition the nodes; the bootstrap node is a control plane", () => {
    fc.assert(
      fc.property(clusterArb, (nodes) => {
        const { spec, errors } = parseClusterConfig({ nodes });
        expect(errors).toEqual([]);
        expect(spec!.controlPlanes.length + spec!.workers.length).toBe(nodes.length);
        expect(spec!.bootstrapNode.role).toBe("controlplane");
        expect(endpointProblem(spec!.endpoint)).toBeUndefined();
      }),
    );
  });

  it("the order of keys in the stack file does not change the spec", () => {
    fc.assert(
      fc.property(clusterArb, fc.boolean(), (nodes, flip) => {
        const shuffled = nodes.map((n) =>
          flip
            ? { role: n.role, address: n.address, name: n.name }
            : { address: n.address, name: n.name, role: n.role },
        );
        const a = parseClusterConfig({ nodes, cni: { version: "v3.31.4", name: "calico" } }).spec;
        const b = parseClusterConfig({ cni: { name: "calico", version: "v3.31.4" }, nodes: shuffled }).spec;
        expect(JSON.stringify(b)).toBe(JSON.stringify(a));
      }),
    );
  });

  it("a duplicated address anywhere is reported at the second node's path", () => {
    fc.assert(
      fc.property(
        clusterArb.filter((n) => n.length >= 2),
        fc.nat(),
        (nodes, k) => {
          const j = 1 + (k % (nodes.length - 1));
          const dup = nodes.map((n, i) => (i === j ? { ...n, address: nodes[0].address } : n));
          expect(parseClusterConfig({ nodes: dup }).errors.join("\n")).toContain(
            `nodes[${j}].address: duplicate address`,
          );
        },
      ),
    );
  });
});

describe("CNI compatibility", () => {
  it("warns, without failing, when Cilium's release line was not tested with the Kubernetes minor", () => {
    const nodes = [{ name: "a", address: "10.0.0.1", role: "controlplane" }];
    const untested = parseClusterConfig({
      nodes,
      cni: { name: "cilium", version: "1.18.4" },
      kubernetesVersion: "1.36.0",
    });
    expect(untested.spec).toBeDefined();
    expect(untested.warnings.join("\n")).toMatch(
      /cilium 1\.18 is tested with Kubernetes 1\.30 to 1\.33, not 1\.36/,
    );
    const tested = parseClusterConfig({
      nodes,
      cni: { name: "cilium", version: "1.18.4" },
      kubernetesVersion: "1.33.2",
    });
    expect(tested.warnings).toEqual([]);
  });
});
