/**
 * Test harness for the upgrade scripts: a fake cluster (tests/fake-talosctl/talosctl on PATH, its state in a
 * temp folder), a loopback TCP listener standing in for the Kubernetes API, and `pulumiUp`, which runs the
 * ClusterUpgrade commands the way the engine does.
 *
 * Each test gets its own FakeCluster (own folder, own state, own listener), and `close` kills whatever the
 * test left running, so a test that timed out cannot touch another test's cluster.
 *
 * `pulumiUp` stands in for the engine the way it treats these commands: a command runs (its `create`) when its
 * triggers differ from the last successful run, steps run in rollout order with the nodes of one step side by
 * side, and a failure stops every later step and leaves the failed command unrecorded — so the next `pulumiUp`
 * runs it again. The order and the trigger values come from the component's own helpers; that the component
 * wires them like this is checked under mocks in upgrade-component.test.ts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { test as base } from "vitest";
import type { ClusterSpec } from "../../components/config/spec";
import {
  commandScript,
  kubernetesTriggers,
  kubernetesUpgradeEnvironment,
  osUpgradeEnvironment,
  osUpgradeTriggers,
  snapshotEnvironment,
  snapshotTriggers,
  type UpgradeScript,
} from "../../components/upgrade";
import { planRollout } from "../../components/upgrade/plan";

export const FAKE_BIN = __dirname;
export const SYSTEM_PATH = "/usr/bin:/bin";
/** A talosconfig nobody could mistake for other output: it must never show up anywhere but the temp file. */
export const TALOSCONFIG = "context: home\ncontexts:\n  home:\n    key: SECRET-KEY-d6f1c0ffee\n";

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export interface NodeState {
  version?: string;
  mode?: "configured" | "maintenance" | "down";
  role?: "controlplane" | "worker";
  ready?: boolean;
  etcdHealthy?: boolean;
  /** Image Factory schematic id of the installed image; null removes it (plain installer). */
  schematic?: string | null;
}

/** The engine's record: command name → triggers of its last successful run. */
export type Stack = Map<string, string>;

export interface UpResult {
  ran: string[];
  results: Map<string, Result>;
  failed?: string;
}

export const installer = (talos: string) => `ghcr.io/siderolabs/installer:${talos}`;

/** Settings the scripts read: no wall-clock waits (poll 0, one readiness check), generous safety timeouts. */
const FAST = { POLL_INTERVAL: "0", READY_TIMEOUT: "0", PROBE_TIMEOUT: "30" };

export class FakeCluster {
  readonly work = fs.mkdtempSync(path.join(os.tmpdir(), "upgrade-scripts-"));
  readonly state = path.join(this.work, "cluster");
  readonly tmp = path.join(this.work, "tmp");
  readonly snapshots = path.join(this.work, "etcd-snapshots");
  private readonly children = new Set<ChildProcess>();
  /** Every script run, for the report of a failed test. */
  readonly runs: Array<{ script: UpgradeScript } & Result> = [];
  private server?: net.Server;
  /** `https://127.0.0.1:<port>`: give it to specs as `endpoint`, so the scripts' API check stays on loopback. */
  kubeEndpoint = "";

  private constructor() {
    fs.mkdirSync(path.join(this.state, "nodes"), { recursive: true });
    fs.mkdirSync(this.tmp);
    for (const log of ["calls.log", "argv.log", "upgrades.log", "drains.log"])
      fs.writeFileSync(path.join(this.state, log), "");
    fs.writeFileSync(path.join(this.state, "expected-talosconfig"), TALOSCONFIG);
  }

  static async create(): Promise<FakeCluster> {
    const c = new FakeCluster();
    await c.startKubeApi();
    return c;
  }

  /** Opens the loopback listener that answers for the Kubernetes API (a TCP accept is all the checks need). */
  async startKubeApi(): Promise<void> {
    const server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    this.server = server;
    this.kubeEndpoint = `https://127.0.0.1:${port}`;
    fs.writeFileSync(path.join(this.state, "kube-endpoint"), `127.0.0.1:${port}\n`);
  }

