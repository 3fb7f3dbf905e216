/**
 * The lab's model of talosctl (scripts/lab-stack.ts): addresses checked against talosctl's own arithmetic
 * (nth-ip-v0.4.0.txt and state-v1.13.9.yaml.txt were computed by the real Go code, see state-sample.go), and
 * the stack file it writes checked against the program's own config validation.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import * as YAML from "yaml";
import { describe, expect, it } from "vitest";
import { parseClusterConfig } from "../components/config/schema";
import {
  LAB_INSTALL_DISK,
  LabError,
  labGateway,
  labMachines,
  labSettings,
  nthAddress,
  parseIpv4Prefix,
  parseLabState,
  patchStep,
  renderLabStack,
  stackConfig,
  type LabMachine,
  type LabSettings,
} from "../scripts/lab-stack";

const FIXTURES = path.join(__dirname, "fake-talosctl-lab");
const body = (file: string) => {
  const text = fs.readFileSync(path.join(FIXTURES, file), "utf8");
  return text.slice(text.indexOf("\n", text.indexOf("# ------")) + 1);
};
const toInt = (ip: string) => ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
const settings = (over: Partial<LabSettings> = {}): LabSettings => ({
  talosVersion: "v1.13.9",
  kubernetesVersion: "1.36.0",
  carried: {},
  resetOnDestroy: false,
  ...over,
});

describe("addresses, as talosctl assigns them", () => {
  it("match NthIPInNetwork of github.com/siderolabs/net v0.4.0, row by row", () => {
    const rows = body("nth-ip-v0.4.0.txt").trim().split("\n");
    expect(rows.length).toBeGreaterThan(20);
    for (const row of rows) {
      const [prefix, n, ...rest] = row.split(" ");
      const real = rest.join(" ");
      const ours = nthAddress(parseIpv4Prefix(prefix as string), Number(n));
      expect([row, ours ?? "error: network does not contain enough IPs"]).toEqual([row, real]);
    }
  });

  it("are what talosctl wrote in the real state file for the default lab", () => {
    const real = parseLabState(body("state-v1.13.9.yaml.txt"));
    expect(real).toEqual({
      name: "homelab-lab",
      cidr: "10.5.0.0/24",
      machines: labMachines("homelab-lab", 1, 1, "10.5.0.0/24"),
    });
    expect(labGateway("10.5.0.0/24")).toBe("10.5.0.1");
  });

  it("are distinct, inside the network, after the gateway, control planes first and numbered per role", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 20, max: 29 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 6 }),
        (raw, bits, cps, workers) => {
          const size = 2 ** (32 - bits);
          const network = raw - (raw % size);
          const cidr = `${[24, 16, 8, 0].map((s) => Math.floor(network / 2 ** s) % 256).join(".")}/${bits}`;
          if (cps + workers + 2 > size) {
            expect(() => labMachines("lab", cps, workers, cidr)).toThrow(/too small/);
            return;
          }
          const machines = labMachines("lab", cps, workers, cidr);
          const ints = machines.map((m) => toInt(m.address));
          expect(new Set(ints).size).toBe(machines.length);
          expect(ints.every((a) => a >= network + 2 && a < network + size)).toBe(true);
          expect(machines.map((m) => m.role)).toEqual([
            ...Array<string>(cps).fill("controlplane"),
            ...Array<string>(workers).fill("worker"),
          ]);
          expect(machines.filter((m) => m.role === "worker").map((m) => m.name)).toEqual(
            Array.from({ length: workers }, (_, i) => `lab-worker-${i + 1}`),
          );
        },
      ),
    );
  });

  it("refuses what talosctl would refuse or the stack could not name, saying which flag to change", () => {
    expect(() => labMachines("lab", 0, 1, "10.5.0.0/24")).toThrow(/--controlplanes/);
    expect(() => labMachines("lab", 1, 1, "fd00::/64")).toThrow(/--cidr .* is not an IPv4 CIDR/);
    expect(() => labMachines("Lab_1", 1, 1, "10.5.0.0/24")).toThrow(/--name "Lab_1" must be a DNS label/);
    expect(() => labMachines("a".repeat(50), 1, 1, "10.5.0.0/24")).toThrow(/at most 63 characters/);
    // A /30 holds the gateway and two machines (n = 1, 2, 3 of 0..3).
    expect(labMachines("lab", 1, 1, "10.5.0.0/30").map((m) => m.address)).toEqual(["10.5.0.2", "10.5.0.3"]);
    expect(() => labMachines("lab", 1, 2, "10.5.0.0/30")).toThrow(LabError);
  });
});

describe("the lab's stack file", () => {
  const machinesArb = fc
    .record({ cps: fc.constantFrom(1, 3), workers: fc.integer({ min: 0, max: 4 }) })
    .map(({ cps, workers }) => labMachines("homelab-lab", cps, workers, "10.5.0.0/24"));
  const settingsArb = fc.record({
    talosVersion: fc.integer({ min: 0, max: 20 }).map((p) => `v1.13.${p}`),
    kubernetesVersion: fc
      .record({ minor: fc.integer({ min: 31, max: 36 }), patch: fc.integer({ min: 0, max: 9 }) })
      .map(({ minor, patch }) => `1.${minor}.${patch}`),
    carried: fc.constantFrom<Record<string, unknown>>(
      {},
      { cni: "flannel" },
      { cni: { name: "calico", version: "v3.31.4" } },
      { cni: "cilium", extensions: ["siderolabs/iscsi-tools"] },
    ),
    resetOnDestroy: fc.boolean(),
  });

  it("passes the program's validation and lists every control plane and exactly the asked-for workers", () => {
    fc.assert(
      fc.property(machinesArb, settingsArb, fc.nat(), (machines: LabMachine[], s, pick) => {
        const available = machines.filter((m) => m.role === "worker");
        const workers = pick % (available.length + 1);
        const text = renderLabStack(
          {
            name: "homelab-lab",
            cidr: "10.5.0.0/24",
            machines,
            workers,
            settings: s,
          },
          parseClusterConfig,
        );
        const config = stackConfig(text);
        const result = parseClusterConfig(config);
        expect(result.report).toBeUndefined();
        const nodes = result.spec?.nodes ?? [];
        expect(nodes.map((n) => n.address)).toEqual([
          ...machines.filter((m) => m.role === "controlplane").map((m) => m.address),
          ...available.slice(0, workers).map((m) => m.address),
        ]);
        expect(nodes.map((n) => n.installDisk)).toEqual(nodes.map(() => ({ path: LAB_INSTALL_DISK })));
        expect(config).toMatchObject({
          clusterName: "homelab-lab",
          talosVersion: s.talosVersion,
          kubernetesVersion: s.kubernetesVersion,
          resetOnDestroy: s.resetOnDestroy,
          ...s.carried,
        });
        // The workers left out are named in the header, so a reader knows what to add.
        for (const spare of available.slice(workers))
          expect(text).toContain(`${spare.name} ${spare.address}`);
      }),
    );
  });

  it("keeps what Pulumi wrote into the file (encryption salt, other namespaces) when it is rewritten", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^v1:[A-Za-z0-9+/=]{4,40}:v1:[A-Za-z0-9+/=:]{4,60}$/), (salt) => {
        const existing = YAML.stringify({
          encryptionsalt: salt,
          config: { "homelab:talosVersion": "v1.13.1", "other:setting": { secure: "v1:abc" } },
        });
        const text = renderLabStack(
          {
            name: "homelab-lab",
            cidr: "10.5.0.0/24",
            machines: labMachines("homelab-lab", 1, 0, "10.5.0.0/24"),
            workers: 0,
            settings: settings(),
            existing,
          },
          parseClusterConfig,
        );
        const parsed = YAML.parse(text) as { encryptionsalt: string; config: Record<string, unknown> };
        expect(parsed.encryptionsalt).toBe(salt);
        expect(parsed.config["other:setting"]).toEqual({ secure: "v1:abc" });
        expect(parsed.config["homelab:talosVersion"]).toBe("v1.13.9");
      }),
    );
  });

  it("refuses more workers than the lab has, naming --workers and --spare-workers", () => {
    const machines = labMachines("homelab-lab", 1, 1, "10.5.0.0/24");
    expect(() =>
      renderLabStack(
        {
          name: "homelab-lab",
          cidr: "10.5.0.0/24",
          machines,
          workers: 2,
          settings: settings(),
        },
        parseClusterConfig,
      ),
    ).toThrow(/--workers 2: the lab has 1 worker VM\(s\).*--spare-workers/);
  });

  it("refuses settings the program would refuse, before anything is written", () => {
    const machines = labMachines("homelab-lab", 1, 0, "10.5.0.0/24");
    const bad = settings({ kubernetesVersion: "1.20.0" });
    expect(() =>
      renderLabStack(
        { name: "homelab-lab", cidr: "10.5.0.0/24", machines, workers: 0, settings: bad },
        parseClusterConfig,
      ),
    ).toThrow(/the lab's stack would be invalid/);
  });

  it("takes the versions, CNI, extensions and network of the source stack, not its machines or LAN settings", () => {
    const home = fs.readFileSync(path.join(__dirname, "..", "Pulumi.home.yaml"), "utf8");
    const s = labSettings(home);
    expect(s).toMatchObject({ talosVersion: stackConfig(home).talosVersion, resetOnDestroy: false });
    expect(Object.keys(s.carried).every((k) => ["cni", "extensions", "network"].includes(k))).toBe(true);
    expect(labSettings(undefined)).toMatchObject({ talosVersion: "v1.13.9", kubernetesVersion: "1.36.0" });
  });
});

describe("the end-to-end test's patch step", () => {
  it("goes one patch down when there is one, else one up, within the same minor", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 40 }),
        fc.nat({ max: 40 }),
        fc.nat({ max: 40 }),
        fc.boolean(),
        (major, minor, patch, v) => {
          const version = `${v ? "v" : ""}${major}.${minor}.${patch}`;
          const { from, to } = patchStep(version);
          const parts = (s: string) => s.replace(/^v/, "").split(".").map(Number);
          expect(parts(to)[2]! - parts(from)[2]!).toBe(1);
          expect([parts(from).slice(0, 2), parts(to).slice(0, 2)]).toEqual([
            [major, minor],
            [major, minor],
          ]);
          expect(patch > 0 ? to : from).toBe(version);
          expect([from.startsWith("v"), to.startsWith("v")]).toEqual([v, v]);
        },
      ),
    );
    expect(() => patchStep("1.36.0-rc.1")).toThrow(/not a release version/);
  });
});
