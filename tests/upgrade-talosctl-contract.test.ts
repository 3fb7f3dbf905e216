/**
 * The contract between the upgrade scripts, the fake talosctl and the real talosctl 1.13.9.
 *
 * - The fake's flag sets come from tests/fake-talosctl/talosctl-help.txt, the real `--help` output; when the
 *   real binary is here (TALOSCTL_REAL, else ~/.cache/talosctl-v1.13.9/bin/talosctl), the fixture is checked
 *   against it, bad command lines must fail with the real binary's first error line, and every talosctl
 *   invocation the scripts made in the scenarios below is replayed against it: it must get past cobra's
 *   parsing and fail only on connecting. The replay runs inside `unshare --net` (no interface up) with every
 *   node and endpoint rewritten to 127.0.0.1, so nothing can leave the machine.
 * - The fake's own behaviours the scripts rely on (maintenance mode, `get -o`, `upgrade`'s two paths) are
 *   pinned here with the upstream source each imitates named in the fake.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect } from "vitest";
import { parse as parseYaml } from "yaml";
import type { ClusterSpec } from "../components/config/spec";
import { stagedRebootEnvironment } from "../components/upgrade/staged-reboot";
import { CONTROL_PLANE_ADDRESSES, WORKER_ADDRESSES, testSpec } from "./support/spec";
import { FAKE_BIN, FakeCluster, TALOSCONFIG, it } from "./fake-talosctl/harness";

const REAL =
  process.env.TALOSCTL_REAL ?? path.join(os.homedir(), ".cache", "talosctl-v1.13.9", "bin", "talosctl");
const realVersion = fs.existsSync(REAL)
  ? spawnSync(REAL, ["version", "--client", "--short"]).stdout?.toString()
  : "";
const unshareWorks =
  spawnSync("unshare", ["--map-root-user", "--net", "--", "true"], { stdio: "ignore" }).status === 0;
const haveReal = realVersion.includes("Talos v1.13.9") && unshareWorks;
const FIXTURE = path.join(FAKE_BIN, "talosctl-help.txt");
/** The first line cobra/pflag print for a command line they reject. */
const PARSE_ERROR =
  /^(unknown (flag|shorthand flag|command)|flag needs an argument|invalid argument|accepts .*arg\(s\)|bad flag syntax)/;

const CP = CONTROL_PLANE_ADDRESSES;
const WK = WORKER_ADDRESSES.slice(0, 3);

