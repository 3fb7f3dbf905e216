import * as fs from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkStack, validatePatchAgainstTalosSchema } from "../components/config/load";
import { KNOWN_EXTENSIONS } from "../components/config/extensions";
import { decodeStackConfig, parseClusterConfig } from "../components/config/schema";
import { PROJECT_ROOT, stackConfigFromFile } from "./support/program";

const cp = (name: string, address: string, extra: Record<string, unknown> = {}) => ({
  name,
  address,
  role: "controlplane",
  ...extra,
});
const worker = (name: string, address: string, extra: Record<string, unknown> = {}) => ({
  name,
  address,
  role: "worker",
  ...extra,
});
const parse = (raw: Record<string, unknown>) => parseClusterConfig(raw, validatePatchAgainstTalosSchema);
/** The errors of a stack that must be refused, one `path: message` per line. */
const errorsOf = (raw: Record<string, unknown>) => {
  const r = parse(raw);
  expect(r.spec).toBeUndefined();
  return r.errors;
};
/** The one error at `path`, failing when there is none. */
const errorAt = (raw: Record<string, unknown>, path: string) => {
  const errors = errorsOf(raw).filter((e) => e.startsWith(`${path}: `));
  expect(errors, `no error at ${path}`).toHaveLength(1);
  return errors[0];
};

describe("hostnames", () => {
  it("refuses a hostname equal to another node's name (which is that node's hostname)", () => {
    const raw = { nodes: [cp("a", "10.0.0.1", { hostname: "b" }), worker("b", "10.0.0.2")] };
    expect(errorAt(raw, "nodes[0].hostname")).toMatch(
      /hostname "b" is nodes\[1\]'s name, which is also its hostname .*give nodes\[0\] a hostname no other node uses/,
    );
  });

  it("refuses it whichever node comes first", () => {
    const raw = { nodes: [cp("a", "10.0.0.1"), worker("b", "10.0.0.2", { hostname: "a" })] };
    expect(errorAt(raw, "nodes[1].hostname")).toMatch(/hostname "a" is nodes\[0\]'s name/);
  });

  it("refuses a hostname equal to another node's name even when that node has a hostname of its own", () => {
    const raw = {
      nodes: [cp("a", "10.0.0.1", { hostname: "x" }), worker("b", "10.0.0.2", { hostname: "a" })],
    };
    expect(errorAt(raw, "nodes[1].hostname")).toMatch(
      /hostname "a" is nodes\[0\]'s name \(its hostname is "x"\).*drop it to use its name/,
    );
  });

  it("refuses two equal hostnames at the second", () => {
    const raw = {
      nodes: [cp("a", "10.0.0.1", { hostname: "h" }), worker("b", "10.0.0.2", { hostname: "h" })],
    };
    expect(errorAt(raw, "nodes[1].hostname")).toMatch(/duplicate hostname "h" \(also nodes\[0\]\.hostname\)/);
    expect(errorsOf(raw).some((e) => e.startsWith("nodes[0]"))).toBe(false);
  });

  it("accepts a hostname equal to the node's own name, and distinct hostnames", () => {
    expect(
      parse({ nodes: [cp("a", "10.0.0.1", { hostname: "a" }), worker("b", "10.0.0.2")] }).errors,
    ).toEqual([]);
    expect(
      parse({ nodes: [cp("a", "10.0.0.1", { hostname: "x" }), worker("b", "10.0.0.2", { hostname: "y" })] })
        .errors,
    ).toEqual([]);
  });

  it("any collision among effective hostnames is refused at a hostname field", () => {
    const names = ["a", "b", "c"];
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.constantFrom(...names, "x", "y"), { nil: undefined }), {
          minLength: 3,
          maxLength: 3,
        }),
        (hosts) => {
          const nodes = names.map((name, i) =>
            cp(name, `10.0.0.${i + 1}`, hosts[i] === undefined ? {} : { hostname: hosts[i] }),
          );
          const effective = names.map((n, i) => hosts[i] ?? n);
          const claims = names.flatMap((n, i) => (effective[i] === n ? [n] : [n, effective[i]]));
          const collides = new Set(claims).size !== claims.length;
          const { errors } = parse({ nodes });
          expect(errors.length > 0).toBe(collides);
          for (const e of errors) expect(e).toMatch(/^nodes\[\d\]\.hostname: /);
        },
      ),
    );
  });
});

describe("addresses written two ways", () => {
  it("finds a duplicate IPv6 address across case, zero groups and leading zeros", () => {
    const raw = { nodes: [cp("a", "fd00::1"), worker("b", "FD00:0:0::0001")] };
    expect(errorAt(raw, "nodes[1].address")).toBe(
      "nodes[1].address: duplicate address FD00:0:0::0001 (also nodes[0], written fd00::1) — each machine has its own IP",
    );
  });

  it("finds the VIP on a node's address however either is written", () => {
    const raw = { nodes: [cp("a", "fd00::10")], vip: { address: "fd00:0::0010", link: "eth0" } };
    expect(errorAt(raw, "vip.address")).toMatch(
      /fd00:0::0010 is also nodes\[0\]'s address, written fd00::10 — reserve a free unicast IP/,
    );
  });
});

