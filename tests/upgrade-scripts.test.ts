/**
 * The upgrade commands' shell programs, executed for real (`bash -c`, exactly the text ClusterUpgrade gives
 * each Command) against tests/fake-talosctl/talosctl on PATH, which keeps a small cluster in a temp folder and
 * logs every call.
 *
 * `pulumiUp` below stands in for the engine the way it treats these commands: a command runs (its `create`)
 * when its triggers differ from the last successful run, steps run in rollout order with the nodes of one step
 * side by side, and a failure stops every later step and leaves the failed command unrecorded — so the next
 * `pulumiUp` runs it again. The order and the trigger values come from the component's own helpers; that the
 * component wires them like this is checked under mocks in upgrade-component.test.ts.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ClusterSpec } from "../components/config/spec";
import { CONTROL_PLANE_ADDRESSES, WORKER_ADDRESSES, testSpec } from "./support/spec";
import {
  commandScript,
  kubernetesTriggers,
  kubernetesUpgradeEnvironment,
  osUpgradeEnvironment,
  osUpgradeTriggers,
  snapshotEnvironment,
  snapshotTriggers,
  type UpgradeScript,
} from "../components/upgrade";
import { planRollout } from "../components/upgrade/plan";

const FAKE_BIN = path.join(__dirname, "fake-talosctl");
const SYSTEM_PATH = "/usr/bin:/bin";
/** A talosconfig nobody could mistake for other output: it must never show up anywhere but the temp file. */
const TALOSCONFIG = "context: home\ncontexts:\n  home:\n    key: SECRET-KEY-d6f1c0ffee\n";

const CP = CONTROL_PLANE_ADDRESSES;
const WK = WORKER_ADDRESSES.slice(0, 4);

const makeSpec = (o: { workers?: number; talos: string; k8s: string; batch?: number; snapshotDir: string }) =>
  testSpec({
    talosVersion: o.talos,
    kubernetesVersion: o.k8s,
    workers: o.workers,
    workerBatchSize: o.batch,
    snapshotDir: o.snapshotDir,
  });

const image = (talos: string) => `ghcr.io/siderolabs/installer:${talos}`;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let work: string;
let state: string;
let tmp: string;
let snapshots: string;

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "upgrade-scripts-"));
  state = path.join(work, "cluster");
  tmp = path.join(work, "tmp");
  snapshots = path.join(work, "etcd-snapshots");
  fs.mkdirSync(path.join(state, "nodes"), { recursive: true });
  fs.mkdirSync(tmp);
  fs.writeFileSync(path.join(state, "calls.log"), "");
  fs.writeFileSync(path.join(state, "expected-talosconfig"), TALOSCONFIG);
});

afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

/** Puts nodes in the fake cluster. */
function cluster(o: {
  talos: string;
  k8s: string;
  client?: string;
  mode?: "configured" | "maintenance" | "down";
  nodes?: string[];
}): void {
  fs.writeFileSync(path.join(state, "client-version"), `${o.client ?? "v1.13.9"}\n`);
  fs.writeFileSync(path.join(state, "k8s-version"), `${o.k8s}\n`);
  for (const address of o.nodes ?? [...CP, ...WK])
    setNode(address, { version: o.talos, mode: o.mode ?? "configured" });
}

function setNode(
  address: string,
  o: { version?: string; mode?: string; ready?: boolean; schematic?: string },
): void {
  const dir = path.join(state, "nodes", address);
  fs.mkdirSync(dir, { recursive: true });
  if (o.schematic) fs.writeFileSync(path.join(dir, "schematic"), `${o.schematic}\n`);
  if (o.version) fs.writeFileSync(path.join(dir, "version"), `${o.version}\n`);
  if (o.mode) fs.writeFileSync(path.join(dir, "mode"), `${o.mode}\n`);
  fs.writeFileSync(path.join(dir, "ready"), `${o.ready ?? true}\n`);
}

const versionOf = (address: string) =>
  fs.readFileSync(path.join(state, "nodes", address, "version"), "utf8").trim();
const k8sVersion = () => fs.readFileSync(path.join(state, "k8s-version"), "utf8").trim();
const calls = () => fs.readFileSync(path.join(state, "calls.log"), "utf8").split("\n").filter(Boolean);
const upgradeCalls = () => calls().filter((c) => / upgrade --image /.test(c));
const upgradedNodes = () => upgradeCalls().map((c) => /-n (\S+)/.exec(c)?.[1]);
const k8sUpgrades = () => calls().filter((c) => c.includes(" upgrade-k8s ") && !c.includes("--dry-run"));