/** Runs the fake talosctl on FC's cluster. */
function fake(fc: FakeCluster, args: string[], talosconfig = true) {
  const tc = path.join(fc.tmp, "talosconfig");
  fs.writeFileSync(tc, TALOSCONFIG, { mode: 0o600 });
  const r = spawnSync(
    path.join(FAKE_BIN, "talosctl"),
    [...(talosconfig ? ["--talosconfig", tc] : []), ...args],
    {
      env: { PATH: process.env.PATH, FAKE_TALOS_STATE: fc.state },
    },
  );
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** Runs the real talosctl, isolated: no network namespace interface up, nodes and endpoints on loopback. */
function real(args: string[], home: string) {
  const safe = args.map((a, i) =>
    ["-n", "--nodes", "-e", "--endpoints"].includes(args[i - 1]) ? "127.0.0.1" : a,
  );
  for (const a of safe) {
    const ips = a.match(/\b\d+\.\d+\.\d+\.\d+\b/g) ?? [];
    if (ips.some((ip) => ip !== "127.0.0.1"))
      throw new Error(`refusing to replay a non-loopback address: ${a}`);
  }
  const r = spawnSync("unshare", ["--map-root-user", "--net", "--", REAL, ...safe], {
    env: { HOME: home, PATH: "/usr/bin:/bin" },
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

const spec = (fc: FakeCluster, talos: string, k8s: string): ClusterSpec => ({
  ...testSpec({ talosVersion: talos, kubernetesVersion: k8s, snapshotDir: fc.snapshots }),
  endpoint: fc.kubeEndpoint,
});

describe("the fixture and the fake's command-line parsing match the real talosctl 1.13.9", () => {
  it.skipIf(!haveReal)("talosctl-help.txt is the real binary's --help output", () => {
    const text = fs.readFileSync(FIXTURE, "utf8");
    const sections = text.split(/^### /m).slice(1);
    expect(sections.map((s) => s.split("\n")[0])).toEqual([
      "talosctl version --help",
      "talosctl upgrade --help",
      "talosctl get --help",
      "talosctl etcd snapshot --help",
      "talosctl upgrade-k8s --help",
      "talosctl reboot --help",
    ]);
    for (const s of sections) {
      const [title, ...body] = s.split("\n");
      const words = title.replace(/^talosctl /, "").split(" ");
      expect(spawnSync(REAL, words).stdout.toString()).toBe(body.join("\n"));
    }
  });

  const BAD: string[][] = [
    ["upgrade", "--bogus"],
    ["upgrade", "--wait", "false"],
    ["upgrade", "--timeout", "30x"],
    ["upgrade", "--wait=maybe"],
    ["upgrade", "--image"],
    ["upgrade", "-z"],
    ["upgrade", "--progress", "fancy"],
    ["etcd", "snapshot", "a", "b"],
    ["etcd", "snapshot"],
    ["get"],
    ["get", "a", "b", "c"],
    ["version", "extra"],
    ["upgrade-k8s", "--to"],
    ["reboot", "now"],
    ["reboot", "--mode", "soft"],
    ["bogus"],
  ];

  it.for(BAD)("rejects `talosctl %s` as cobra does", (args, { fc }) => {
    fc.cluster({ talos: "v1.13.9", k8s: "1.36.0", controlPlanes: CP, workers: WK });
    const f = fake(fc, ["-n", CP[0], ...args], false);

    expect(f.code).toBe(1);
    const first = f.stderr.split("\n")[0];
    expect(first).toMatch(PARSE_ERROR);
    if (haveReal) expect(first).toBe(real(["-n", CP[0], ...args], fc.tmp).stderr.split("\n")[0]);
  });

  it("accepts --flag=value and repeated flags (the last one wins), as pflag does", ({ fc }) => {
    fc.cluster({ talos: "v1.13.9", k8s: "1.36.0", controlPlanes: CP, workers: WK });
    const r = fake(fc, [`--nodes=${CP[0]}`, "get", "machinestatus", "-o", "table", "--output=yaml"]);
    expect(r.stderr).toBe("");
    expect(parseYaml(r.stdout).spec.stage).toBe("running");
  });
});

describe("every talosctl invocation the scripts make parses against the real flag set", () => {
  it("(collected from the scenarios: new cluster, legacy and LifecycleService upgrades, Kubernetes bump, staged reboot)", async ({
    fc,
  }) => {
    const nodes = { controlPlanes: CP, workers: WK };
    fc.cluster({ talos: "v1.13.9", k8s: "1.35.0", mode: "maintenance", ...nodes });
    expect((await fc.pulumiUp(spec(fc, "v1.13.9", "1.35.0"), new Map())).failed).toBeUndefined();
    // A 1.12 ISO under a 1.13 target is refused after its version call: that call is replayed too.
    fc.cluster({ talos: "v1.12.6", k8s: "1.35.0", mode: "maintenance", ...nodes });
    expect((await fc.pulumiUp(spec(fc, "v1.13.9", "1.35.0"), new Map())).failed).toBe("os-cp-1");
    fc.cluster({ talos: "v1.12.6", k8s: "1.35.0", ...nodes });
    const legacy = spec(fc, "v1.12.6", "1.35.0");
    expect((await fc.pulumiUp(spec(fc, "v1.13.9", "1.36.0"), fc.converged(legacy))).failed).toBeUndefined();
    fc.setNode(CP[0], { version: "v1.13.2" });
    const factory = `factory.talos.dev/installer/${"c".repeat(64)}:v1.13.9`;
    const bump = await fc.pulumiUp(spec(fc, "v1.13.9", "1.36.0"), new Map(), {}, factory);
    expect(bump.failed, JSON.stringify([...bump.results])).toBeUndefined();
    const s = spec(fc, "v1.13.9", "1.36.0");
    const reboot = await fc.run("staged-reboot", {
      ...stagedRebootEnvironment(s, s.controlPlanes[0]),
      APPLY_MODE: "staged",
    });
    expect(reboot.code, reboot.stderr).toBe(0);

    const invocations = [...new Set(fc.lines("argv.log"))].map((l) => l.split("\x1f"));
    const shapes = new Set(
      invocations.map((a) => a.filter((w) => !/^\d+\.\d+\.\d+\.\d+$/.test(w)).join(" ")),
    );
    // Every kind of call the scripts make showed up.
    for (const kind of [
      "version --client --short",
      "version --short",
      "get machinestatus --insecure -o yaml",
      "get extensions -o yaml",
      "get nodestatuses -o yaml",
      "get services etcd -o yaml",
      "upgrade --image",
      "etcd snapshot",
      "upgrade-k8s --to 1.36.0 --dry-run --pre-pull-images=false",
      "reboot --wait --drain --timeout",
    ])
      expect(
        [...shapes].some((s) => s.includes(kind)),
        kind,
      ).toBe(true);
    if (!haveReal) return;

    const home = fs.mkdtempSync(path.join(fc.tmp, "home-"));
    const tc = path.join(home, "talosconfig");
    fs.writeFileSync(tc, "context: t\ncontexts:\n  t:\n    endpoints:\n      - 127.0.0.1\n", { mode: 0o600 });
    for (const args of invocations) {
      const replay = args.map((a) =>
        a === "<talosconfig>" ? tc : a.startsWith(fc.snapshots) ? path.join(home, "x.db") : a,
      );
      const r = real(replay, home);
      const shown = args.join(" ");
      expect(r.stderr.split("\n")[0], shown).not.toMatch(PARSE_ERROR);
      expect(r.stderr, shown).not.toContain("Usage:");
      if (shown === "version --client --short") expect(r.code).toBe(0);
      else expect(r.stderr, shown).toMatch(/connect: network is unreachable|talos config file is empty/);
    }
  });
});

describe("the fake answers as Talos does in maintenance mode", () => {
  it.for([
    ["v1.12.6", "rpc error: code = Unimplemented desc = API is not implemented in maintenance mode"],
    ["v1.13.9", "rpc error: code = PermissionDenied desc = not authorized"],
  ])("(%s) admin-only calls are refused, reader calls answer", ([iso, refusal], { fc }) => {
    fc.cluster({ talos: iso, k8s: "1.36.0", mode: "maintenance", controlPlanes: CP, workers: [] });
    const n = ["-n", CP[0]];

    expect(
      parseYaml(fake(fc, [...n, "get", "machinestatus", "--insecure", "-o", "yaml"], false).stdout).spec
        .stage,
    ).toBe("maintenance");
    expect(fake(fc, [...n, "get", "disks", "--insecure"], false).code).toBe(0);
    // Only the deprecated legacy path still dials the maintenance API (upgrade.go L101-105, L284-289).
    const upgrade = ["upgrade", "--legacy", "--insecure", "--wait=false", "--drain=false"];
    expect(fake(fc, [...n, ...upgrade]).stderr).toContain(refusal);
    const version = fake(fc, [...n, "version", "--insecure", "--short"], false);
    if (iso === "v1.12.6") expect(version.stderr).toContain(refusal);
    else expect(version.stdout).toContain(`Tag:         ${iso}`);
    expect(fake(fc, [...n, "get", "machineconfig", "--insecure"], false).stderr).toContain(
      "code = PermissionDenied desc = not authorized",
    );
    // The cluster's talosconfig does not trust the maintenance certificate.
    expect(fake(fc, [...n, "version", "--short"]).stderr).toContain(
      "certificate signed by unknown authority",
    );
  });

  it("a configured node refuses every insecure call", ({ fc }) => {
    fc.cluster({ talos: "v1.13.9", k8s: "1.36.0", controlPlanes: CP, workers: [] });
    const r = fake(fc, ["-n", CP[0], "get", "machinestatus", "--insecure"], false);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("tls: certificate required");
  });
});

describe("the fake's `get` honours -o", () => {
  it("yaml, json and table describe the same resources", ({ fc }) => {
    fc.cluster({ talos: "v1.13.9", k8s: "1.36.0", controlPlanes: CP, workers: [] });
    fc.setNode(CP[0], { schematic: "d".repeat(64) });
    const get = (o: string) => fake(fc, ["-n", CP[0], "get", "extensions", "-o", o]);

    const yaml = get("yaml")
      .stdout.split(/^---$/m)
      .map((d) => parseYaml(d));
    const json = get("json")
      .stdout.split(/(?<=^\})\n/m)
      .filter((d) => d.trim())
      .map((d) => JSON.parse(d));
    expect(json).toEqual(yaml);
    expect(yaml.map((r) => r.spec.metadata.version)).toEqual(["d".repeat(64)]);
    expect(
      get("table")
        .stdout.split("\n")[0]
        .split(/\s{2,}/),
    ).toEqual(["NODE", "NAMESPACE", "TYPE", "ID", "VERSION", "NAME", "VERSION"]);
    expect(get("jsonpath={.spec}").code).toBe(2); // not emulated: said so, never guessed
    expect(get("wide").stderr).toContain('output format "wide" is not supported');
  });
});

describe("the fake's `upgrade` behaves like talosctl 1.13's", () => {
  const image = "ghcr.io/siderolabs/installer:v1.13.9";

  it("defaults to --wait and --drain on a 1.13 node: drained and uncordoned from the client", ({ fc }) => {
    fc.cluster({ talos: "v1.13.2", k8s: "1.36.0", controlPlanes: CP, workers: WK });
    const r = fake(fc, ["-n", WK[0], "upgrade", "--image", image]);

    expect(r.code, r.stderr).toBe(0);
    expect(fc.lines("drains.log")).toEqual([`drain ${WK[0]} client`, `uncordon ${WK[0]} client`]);
    expect(r.stderr).toContain(`"${WK[0]}": post check passed`);
    expect(fc.versionOf(WK[0])).toBe("v1.13.9");
  });

  it("--no-reboot installs without draining or rebooting; --drain=false reboots without draining", ({
    fc,
  }) => {
    fc.cluster({ talos: "v1.13.2", k8s: "1.36.0", controlPlanes: CP, workers: WK });
    expect(fake(fc, ["-n", WK[0], "upgrade", "--image", image, "--no-reboot"]).code).toBe(0);
    expect(fc.versionOf(WK[0])).toBe("v1.13.2");
    expect(fake(fc, ["-n", WK[1], "upgrade", "--image", image, "--drain=false"]).code).toBe(0);
    expect(fc.versionOf(WK[1])).toBe("v1.13.9");
    expect(fc.read("drains.log")).toBe("");
  });

  it("falls back to the legacy API for a 1.12 node, which drains itself and guards etcd quorum", ({ fc }) => {
    fc.cluster({ talos: "v1.12.6", k8s: "1.35.0", controlPlanes: CP.slice(0, 2), workers: WK });
    const r = fake(fc, ["-n", WK[0], "upgrade", "--image", image]);
    expect(r.stderr).toContain("New upgrade API is not available, falling back to legacy");
    expect(fc.lines("drains.log")).toEqual([`drain ${WK[0]} node`]);

    const cp = fake(fc, ["-n", CP[0], "upgrade", "--image", image]);
    expect(cp.code).toBe(1);
    expect(cp.stderr).toContain(
      "etcd member count(2) is insufficient to maintain quorum if upgrade commences",
    );
    expect(fc.versionOf(CP[0])).toBe("v1.12.6");
  });

  it("--wait (or --drain, which implies it) with --insecure is refused before anything is dialled", ({
    fc,
  }) => {
    fc.cluster({ talos: "v1.13.9", k8s: "1.36.0", controlPlanes: CP, workers: [] });
    for (const extra of [[], ["--wait=false"]]) {
      const r = fake(fc, ["-n", CP[0], "upgrade", "--insecure", ...extra], false);
      expect(r.stderr).toContain("cannot use --wait and --insecure together");
      if (haveReal)
        expect(real(["-n", CP[0], "upgrade", "--insecure", ...extra], fc.tmp).stderr).toContain(
          "cannot use --wait and --insecure together",
        );
    }
  });
});