  /** Closes the listener: the endpoint then refuses connections, as an API this machine cannot reach. */
  async stopKubeApi(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async close(): Promise<void> {
    for (const child of this.children) {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await this.stopKubeApi();
    fs.rmSync(this.work, { recursive: true, force: true });
  }

  write(file: string, text: string): void {
    fs.writeFileSync(path.join(this.state, file), text);
  }

  read(file: string): string {
    return fs.readFileSync(path.join(this.state, file), "utf8");
  }

  lines(file: string): string[] {
    return this.read(file).split("\n").filter(Boolean);
  }

  /** Puts nodes in the fake cluster: control planes by their address list, all others workers. */
  cluster(o: {
    talos: string;
    k8s: string;
    client?: string;
    mode?: NodeState["mode"];
    controlPlanes: readonly string[];
    workers: readonly string[];
  }): void {
    this.write("client-version", `${o.client ?? "v1.13.9"}\n`);
    this.write("k8s-version", `${o.k8s}\n`);
    for (const a of o.controlPlanes)
      this.setNode(a, { version: o.talos, mode: o.mode ?? "configured", role: "controlplane" });
    for (const a of o.workers)
      this.setNode(a, { version: o.talos, mode: o.mode ?? "configured", role: "worker" });
  }

  setNode(address: string, o: NodeState): void {
    const dir = path.join(this.state, "nodes", address);
    fs.mkdirSync(dir, { recursive: true });
    const put = (file: string, value: string | boolean | undefined) => {
      if (value !== undefined) fs.writeFileSync(path.join(dir, file), `${String(value)}\n`);
    };
    put("version", o.version);
    put("mode", o.mode);
    put("role", o.role);
    put("ready", o.ready);
    put("etcd-healthy", o.etcdHealthy);
    if (o.schematic === null) fs.rmSync(path.join(dir, "schematic"), { force: true });
    else put("schematic", o.schematic);
  }

  nodeFile(address: string, file: string): string | undefined {
    const p = path.join(this.state, "nodes", address, file);
    return fs.existsSync(p) ? fs.readFileSync(p, "utf8").trim() : undefined;
  }

  versionOf = (address: string) => this.nodeFile(address, "version");
  k8sVersion = () => this.read("k8s-version").trim();
  calls = () => this.lines("calls.log");
  clearCalls = () => {
    for (const log of ["calls.log", "argv.log", "upgrades.log", "drains.log"]) this.write(log, "");
  };
  upgradeCalls = () => this.calls().filter((c) => / upgrade --image /.test(c));
  upgradedNodes = () => this.upgradeCalls().map((c) => /-n (\S+)/.exec(c)?.[1]);
  k8sUpgrades = () => this.calls().filter((c) => c.includes(" upgrade-k8s ") && !c.includes("--dry-run"));
  snapshotFiles = () => (fs.existsSync(this.snapshots) ? fs.readdirSync(this.snapshots) : []);
  /** Permission bits of the snapshot folder and of its (first) file. */
  snapshotModes = () => ({
    dir: fs.statSync(this.snapshots).mode & 0o777,
    file: fs.statSync(path.join(this.snapshots, this.snapshotFiles()[0])).mode & 0o777,
  });
  /** Every call made to NODE (-n NODE). */
  callsTo = (node: string) => this.calls().filter((c) => c.includes(`-n ${node} `));

  /** Runs one script exactly as its Command does (`bash -c` with the component's text), own process group. */
  run(
    script: UpgradeScript,
    env: Record<string, string>,
    extra: Record<string, string> = {},
  ): Promise<Result> {
    const child = this.spawn(script, { ...FAST, ...env, ...extra });
    return new Promise<Result>((resolve) => {
      let stdout = "";
      let stderr = "";
      child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("close", (code) => {
        this.children.delete(child);
        const result = { code: code ?? -1, stdout, stderr };
        this.runs.push({ script, ...result });
        resolve(result);
      });
    });
  }

  /** Starts a script without waiting for it (its own process group, killed by `close`). */
  spawn(script: UpgradeScript, env: Record<string, string>): ChildProcess {
    const endpoint = env.K8S_ENDPOINT;
    if (endpoint !== undefined && !/^https:\/\/127\.0\.0\.1:\d+$/.test(endpoint)) {
      // The scripts open a TCP connection to it: tests never dial anything but loopback.
      throw new Error(
        `K8S_ENDPOINT ${endpoint} is not this cluster's loopback API; build specs with kubeEndpoint`,
      );
    }
    const child = spawn("/bin/bash", ["-c", commandScript(script)], {
      cwd: this.work,
      detached: true,
      // stdin a socket would make bash read ~/.bashrc (its "run by sshd" check); Pulumi gives no input either.
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        PATH: `${FAKE_BIN}:${SYSTEM_PATH}`,
        TMPDIR: this.tmp,
        FAKE_TALOS_STATE: this.state,
        ...env,
        TALOSCONFIG_DATA: TALOSCONFIG,
      },
    });
    this.children.add(child);
    return child;
  }

  /** Runs the rollout of `spec` the way `pulumi up` runs the ClusterUpgrade commands (see the file comment). */
  async pulumiUp(
    spec: ClusterSpec,
    stack: Stack,
    extra: Record<string, string> = {},
    img = installer(spec.talosVersion),
  ): Promise<UpResult> {
    const out: UpResult = { ran: [], results: new Map() };
    for (const step of rolloutCommands(spec, img)) {
      const due = step.filter((c) => stack.get(c.name) !== c.triggers);
      const results = await Promise.all(due.map((c) => this.run(c.script, c.env, extra)));
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

  /**
   * The engine's record after a `pulumi up` of `spec` succeeded: every command with its triggers. (What that
   * run did to the nodes is the cluster state the test sets up itself.)
   */
  converged(spec: ClusterSpec, img = installer(spec.talosVersion)): Stack {
    return new Map(
      rolloutCommands(spec, img).flatMap((step) => step.map((c) => [c.name, c.triggers] as const)),
    );
  }
}

/** What the fake saw and the scripts printed: shown when a test fails, so a rare failure explains itself. */
function report(fc: FakeCluster): string {
  const logs = ["calls.log", "upgrades.log", "drains.log"].map((f) => `--- ${f}\n${fc.read(f)}`);
  const runs = fc.runs.map((r) => `--- ${r.script} exited ${r.code}\n${r.stdout}${r.stderr}`);
  return [...logs, ...runs].join("\n");
}

/**
 * `it` with a fresh FakeCluster per test (`fc`): its own folder, state and listener, closed after the test;
 * on failure the fake's logs and every script's output are printed.
 */
export const it = base.extend<{ fc: FakeCluster }>({
  fc: async ({ onTestFailed }, use) => {
    const fc = await FakeCluster.create();
    onTestFailed(() => console.error(report(fc)));
    await use(fc);
    await fc.close();
  },
});

interface Command {
  name: string;
  script: UpgradeScript;
  env: Record<string, string>;
  triggers: string;
}

/** ClusterUpgrade's commands for `spec`, step by step in rollout order, from the component's own helpers. */
function rolloutCommands(spec: ClusterSpec, img: string): Command[][] {
  return [
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
}
