/**
 * A simulated cluster for the node lifecycle scripts' tests: the nodes of the talos stand-in
 * (tests/engine/standins/talos, configured as its ConfigurationApply would configure them) and the fake
 * `talosctl`/`kubectl` over them (tests/engine/standins/tools), built once per test file. Each test gets its own
 * temp dir (state, machines booted from the ISO, private files) and runs the real scripts with `bash -c`, as the
 * command provider does.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { lifecycleScript, memberTable, type LifecycleScript } from "../../components/lifecycle";
import { configureNode } from "../engine/standins/talos/apply";
import { readCluster, writeCluster, type ClusterRecord } from "../engine/standins/talos/cluster";
import { readNode } from "../engine/standins/talos/nodes";
import { buildStandins, installTools } from "../engine/standins/install";

export interface Machine {
  name: string;
  address: string;
  role: "controlplane" | "worker";
  /** Defaults to the name. */
  hostname?: string;
}

/** The member table the scripts read, for these machines. */
export function table(machines: readonly Machine[]): string {
  return memberTable({
    nodes: machines.map((m, index) => ({
      name: m.name,
      address: m.address,
      role: m.role,
      hostname: m.hostname ?? m.name,
      index,
      installDisk: { path: "/dev/sda" },
      labels: {},
      taints: {},
      patches: [],
    })),
  });
}

/** A minimal rendered config: what the stand-in reads back from one (type, cluster, static hostname). */
export function configFor(m: Machine, extra = ""): string {
  return [
    "version: v1alpha1",
    "machine:",
    `  type: ${m.role}`,
    "  token: 9f8e7d.secret-looking-token",
    "cluster:",
    "  clusterName: lab",
    `  controlPlane:\n    endpoint: https://${m.address}:6443`,
    extra,
    "---",
    "apiVersion: v1alpha1",
    "kind: HostnameConfig",
    `hostname: ${m.hostname ?? m.name}`,
    'auto: "off"',
    "",
  ].join("\n");
}

export interface ScriptResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface World {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** Boots machines from the ISO (maintenance mode) and configures the given ones, as the provider would. */
  boot(machines: readonly Machine[], configured?: readonly Machine[]): void;
  cluster(): ClusterRecord;
  setCluster(c: ClusterRecord): void;
  /** `running` | `off` | `maintenance` (no configuration left). */
  stateOf(address: string): "running" | "off" | "maintenance";
  /** Runs a lifecycle script with this world's PATH and state. */
  run(
    script: LifecycleScript,
    env: Record<string, string>,
    stdin?: string,
    pathDirs?: string[],
  ): ScriptResult;
  /** Runs a fake tool directly (a hand-made change). */
  tool(name: "talosctl" | "kubectl", args: string[]): ScriptResult;
  /**
   * A directory holding only the basic utilities the scripts use plus the named fakes: a PATH without, say,
   * kubectl (this machine may have a real one in /usr/bin).
   */
  sandboxPath(fakes: readonly string[]): string;
  /** The tool calls, in order, one line each (credential paths shown as <file>). */
  calls(): string[];
  bin: string;
}

const BASIC_UTILITIES = [
  "sh",
  "bash",
  "awk",
  "sed",
  "grep",
  "sort",
  "cut",
  "mktemp",
  "rm",
  "cat",
  "sleep",
  "chmod",
];

/** Installs the world: call at the top of a test file. */
export function useWorld(): World {
  let build = "";
  const w = { dir: "", env: {} as NodeJS.ProcessEnv, bin: "" } as World;
  beforeAll(() => {
    build = fs.mkdtempSync(path.join(os.tmpdir(), "lifecycle-tools-"));
    buildStandins(build);
    w.bin = installTools(build);
  });
  afterAll(() => fs.rmSync(build, { recursive: true, force: true }));
  beforeEach(() => {
    w.dir = fs.mkdtempSync(path.join(os.tmpdir(), "lifecycle-world-"));
    fs.mkdirSync(path.join(w.dir, "tmp"));
    w.env = {
      STANDIN_STATE: path.join(w.dir, "state"),
      FAKE_TALOS_STATE: path.join(w.dir, "iso"),
      TMPDIR: path.join(w.dir, "tmp"),
    };
  });
  afterEach(() => fs.rmSync(w.dir, { recursive: true, force: true }));

  const withEnv = <T>(fn: () => T): T => {
    const saved = { ...process.env };
    Object.assign(process.env, w.env);
    try {
      return fn();
    } finally {
      for (const k of Object.keys(w.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  };
  w.boot = (machines, configured = machines) => {
    for (const m of machines) fs.mkdirSync(path.join(w.dir, "iso", "nodes", m.address), { recursive: true });
    withEnv(() => configured.forEach((m) => configureNode(m.address, configFor(m), process.env)));
  };
  w.cluster = () => withEnv(() => readCluster());
  w.setCluster = (c) => withEnv(() => writeCluster(c));
  w.stateOf = (address) =>
    withEnv(() => {
      const rec = readNode(address);
      return rec ? (rec.halted ? "off" : "running") : "maintenance";
    });
  const spawn = (
    cmd: string,
    args: string[],
    env: Record<string, string>,
    stdin?: string,
    pathDirs?: string[],
  ) => {
    const r = spawnSync(cmd, args, {
      input: stdin ?? "",
      encoding: "utf8",
      env: {
        PATH: (pathDirs ?? [w.bin, "/usr/bin", "/bin"]).join(path.delimiter),
        HOME: w.dir,
        ...w.env,
        ...env,
      },
    });
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  };
  w.run = (script, env, stdin, pathDirs) =>
    spawn(
      "/bin/bash",
      ["-c", lifecycleScript(script)],
      { POLL_INTERVAL: "0", PROBE_TIMEOUT: "20", ...env },
      stdin,
      pathDirs,
    );
  w.tool = (name, args) => spawn(path.join(w.bin, name), args, {});
  w.sandboxPath = (fakes) => {
    const dir = fs.mkdtempSync(path.join(w.dir, "sandbox-"));
    for (const util of BASIC_UTILITIES) {
      const found = ["/usr/bin", "/bin"].map((d) => path.join(d, util)).find((p) => fs.existsSync(p));
      if (found) fs.symlinkSync(found, path.join(dir, util));
    }
    for (const f of fakes) fs.symlinkSync(path.join(w.bin, f), path.join(dir, f));
    return dir;
  };
  w.calls = () => {
    const f = path.join(w.dir, "state", "tool-calls.log");
    return fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim().split("\n") : [];
  };
  return w;
}

/** Credentials as the program hands them over (contents do not matter to the fakes, only their privacy). */
export const CREDENTIALS = {
  TALOSCONFIG_DATA: "context: lab\ncontexts:\n    lab:\n        endpoints: []\n",
  KUBECONFIG_DATA: "apiVersion: v1\nkind: Config\n",
};
