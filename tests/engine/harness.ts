/**
 * The engine tier's harness: the real Pulumi CLI (v3.274.1, `PULUMI_CLI` or `pulumi` on PATH) drives the real
 * program through the Automation API with an inline program that loads index.ts, on a local file backend in a
 * temp folder, with stand-in provider plugins (tests/engine/standins) installed into a private PULUMI_HOME.
 *
 * What the engine decides here, and the in-process mocks cannot: stack-config validation against Pulumi.yaml,
 * step generation (create/update/replace/delete and their order), --target rules, protect, secrets in state.
 *
 * Each project gets its own directories and plugin home: nothing is shared between tests. Stack files are the
 * shipped ones with their addresses moved into 127.0.0.0/8 (`toLoopback`), and the runner script
 * (scripts/test-engine.sh) runs the whole tier inside a network namespace that has only loopback.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import {
  LocalWorkspace,
  PulumiCommand,
  type EngineEvent,
  type OpType,
  type Stack,
} from "@pulumi/pulumi/automation";
import YAML from "yaml";
import { readJournal, type JournalEntry } from "./standins/core/journal";
import { installStandins } from "./standins/install";

export const ROOT = path.resolve(__dirname, "..", "..");
const PASSPHRASE = "engine-tier-passphrase";
const nodeRequire = createRequire(__filename);

/** The CLI the tier runs: PULUMI_CLI (scripts/test-engine.sh sets it), else `pulumi` on PATH. */
export function pulumiBinary(): string {
  const fromEnv = process.env.PULUMI_CLI;
  if (fromEnv) return fromEnv;
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const candidate = path.join(dir, "pulumi");
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error("no Pulumi CLI: set PULUMI_CLI or put pulumi on PATH (scripts/test-engine.sh does)");
}

/** Every 192.168.x.y of a stack file moved to 127.168.x.y: same layout, nothing leaves the machine. */
export function toLoopback(stackFile: string): string {
  return stackFile.replace(/\b192\.168\.(\d{1,3})\.(\d{1,3})\b/g, "127.168.$1.$2");
}

export function shippedStackFile(stack: string): string {
  return toLoopback(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"));
}

/** One engine step as the CLI reported it (resourcePreEvent), in the order the engine emitted them. */
export interface Step {
  readonly op: OpType;
  readonly urn: string;
  readonly type: string;
  readonly name: string;
}

export interface RunResult {
  readonly steps: Step[];
  readonly events: EngineEvent[];
  readonly stdout: string;
}

let tsNodeRegistered = false;

/** The inline program: index.ts, evaluated afresh from the project root for every run (like `pulumi up`). */
function programFromIndex(): () => Promise<Record<string, unknown>> {
  return async () => {
    if (!tsNodeRegistered) {
      // The type-checking path through @pulumi/pulumi's own loader is tests/loader.test.ts; here only the
      // engine's decisions matter, so transpile only.
      nodeRequire("ts-node").register({
        project: path.join(ROOT, "tsconfig.json"),
        transpileOnly: true,
      });
      tsNodeRegistered = true;
    }
    for (const file of Object.keys(nodeRequire.cache)) {
      if (file.startsWith(ROOT) && !file.includes(`${path.sep}node_modules${path.sep}`))
        delete nodeRequire.cache[file];
    }
    const program = nodeRequire(path.join(ROOT, "index.ts")) as Record<string, unknown>;
    return { ...program };
  };
}

function stepsOf(events: EngineEvent[]): Step[] {
  return events.flatMap((e) => {
    const m = e.resourcePreEvent?.metadata;
    if (!m) return [];
    const name = m.urn.slice(m.urn.lastIndexOf("::") + 2);
    return [{ op: m.op, urn: m.urn, type: m.type, name }];
  });
}

/** A node of the fake cluster tests/fake-talosctl answers for (its state format is documented in its header). */
export interface FakeNode {
  readonly address: string;
  readonly role: "controlplane" | "worker";
  /** `maintenance`: booted from the ISO, as every machine is before the first `pulumi up`. */
  readonly mode: "maintenance" | "configured" | "down";
  readonly version: string;
}

/** The machines a stack file lists, as they are before the first `pulumi up`: booted from the ISO. */
export function machinesOf(stackFile: string, version = "v1.13.9"): FakeNode[] {
  const config = (YAML.parse(stackFile) as { config: Record<string, unknown> }).config;
  const nodes = config["homelab:nodes"] as { address: string; role: "controlplane" | "worker" }[];
  return nodes.map((n) => ({ address: n.address, role: n.role, mode: "maintenance", version }));
}

function writeFakeCluster(dir: string, nodes: readonly FakeNode[], k8sVersion: string): void {
  fs.mkdirSync(path.join(dir, "nodes"), { recursive: true });
  fs.writeFileSync(path.join(dir, "client-version"), "v1.13.9\n");
  fs.writeFileSync(path.join(dir, "k8s-version"), `${k8sVersion}\n`);
  for (const n of nodes) {
    const d = path.join(dir, "nodes", n.address);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, "mode"), `${n.mode}\n`);
    fs.writeFileSync(path.join(d, "version"), `${n.version}\n`);
    fs.writeFileSync(path.join(d, "role"), `${n.role}\n`);
  }
}