function runScript(script: UpgradeScript, env: Record<string, string>, extra: Record<string, string> = {}) {
  return new Promise<Result>((resolve) => {
    const child = spawn("/bin/bash", ["-c", commandScript(script)], {
      cwd: work,
      env: {
        PATH: `${FAKE_BIN}:${SYSTEM_PATH}`,
        TMPDIR: tmp,
        FAKE_TALOS_STATE: state,
        POLL_INTERVAL: "0.05",
        READY_TIMEOUT: "1",
        PROBE_TIMEOUT: "5",
        ...env,
        TALOSCONFIG_DATA: TALOSCONFIG,
        ...extra,
      },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

interface Command {
  name: string;
  script: UpgradeScript;
  env: Record<string, string>;
  triggers: string;
}

/** The engine's record: command name → triggers of its last successful run. */
type Stack = Map<string, string>;

interface UpResult {
  ran: string[];
  results: Map<string, Result>;
  failed?: string;
}

/** Runs the rollout of `spec` the way `pulumi up` runs the ClusterUpgrade commands (see the file comment). */
async function pulumiUp(
  spec: ClusterSpec,
  stack: Stack,
  extra: Record<string, string> = {},
  img = image(spec.talosVersion),
): Promise<UpResult> {
  const steps: Command[][] = [
    [
      {
        name: "etcd-snapshot",
        script: "etcd-snapshot",
        env: snapshotEnvironment(spec, img),
        triggers: JSON.stringify(snapshotTriggers(spec, img)),
      },
    ],
    ...planRollout(spec).map((step) =>
      step.nodes.map((n): Command => ({
        name: `os-${n.name}`,
        script: "os-upgrade",
        env: osUpgradeEnvironment(spec, n, img),
        triggers: JSON.stringify(osUpgradeTriggers(spec, n, img)),
      })),
    ),
    [
      {
        name: "kubernetes",
        script: "kubernetes-upgrade",
        env: kubernetesUpgradeEnvironment(spec),
        triggers: JSON.stringify(kubernetesTriggers(spec)),
      },
    ],
  ];
  const out: UpResult = { ran: [], results: new Map() };
  for (const step of steps) {
    const due = step.filter((c) => stack.get(c.name) !== c.triggers);
    const results = await Promise.all(due.map((c) => runScript(c.script, c.env, extra)));
    due.forEach((c, i) => {
      out.ran.push(c.name);
      out.results.set(c.name, results[i]);
      if (results[i].code === 0) stack.set(c.name, c.triggers);
      else out.failed ??= c.name;
    });
    if (out.failed) break;
  }
  return out;
}

/** A stack whose last successful `pulumi up` converged `spec`. */
async function converged(spec: ClusterSpec, img?: string): Promise<Stack> {
  const stack: Stack = new Map();
  // Converge against a cluster that is already there, then forget the calls that took.
  const up = await pulumiUp(spec, stack, {}, img);
  expect(up.failed, JSON.stringify([...up.results])).toBeUndefined();
  fs.writeFileSync(path.join(state, "calls.log"), "");
  return stack;
}

describe("a new cluster (nodes booted from the ISO, in maintenance mode)", () => {
  it("runs every command once and upgrades nothing: no snapshot, no talosctl upgrade, no upgrade-k8s", async () => {
    cluster({ talos: "v1.13.0", k8s: "1.36.0", mode: "maintenance" });
    const spec = makeSpec({ talos: "v1.13.9", k8s: "1.36.0", snapshotDir: snapshots });

    const up = await pulumiUp(spec, new Map());

    expect(up.failed).toBeUndefined();
    expect(up.ran).toEqual([
      "etcd-snapshot",
      ...["cp-1", "cp-2", "cp-3", "worker-1", "worker-2", "worker-3"].map((n) => `os-${n}`),
      "kubernetes",
    ]);
    expect(upgradeCalls()).toEqual([]);
    expect(calls().filter((c) => c.includes("etcd snapshot") || c.includes("upgrade-k8s"))).toEqual([]);
    expect(fs.existsSync(snapshots)).toBe(false);
    expect(up.results.get("os-cp-1")?.stdout).toContain("maintenance mode");
  });
});

describe("a Talos bump on 3 control planes + 3 workers", () => {
  it("snapshots etcd first, then upgrades control planes one by one and the workers, each healthy before the next", async () => {
    cluster({ talos: "v1.12.6", k8s: "1.35.0", client: "v1.12.6" });
    const stack = await converged(makeSpec({ talos: "v1.12.6", k8s: "1.35.0", snapshotDir: snapshots }));
    fs.writeFileSync(path.join(state, "client-version"), "v1.13.9\n");

    const up = await pulumiUp(makeSpec({ talos: "v1.13.9", k8s: "1.35.0", snapshotDir: snapshots }), stack);

    expect(up.failed).toBeUndefined();
    expect(up.ran).not.toContain("kubernetes");
    expect(upgradedNodes()).toEqual([...CP, ...WK.slice(0, 3)]);
    expect(upgradeCalls().every((c) => c.includes("--image ghcr.io/siderolabs/installer:v1.13.9"))).toBe(
      true,
    );
    const log = calls();
    const snapshotAt = log.findIndex((c) => c.includes("etcd snapshot"));
    expect(snapshotAt).toBeGreaterThanOrEqual(0);
    expect(snapshotAt).toBeLessThan(log.findIndex((c) => c.includes(" upgrade --image")));
    // Between two upgrades, the previous node was seen healthy: new version and Ready.
    const upgrades = log.flatMap((c, i) => (c.includes(" upgrade --image") ? [i] : []));
    upgrades.slice(1).forEach((at, k) => {
      const prev = upgradedNodes()[k];
      const between = log.slice(upgrades[k] + 1, at);
      expect(between).toContain(`--talosconfig <talosconfig> -n ${prev} get nodestatuses -o yaml`);
      expect(between).toContain(`--talosconfig <talosconfig> -n ${prev} version --short`);
    });
    for (const a of [...CP, ...WK.slice(0, 3)]) expect(versionOf(a)).toBe("v1.13.9");
    expect(k8sUpgrades()).toEqual([]);

    const files = fs.readdirSync(snapshots);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^home-\d{8}T\d{6}Z-pre-v1\.13\.9\.db$/);
    expect(fs.statSync(snapshots).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(snapshots, files[0])).mode & 0o777).toBe(0o600);
  });

  it("refuses a jump over a minor before touching anything, naming the node and the minor to go through", async () => {
    cluster({ talos: "v1.11.5", k8s: "1.34.0", client: "v1.11.5" });
    const stack = await converged(makeSpec({ talos: "v1.11.5", k8s: "1.34.0", snapshotDir: snapshots }));
    fs.writeFileSync(path.join(state, "client-version"), "v1.13.9\n");

    const up = await pulumiUp(makeSpec({ talos: "v1.13.9", k8s: "1.34.0", snapshotDir: snapshots }), stack);

    expect(up.failed).toBe("etcd-snapshot");
    const { code, stderr } = up.results.get("etcd-snapshot")!;
    expect(code).not.toBe(0);
    expect(stderr).toContain("upgrade of node cp-1 (10.0.0.1) failed: refused");
    expect(stderr).toContain("skips v1.12");
    expect(upgradeCalls()).toEqual([]);
    expect(fs.existsSync(snapshots)).toBe(false);
  });

  it("the node script itself refuses a skipped minor (a worker left behind on an older Talos)", async () => {
    cluster({ talos: "v1.13.2", k8s: "1.35.0" });
    setNode("10.0.0.11", { version: "v1.11.5" });
    const spec = makeSpec({ talos: "v1.13.9", k8s: "1.35.0", snapshotDir: snapshots });

    const r = await runScript("os-upgrade", osUpgradeEnvironment(spec, spec.workers[0], image("v1.13.9")));

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("upgrade of node worker-1 (10.0.0.11) failed: refused");
    expect(r.stderr).toContain("v1.12");
    expect(upgradeCalls()).toEqual([]);
  });
});

describe("a new Image Factory schematic at the same Talos version (extensions changed)", () => {
  const SCHEMATIC_A = "a".repeat(64);
  const SCHEMATIC_B = "b".repeat(64);
  const factory = (id: string) => `factory.talos.dev/installer/${id}:v1.13.9`;

  it("upgrades every node onto the new image, leaving a node already on it alone", async () => {
    cluster({ talos: "v1.13.9", k8s: "1.36.0" });
    for (const a of [...CP, ...WK]) setNode(a, { schematic: SCHEMATIC_A });
    const spec = makeSpec({ talos: "v1.13.9", k8s: "1.36.0", snapshotDir: snapshots });
    const stack = await converged(spec, factory(SCHEMATIC_A));
    setNode("10.0.0.12", { schematic: SCHEMATIC_B });

    const up = await pulumiUp(spec, stack, {}, factory(SCHEMATIC_B));

    expect(up.failed).toBeUndefined();
    expect(up.ran).not.toContain("kubernetes");
    expect(upgradedNodes()).toEqual([...CP, "10.0.0.11", "10.0.0.13"]);
    expect(upgradeCalls().every((c) => c.includes(`--image ${factory(SCHEMATIC_B)}`))).toBe(true);
    expect(up.results.get("os-cp-1")!.stdout).toContain(
      `built from schematic ${SCHEMATIC_A}, not ${SCHEMATIC_B}`,
    );
    expect(up.results.get("os-worker-2")!.stdout).toContain("already runs");
    expect(fs.readdirSync(snapshots)).toHaveLength(1);
  });
});

describe("a failure on the second control plane", () => {
  async function failOnSecondControlPlane() {
    cluster({ talos: "v1.12.6", k8s: "1.35.0", client: "v1.12.6" });
    const stack = await converged(makeSpec({ talos: "v1.12.6", k8s: "1.35.0", snapshotDir: snapshots }));
    fs.writeFileSync(path.join(state, "client-version"), "v1.13.9\n");
    const spec = makeSpec({ talos: "v1.13.9", k8s: "1.35.0", snapshotDir: snapshots });
    const up = await pulumiUp(spec, stack, { FAKE_TALOS_FAIL_NODE: "10.0.0.2" });
    return { spec, stack, up };
  }

  it("stops the rollout: later nodes untouched, non-zero exit, message names the node with talosctl's output", async () => {
    const { up } = await failOnSecondControlPlane();

    expect(up.failed).toBe("os-cp-2");
    const r = up.results.get("os-cp-2")!;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("upgrade of node cp-2 (10.0.0.2) failed:");
    expect(r.stderr).toContain("post check failed: etcd member is not healthy (simulated)");
    expect(upgradedNodes()).toEqual(["10.0.0.1", "10.0.0.2"]);
    expect(versionOf("10.0.0.1")).toBe("v1.13.9");
    for (const a of ["10.0.0.2", "10.0.0.3", ...WK.slice(0, 3)]) expect(versionOf(a)).toBe("v1.12.6");
    expect(up.ran).toEqual(["etcd-snapshot", "os-cp-1", "os-cp-2"]);
  });

  it("the next pulumi up resumes from that node: no second snapshot, the first control plane is not upgraded again", async () => {
    const { spec, stack } = await failOnSecondControlPlane();
    fs.writeFileSync(path.join(state, "calls.log"), "");

    const up = await pulumiUp(spec, stack);

    expect(up.failed).toBeUndefined();
    expect(up.ran[0]).toBe("os-cp-2");
    expect(calls().some((c) => c.includes("etcd snapshot"))).toBe(false);
    expect(upgradedNodes()).toEqual(["10.0.0.2", "10.0.0.3", ...WK.slice(0, 3)]);
    for (const a of [...CP, ...WK.slice(0, 3)]) expect(versionOf(a)).toBe("v1.13.9");
    expect(fs.readdirSync(snapshots)).toHaveLength(1);
  });

  it("a node that upgraded but never became Ready holds the rollout, and on resume is only re-checked", async () => {
    cluster({ talos: "v1.12.6", k8s: "1.35.0", client: "v1.12.6" });
    const stack = await converged(makeSpec({ talos: "v1.12.6", k8s: "1.35.0", snapshotDir: snapshots }));
    fs.writeFileSync(path.join(state, "client-version"), "v1.13.9\n");
    const spec = makeSpec({ talos: "v1.13.9", k8s: "1.35.0", snapshotDir: snapshots });

    const first = await pulumiUp(spec, stack, { FAKE_TALOS_NOT_READY_AFTER_UPGRADE: "10.0.0.2" });
    expect(first.failed).toBe("os-cp-2");
    expect(first.results.get("os-cp-2")!.stderr).toMatch(
      /upgrade of node cp-2 \(10\.0\.0\.2\) failed: .*not Ready/,
    );
    expect(upgradedNodes()).toEqual(["10.0.0.1", "10.0.0.2"]);

    setNode("10.0.0.2", { ready: true });
    fs.writeFileSync(path.join(state, "calls.log"), "");
    const second = await pulumiUp(spec, stack);

    expect(second.failed).toBeUndefined();
    expect(upgradedNodes()).toEqual(["10.0.0.3", ...WK.slice(0, 3)]);
    expect(second.results.get("os-cp-2")!.stdout).toContain(
      "already runs ghcr.io/siderolabs/installer:v1.13.9",
    );
  });
});

describe("a Kubernetes bump alone", () => {
  it("runs upgrade-k8s once through one control plane and no OS upgrade; a second pulumi up does nothing", async () => {
    cluster({ talos: "v1.13.9", k8s: "1.35.0" });
    const stack = await converged(makeSpec({ talos: "v1.13.9", k8s: "1.35.0", snapshotDir: snapshots }));

    const spec = makeSpec({ talos: "v1.13.9", k8s: "1.36.0", snapshotDir: snapshots });
    const up = await pulumiUp(spec, stack);

    expect(up.failed).toBeUndefined();
    expect(up.ran).toEqual(["kubernetes"]);
    expect(k8sUpgrades()).toEqual(["--talosconfig <talosconfig> -n 10.0.0.1 upgrade-k8s --to 1.36.0"]);
    expect(upgradeCalls()).toEqual([]);
    expect(k8sVersion()).toBe("1.36.0");

    fs.writeFileSync(path.join(state, "calls.log"), "");
    expect((await pulumiUp(spec, stack)).ran).toEqual([]);
    expect(calls()).toEqual([]);
  });

  it("run again on a cluster already at the target (e.g. replaced after an address change), it upgrades nothing", async () => {
    cluster({ talos: "v1.13.9", k8s: "1.36.0" });
    const spec = makeSpec({ talos: "v1.13.9", k8s: "1.36.0", snapshotDir: snapshots });

    const r = await runScript("kubernetes-upgrade", kubernetesUpgradeEnvironment(spec));

    expect(r.code).toBe(0);
    expect(r.stdout).toContain("already runs Kubernetes 1.36.0");
    expect(k8sUpgrades()).toEqual([]);
  });

  it("refuses a jump of more than one minor, naming the minor to go through", async () => {
    cluster({ talos: "v1.13.9", k8s: "1.34.2" });
    const spec = makeSpec({ talos: "v1.13.9", k8s: "1.36.0", snapshotDir: snapshots });

    const r = await runScript("kubernetes-upgrade", kubernetesUpgradeEnvironment(spec));

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "upgrade of Kubernetes to 1.36.0 through control plane cp-1 (10.0.0.1) failed: refused",
    );
    expect(r.stderr).toContain("skips 1.35");
    expect(k8sUpgrades()).toEqual([]);
    expect(k8sVersion()).toBe("1.34.2");
  });

  it("reports upgrade-k8s's own failure with its output", async () => {
    cluster({ talos: "v1.13.9", k8s: "1.35.0" });
    const spec = makeSpec({ talos: "v1.13.9", k8s: "1.36.0", snapshotDir: snapshots });

    const r = await runScript("kubernetes-upgrade", kubernetesUpgradeEnvironment(spec), {
      FAKE_TALOS_FAIL_K8S: "1",
    });

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "upgrade of Kubernetes to 1.36.0 through control plane cp-1 (10.0.0.1) failed:",
    );
    expect(r.stderr).toContain("failed updating kube-apiserver: simulated");
  });
});

describe("both bumps at once", () => {
  it("upgrades every OS first, then runs upgrade-k8s exactly once, last", async () => {
    cluster({ talos: "v1.12.6", k8s: "1.35.0", client: "v1.12.6" });
    const stack = await converged(makeSpec({ talos: "v1.12.6", k8s: "1.35.0", snapshotDir: snapshots }));
    fs.writeFileSync(path.join(state, "client-version"), "v1.13.9\n");

    const up = await pulumiUp(makeSpec({ talos: "v1.13.9", k8s: "1.36.0", snapshotDir: snapshots }), stack);

    expect(up.failed).toBeUndefined();
    expect(up.ran.at(-1)).toBe("kubernetes");
    const log = calls();
    const k8sAt = log.findIndex((c) => c.includes(" upgrade-k8s --to 1.36.0") && !c.includes("--dry-run"));
    const lastOsUpgrade = log.reduce((last, c, i) => (c.includes(" upgrade --image") ? i : last), -1);
    expect(k8sUpgrades()).toHaveLength(1);
    expect(lastOsUpgrade).toBeGreaterThan(0);
    expect(k8sAt).toBeGreaterThan(lastOsUpgrade);
    expect(upgradedNodes()).toHaveLength(6);
    expect(k8sVersion()).toBe("1.36.0");
  });
});

describe("workers in batches of 2", () => {
  it("upgrades the two workers of a batch side by side, and the next batch only after both", async () => {
    cluster({ talos: "v1.12.6", k8s: "1.35.0", client: "v1.12.6" });
    const before = makeSpec({
      talos: "v1.12.6",
      k8s: "1.35.0",
      workers: 4,
      batch: 2,
      snapshotDir: snapshots,
    });
    const stack = await converged(before);
    fs.writeFileSync(path.join(state, "client-version"), "v1.13.9\n");

    const spec = makeSpec({ talos: "v1.13.9", k8s: "1.35.0", workers: 4, batch: 2, snapshotDir: snapshots });
    const up = await pulumiUp(spec, stack, { FAKE_TALOS_UPGRADE_DELAY: "1" });

    expect(up.failed).toBeUndefined();
    const events = fs.readFileSync(path.join(state, "upgrades.log"), "utf8").split("\n").filter(Boolean);
    const at = (e: string) => events.indexOf(e);
    // Control planes strictly one after another.
    expect(at("end 10.0.0.1")).toBeLessThan(at("start 10.0.0.2"));
    expect(at("end 10.0.0.2")).toBeLessThan(at("start 10.0.0.3"));
    expect(at("end 10.0.0.3")).toBeLessThan(Math.min(at("start 10.0.0.11"), at("start 10.0.0.12")));
    // Batch 1 overlaps (both started before either ended); batch 2 starts after batch 1 ended.
    expect(Math.max(at("start 10.0.0.11"), at("start 10.0.0.12"))).toBeLessThan(
      Math.min(at("end 10.0.0.11"), at("end 10.0.0.12")),
    );
    expect(Math.max(at("end 10.0.0.11"), at("end 10.0.0.12"))).toBeLessThan(
      Math.min(at("start 10.0.0.13"), at("start 10.0.0.14")),
    );
    for (const a of WK) expect(versionOf(a)).toBe("v1.13.9");
  });
});

describe("talosctl on PATH", () => {
  const spec = () => makeSpec({ talos: "v1.13.9", k8s: "1.36.0", snapshotDir: snapshots });

  it.each<UpgradeScript>(["os-upgrade", "etcd-snapshot", "kubernetes-upgrade"])(
    "%s fails with how to install it when talosctl is missing",
    async (script) => {
      cluster({ talos: "v1.12.6", k8s: "1.35.0" });
      const s = spec();
      const env =
        script === "os-upgrade"
          ? osUpgradeEnvironment(s, s.controlPlanes[0], image("v1.13.9"))
          : script === "etcd-snapshot"
            ? snapshotEnvironment(s, image("v1.13.9"))
            : kubernetesUpgradeEnvironment(s);

      const r = await runScript(script, env, { PATH: SYSTEM_PATH });

      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("talosctl is not on PATH");
      expect(r.stderr).toContain("Install talosctl 1.13.x");
      expect(r.stderr).toContain("https://github.com/siderolabs/talos/releases");
      expect(calls()).toEqual([]);
    },
  );

  it("refuses a talosctl whose minor differs from the target before contacting any node", async () => {
    cluster({ talos: "v1.12.6", k8s: "1.35.0", client: "v1.12.6" });
    const s = spec();

    const r = await runScript("os-upgrade", osUpgradeEnvironment(s, s.controlPlanes[0], image("v1.13.9")));

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("talosctl on PATH is v1.12.6 but v1.13.x is needed");
    expect(calls()).toEqual(["version --client --short"]);
    expect(upgradeCalls()).toEqual([]);
  });
});

describe("nodes that do not answer", () => {
  it("a configured node that is down fails the bump with a message naming it", async () => {
    cluster({ talos: "v1.12.6", k8s: "1.35.0" });
    setNode("10.0.0.12", { mode: "down" });
    const s = makeSpec({ talos: "v1.13.9", k8s: "1.35.0", snapshotDir: snapshots });

    const r = await runScript("os-upgrade", osUpgradeEnvironment(s, s.workers[1], image("v1.13.9")));

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "upgrade of node worker-2 (10.0.0.12) failed: it does not answer the Talos API",
    );
    expect(r.stderr).toContain("no route to host");
  });
});