describe("addresses no machine holds", () => {
  it.each([
    ["0.0.0.0", /unspecified address \(0\.0\.0\.0\/32\).*use the IP the machine shows on its console/],
    ["::", /unspecified address \(::\/128\)/],
    ["224.0.0.5", /multicast address \(224\.0\.0\.0\/4\).*use the IP the machine shows/],
    ["ff02::1", /multicast address \(ff00::\/8\)/],
    [
      "169.254.3.3",
      /link-local \(169\.254\.0\.0\/16\): Talos never uses a link-local address as a node address/,
    ],
    ["fe80::1", /link-local \(fe80::\/10\)/],
  ])("refuses node address %s at its path", (address, message) => {
    const error = errorAt({ nodes: [cp("a", address)] }, "nodes[0].address");
    expect(error).toMatch(message);
    expect(error).toMatch(/ — use the IP the machine shows on its console once booted from the Talos ISO/);
  });

  it.each(["0.0.0.0", "239.1.1.1", "fe80::9"])("refuses VIP %s with the VIP's fix", (address) => {
    const raw = { nodes: [cp("a", "10.0.0.1")], vip: { address, link: "eth0" } };
    expect(errorAt(raw, "vip.address")).toMatch(/reserve a free unicast IP in the control planes' subnet/);
  });

  it("refuses an endpoint on the unspecified address, and accepts loopback everywhere (the engine tier runs there)", () => {
    expect(errorAt({ nodes: [cp("a", "10.0.0.1")], endpoint: "https://0.0.0.0:6443" }, "endpoint")).toMatch(
      /point the endpoint at the VIP or a control plane's address/,
    );
    const loopback = parse({ nodes: [cp("a", "127.168.1.10")], vip: { address: "127.168.1.9", link: "lo" } });
    expect(loopback.errors).toEqual([]);
    expect(loopback.warnings).toEqual([]);
  });
});

describe("pod and service ranges", () => {
  it("refuses pod and service ranges that overlap, at the range the stack sets", () => {
    const raw = { nodes: [cp("a", "192.168.1.10")], network: { serviceSubnets: ["10.244.128.0/20"] } };
    expect(errorAt(raw, "network.serviceSubnets[0]")).toMatch(
      /10\.244\.128\.0\/20 overlaps the default pod subnet 10\.244\.0\.0\/16: pods and services need separate ranges — set network\.serviceSubnets to a range nothing else uses, e\.g\. \[10\.96\.0\.0\/12\]/,
    );
  });

  it("refuses the default service range when the LAN is on 10.96.x.x, and offers a free one", () => {
    const raw = { nodes: [cp("a", "10.96.0.10"), worker("b", "10.96.0.11")] };
    expect(errorAt(raw, "network.serviceSubnets")).toMatch(
      /the default service subnet 10\.96\.0\.0\/12 holds nodes\[0\]\.address 10\.96\.0\.10, nodes\[1\]\.address 10\.96\.0\.11: .* set network\.serviceSubnets to a range nothing else uses, e\.g\. \[10\.43\.0\.0\/16\]/,
    );
  });

  it("refuses a pod range holding the VIP, naming both", () => {
    const raw = {
      nodes: [cp("a", "172.30.1.10")],
      vip: { address: "172.30.1.9", link: "eth0" },
      network: { podSubnets: ["172.30.0.0/16"] },
    };
    const error = errorAt(raw, "network.podSubnets[0]");
    expect(error).toMatch(
      /pod subnet 172\.30\.0\.0\/16 \(network\.podSubnets\[0\]\) holds nodes\[0\]\.address 172\.30\.1\.10, vip\.address 172\.30\.1\.9/,
    );
    expect(error).toMatch(/e\.g\. \[10\.244\.0\.0\/16\]/);
  });

  it("accepts separate ranges, and IPv6 nodes beside the IPv4 defaults", () => {
    expect(
      parse({ nodes: [cp("a", "192.168.1.10")], network: { podSubnets: ["10.42.0.0/16"] } }).errors,
    ).toEqual([]);
    expect(parse({ nodes: [cp("a", "fd00::10")] }).errors).toEqual([]);
  });
});

describe("the VIP's subnet (a warning)", () => {
  const warningsOf = (raw: Record<string, unknown>) => {
    const r = parse(raw);
    expect(r.errors).toEqual([]);
    return r.warnings.filter((w) => w.startsWith("vip.address: "));
  };

  it("warns when the VIP is outside every control plane's /24, saying the prefix was assumed", () => {
    const [warning, ...rest] = warningsOf({
      nodes: [
        cp("a", "192.168.1.10"),
        cp("b", "192.168.1.11"),
        cp("c", "192.168.1.12"),
        worker("w", "192.168.2.1"),
      ],
      vip: { address: "192.168.2.9", link: "eth0" },
    });
    expect(rest).toEqual([]);
    expect(warning).toMatch(
      /192\.168\.2\.9 is outside every control plane's subnet \(nodes\[0\] 192\.168\.1\.0\/24, nodes\[1\] 192\.168\.1\.0\/24, nodes\[2\] 192\.168\.1\.0\/24\) \(prefix \/24 assumed: the stack's patches give no prefix/,
    );
    expect(warning).toMatch(/reserve a free IP in the control planes' subnet$/);
  });

  it("uses the prefix a control plane's patch gives its address, and then assumes nothing", () => {
    const linkConfig =
      "apiVersion: v1alpha1\nkind: LinkConfig\nname: eth0\naddresses:\n  - address: 192.168.1.10/23\n";
    const raw = {
      nodes: [cp("a", "192.168.1.10", { patches: [linkConfig] })],
      vip: { address: "192.168.0.9", link: "eth0" },
    };
    expect(warningsOf(raw)).toEqual([]);
    const [warning] = warningsOf({ ...raw, vip: { address: "192.168.2.9", link: "eth0" } });
    expect(warning).toMatch(/\(nodes\[0\] 192\.168\.0\.0\/23\) — /);
    expect(warning).not.toMatch(/assumed/);
  });

  it("assumes /64 for IPv6 and stays quiet inside it", () => {
    expect(warningsOf({ nodes: [cp("a", "fd00::10")], vip: { address: "fd00::9", link: "eth0" } })).toEqual(
      [],
    );
    const [warning] = warningsOf({
      nodes: [cp("a", "fd00::10")],
      vip: { address: "fd00:1::9", link: "eth0" },
    });
    expect(warning).toMatch(/nodes\[0\] fd00::\/64\) \(prefix \/64 assumed/);
  });
});

describe("Kubernetes syntax of labels and taints, at their path", () => {
  it("refuses a taint whose value Kubernetes refuses, naming the node's taint key", () => {
    const raw = { nodes: [cp("a", "10.0.0.1", { taints: { dedicated: "no spaces:NoSchedule" } })] };
    expect(errorAt(raw, "nodes[0].taints.dedicated")).toMatch(/Talos refuses it: .*"no spaces"/);
  });

  it("refuses a role's label key Kubernetes refuses, naming the role's label", () => {
    const raw = { nodes: [cp("a", "10.0.0.1")], roles: { controlplane: { labels: { "-bad": "x" } } } };
    expect(errorAt(raw, "roles.controlplane.labels.-bad")).toMatch(
      /Talos refuses it: name "-bad" is invalid/,
    );
  });
});

describe("extension names", () => {
  const withExtensions = (extensions: string[]) => parse({ nodes: [cp("a", "10.0.0.1")], extensions });

  it("warns at the misspelled name, with the nearest official one, and still builds the spec", () => {
    const r = withExtensions(["siderolabs/iscsi-tools", "siderolabs/util-linux-tool"]);
    expect(r.spec?.extensions).toEqual(["siderolabs/iscsi-tools", "siderolabs/util-linux-tool"]);
    expect(r.warnings).toEqual([
      expect.stringMatching(
        /^extensions\[1\]: "siderolabs\/util-linux-tool" is not an official extension this program knows \(did you mean "siderolabs\/util-linux-tools"\?\) — .*fix the name/,
      ),
    ]);
  });

  it("warns without a guess when nothing is close, and says when to ignore it", () => {
    const [warning] = withExtensions(["acme/frobnicator"]).warnings;
    expect(warning).toMatch(/^extensions\[0\]: "acme\/frobnicator" is not an official extension/);
    expect(warning).not.toMatch(/did you mean/);
    expect(warning).toMatch(/ignore this if the extension is newer than the program's list/);
  });

  it("knows the names people use on a homelab, and nothing the stack schema would refuse", () => {
    const names = [...KNOWN_EXTENSIONS];
    for (const n of [
      "iscsi-tools",
      "util-linux-tools",
      "qemu-guest-agent",
      "intel-ucode",
      "zfs",
      "tailscale",
    ]) {
      expect(names).toContain(`siderolabs/${n}`);
    }
    expect(withExtensions(names).errors).toEqual([]);
    expect(withExtensions(names).warnings).toEqual([]);
  });
});

describe("every shipped stack", () => {
  const stacks = fs.readdirSync(PROJECT_ROOT).filter((f) => /^Pulumi\..+\.yaml$/.test(f));
  it.each(stacks)("%s passes every check without a network warning", (file) => {
    const { spec, errors, warnings } = checkStack(decodeStackConfig(stackConfigFromFile(file)));
    expect(errors).toEqual([]);
    expect(spec).toBeDefined();
    expect(warnings.filter((w) => /^(vip|extensions|network)/.test(w))).toEqual([]);
  });
});

describe("extensions", () => {
  it("refuses an extension listed twice, at the second entry, naming the first", () => {
    const raw = {
      nodes: [cp("a", "10.0.0.1")],
      extensions: ["siderolabs/iscsi-tools", "siderolabs/util-linux-tools", "siderolabs/iscsi-tools"],
    };
    expect(errorAt(raw, "extensions[2]")).toMatch(
      /"siderolabs\/iscsi-tools" is listed twice \(also extensions\[0\]\) — list each extension once/,
    );
  });
});