export interface EngineProjectOptions {
  /** Stack name; the stack file is written as Pulumi.<stack>.yaml next to a copy of the real Pulumi.yaml. */
  readonly stack: string;
  /** The stack file's text (use `shippedStackFile` or `toLoopback`). */
  readonly stackFile: string;
  /** Extra environment for the CLI and the plugins (e.g. STANDIN_FAIL_ONCE). */
  readonly env?: Record<string, string>;
  /**
   * The machines the upgrade commands' talosctl (tests/fake-talosctl, first on the commands' PATH) answers
   * for. Default: every node of the stack file, booted from the ISO (maintenance mode).
   */
  readonly machines?: readonly FakeNode[];
}

/** A Pulumi project in a temp folder: real Pulumi.yaml, one stack file, a file backend, stand-in plugins. */
export class EngineProject {
  private constructor(
    readonly dir: string,
    readonly stack: Stack,
    private readonly stackName: string,
    private readonly env: Record<string, string>,
  ) {}

  static async create(opts: EngineProjectOptions): Promise<EngineProject> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-engine-"));
    const work = path.join(dir, "project");
    const home = path.join(dir, "pulumi-home");
    const backend = path.join(dir, "state");
    for (const d of [work, home, backend]) fs.mkdirSync(d, { recursive: true });
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(work, "Pulumi.yaml"));
    fs.writeFileSync(path.join(work, `Pulumi.${opts.stack}.yaml`), opts.stackFile);
    // The CLI checks that Pulumi.yaml's `main` exists even for an inline program; it is the real entry point.
    fs.symlinkSync(path.join(ROOT, "index.ts"), path.join(work, "index.ts"));

    const binary = pulumiBinary();
    const env: Record<string, string> = {
      PULUMI_HOME: home,
      PULUMI_BACKEND_URL: `file://${backend}`,
      PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      STANDIN_LOG: path.join(dir, "calls.jsonl"),
      STANDIN_STATE: path.join(dir, "standin-state"),
      // The command plugin runs the upgrade and lifecycle scripts for real; their talosctl and kubectl are fakes:
      // the stand-ins' (tools/, over the nodes the talos stand-in configures), which hand what they do not know to
      // tests/fake-talosctl.
      PATH: [
        path.join(home, "standins", "bin"),
        path.join(ROOT, "tests", "fake-talosctl"),
        process.env.PATH ?? "",
      ].join(path.delimiter),
      FAKE_TALOS_STATE: path.join(dir, "talos-cluster"),
      TMPDIR: path.join(dir, "tmp"),
      // The etcd snapshot's default folder is under XDG_STATE_HOME (else ~/.local/state): inside the test's folder.
      XDG_STATE_HOME: path.join(dir, "state-home"),
      ...opts.env,
    };
    fs.mkdirSync(env.TMPDIR, { recursive: true });
    writeFakeCluster(env.FAKE_TALOS_STATE, opts.machines ?? machinesOf(opts.stackFile), "1.36.0");
    fs.mkdirSync(env.STANDIN_STATE, { recursive: true });
    await installStandins({ pulumiBin: binary, pulumiHome: home, env });

    const pulumiCommand = await PulumiCommand.get({
      root: path.dirname(path.dirname(binary)),
      skipVersionCheck: true,
    });
    // The workspace reads the copied Pulumi.yaml, so the CLI validates the stack file against it as `pulumi up`.
    const stack = await LocalWorkspace.createStack(
      { stackName: opts.stack, projectName: "homelab", program: programFromIndex() },
      { workDir: work, pulumiHome: home, pulumiCommand, envVars: env },
    );
    return new EngineProject(dir, stack, opts.stack, env);
  }

  /** Replaces the stack file (a change to the stack, as a pull request would make). */
  setStackFile(text: string): void {
    fs.writeFileSync(path.join(this.dir, "project", `Pulumi.${this.stackName}.yaml`), text);
  }

  async preview(opts: { target?: string[] } = {}): Promise<RunResult> {
    const events: EngineEvent[] = [];
    const r = await this.stack.preview({ onEvent: (e) => events.push(e), target: opts.target, diff: true });
    return { steps: stepsOf(events), events, stdout: r.stdout };
  }

  async up(opts: { target?: string[]; replace?: string[] } = {}): Promise<RunResult> {
    const events: EngineEvent[] = [];
    const r = await this.stack.up({
      onEvent: (e) => events.push(e),
      target: opts.target,
      replace: opts.replace,
    });
    return { steps: stepsOf(events), events, stdout: r.stdout };
  }

  async destroy(): Promise<RunResult> {
    const events: EngineEvent[] = [];
    const r = await this.stack.destroy({ onEvent: (e) => events.push(e) });
    return { steps: stepsOf(events), events, stdout: r.stdout };
  }

  /** The state file the backend wrote, as text (what an attacker with the backend bucket would read). */
  stateText(): string {
    const stacks = path.join(this.dir, "state", ".pulumi", "stacks");
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith(".json")) files.push(p);
      }
    };
    walk(stacks);
    return files.map((f) => fs.readFileSync(f, "utf8")).join("\n");
  }

  /** The environment the CLI, the plugins and the fake tools get (STANDIN_STATE, FAKE_TALOS_STATE, PATH, ...). */
  get standinEnv(): NodeJS.ProcessEnv {
    return { ...this.env };
  }

  /** Runs the Pulumi CLI itself in the project (e.g. `state unprotect`), as an operator would at a shell. */
  cli(args: string[]): { status: number; stdout: string; stderr: string } {
    const r = spawnSync(pulumiBinary(), [...args, "--stack", this.stackName, "--non-interactive"], {
      cwd: path.join(this.dir, "project"),
      encoding: "utf8",
      env: { ...process.env, ...this.env },
    });
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  }

  /** Runs a fake tool the way a person at the console would (a change made by hand, outside Pulumi). */
  tool(name: "talosctl" | "kubectl", args: string[]): { status: number; stdout: string; stderr: string } {
    const r = spawnSync(path.join(this.dir, "pulumi-home", "standins", "bin", name), args, {
      encoding: "utf8",
      env: { ...process.env, ...this.env },
    });
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  }

  /** Every call the stand-in plugins recorded, in order (tests/engine/standins/core/journal.ts). */
  calls(): JournalEntry[] {
    return readJournal(this.env.STANDIN_LOG);
  }

  /** Every call the upgrade commands made to the fake talosctl (its calls.log), in order. */
  talosctlCalls(): string[] {
    const log = path.join(this.env.FAKE_TALOS_STATE, "calls.log");
    return fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n").filter(Boolean) : [];
  }

  dispose(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