describe("a node that never answers", () => {
  it("is given up on after PROBE_TIMEOUT instead of hanging the rollout", async () => {
    cluster({ talos: "v1.12.6", k8s: "1.35.0" });
    const s = makeSpec({ talos: "v1.13.9", k8s: "1.35.0", snapshotDir: snapshots });
    const started = Date.now();

    const r = await runScript("os-upgrade", osUpgradeEnvironment(s, s.workers[0], image("v1.13.9")), {
      FAKE_TALOS_HANG_NODE: "10.0.0.11",
      PROBE_TIMEOUT: "1",
    });

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "upgrade of node worker-1 (10.0.0.11) failed: it does not answer the Talos API",
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(upgradeCalls()).toEqual([]);
  });
});

describe("the talosconfig", () => {
  it("is removed when the script is terminated mid-call (its process group gets SIGTERM)", async () => {
    cluster({ talos: "v1.12.6", k8s: "1.35.0" });
    const s = makeSpec({ talos: "v1.13.9", k8s: "1.35.0", snapshotDir: snapshots });
    const child = spawn("/bin/bash", ["-c", commandScript("os-upgrade")], {
      cwd: work,
      detached: true, // its own process group, so talosctl is terminated with it
      env: {
        PATH: `${FAKE_BIN}:${SYSTEM_PATH}`,
        TMPDIR: tmp,
        FAKE_TALOS_STATE: state,
        FAKE_TALOS_HANG_NODE: "10.0.0.11",
        PROBE_TIMEOUT: "60",
        ...osUpgradeEnvironment(s, s.workers[0], image("v1.13.9")),
        TALOSCONFIG_DATA: TALOSCONFIG,
      },
    });
    const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
    // Wait until the script hangs inside the node probe, with the talosconfig file written.
    const deadline = Date.now() + 20_000;
    while (!calls().some((c) => c.includes("-n 10.0.0.11 version")) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith("homelab-talosconfig"))).toHaveLength(1);

    process.kill(-child.pid!, "SIGTERM");
    await closed;

    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it("reaches talosctl only as a 0600 temp file that is gone afterwards, and never appears in any output", async () => {
    cluster({ talos: "v1.12.6", k8s: "1.35.0", client: "v1.12.6" });
    const stack = await converged(makeSpec({ talos: "v1.12.6", k8s: "1.35.0", snapshotDir: snapshots }));
    fs.writeFileSync(path.join(state, "client-version"), "v1.13.9\n");

    // Both bumps and a failure: every script, and the failure path, run.
    const up = await pulumiUp(makeSpec({ talos: "v1.13.9", k8s: "1.36.0", snapshotDir: snapshots }), stack, {
      FAKE_TALOS_FAIL_NODE: "10.0.0.13",
    });
    await pulumiUp(makeSpec({ talos: "v1.13.9", k8s: "1.36.0", snapshotDir: snapshots }), stack);

    expect(up.failed).toBe("os-worker-3");
    // The fake checked content and mode on every call; here: each path it was given is gone.
    const paths = fs
      .readFileSync(path.join(state, "talosconfig-paths.log"), "utf8")
      .split("\n")
      .filter(Boolean);
    expect(paths.length).toBeGreaterThan(10);
    for (const p of new Set(paths)) expect(fs.existsSync(p)).toBe(false);
    expect(fs.readdirSync(tmp)).toEqual([]);
    const everything =
      [...up.results.values()].map((r) => r.stdout + r.stderr).join("\n") + calls().join("\n");
    expect(everything).not.toContain("SECRET-KEY");
    for (const script of ["os-upgrade", "etcd-snapshot", "kubernetes-upgrade"] as const) {
      expect(commandScript(script)).not.toContain("SECRET-KEY");
    }
  });
});
