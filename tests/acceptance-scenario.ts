/**
 * The world scripts/acceptance.sh runs in during tests/acceptance.test.ts: the fakes of ./acceptance-fakes.ts
 * written into a temp dir, in a temp git repo holding a copy of the project's stack file. Node addresses are
 * loopback addresses, so the SSH check probes real sockets on this machine.
 *
 * Nothing waits on the clock: the fakes answer at once, and the fake `timeout` reports a node that never answers
 * as timed out without waiting out the deadline. Every `Scenario` has its own temp dir (the fakes' state, PATH,
 * git repo, TMPDIR) and its own sockets, so tests run concurrently; only the read-only template repo is shared.
 */
import { spawn, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import {
  FAKE_KUBECTL,
  FAKE_PULUMI,
  FAKE_TALOSCTL,
  FAKE_TIMEOUT,
  KUBE_SECRET,
  POST_DEPLOY_STUB,
  SYSTEM_TOOL_PATHS,
  SYSTEM_TOOLS,
  TALOS_SECRET,
} from "./acceptance-fakes";

export { KUBE_SECRET, TALOS_SECRET };

const ROOT = path.join(__dirname, "..");
const SCRIPT = path.join(ROOT, "scripts", "acceptance.sh");
const KUBECONFIG = `apiVersion: v1\nkind: Config\nusers:\n  - name: admin\n    user:\n      client-key-data: ${KUBE_SECRET}\n`;
const TALOSCONFIG = `context: home\ncontexts:\n  home:\n    endpoints: [127.0.0.1]\n    key: ${TALOS_SECRET}\n`;
export const CP = ["127.0.0.1"];
export const WORKERS = ["127.0.0.2", "127.0.0.3"];
export const NODES = [...CP, ...WORKERS];

/** The versions the project's committed stack file declares (the temp repo holds a copy of it). */
const stackConfig = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.home.yaml"), "utf8")).config as Record<
  string,
  unknown
>;
export const TALOS = String(stackConfig["homelab:talosVersion"]);
export const K8S = String(stackConfig["homelab:kubernetesVersion"]);

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
  /** "name" → { state, detail } from the summary. */
  checks: Map<string, { state: string; detail: string }>;
}

export interface RunOptions {
  /** Run the real .github/scripts/post-deploy-check.sh instead of the stub. */
  realPostDeploy?: boolean;
  /** PATH for the script (default: the scenario's bin/). */
  path?: string;
}

/**
 * Ports some running scenario relies on being closed, and ports some scenario listens on: the two never meet,
 * so one test's "open SSH port" cannot be another's "closed" one. (Tests in this file share one process.)
 */
const portsKeptClosed = new Set<number>();
const portsListening = new Set<number>();

export function writeFile(file: string, text: string, mode = 0o644): void {
  // bin/ links to the real system tools: writing through such a link would overwrite the tool itself.
  if (fs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) {
    throw new Error(`refusing to write through the symlink ${file}`);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text, { mode });
}

export function gitIn(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd,
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.invalid",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.invalid",
      GIT_CONFIG_GLOBAL: "/dev/null",
    },
  }).toString();
}

/** A committed copy of the project's stack files, for `Scenario.create` to copy. Remove it when done. */
export function createTemplateRepo(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acceptance-template-"));
  fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  fs.copyFileSync(path.join(ROOT, "Pulumi.home.yaml"), path.join(dir, "Pulumi.home.yaml"));
  gitIn(dir, "init", "-q", "-b", "main");
  gitIn(dir, "add", ".");
  gitIn(dir, "commit", "-q", "-m", "stack");
  return dir;
}

async function listenOn(server: net.Server, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  return (server.address() as net.AddressInfo).port;
}
const closeServer = (s: net.Server) => new Promise<void>((resolve) => s.close(() => resolve()));

/** What `talosctl -n <node> memory` prints (Talos's tab-aligned table, values in MiB). */
function memoryTable(node: string, used: number, total: number): string {
  const free = Math.max(total - used - 320, 0);
  return (
    "NODE        TOTAL   USED   FREE   SHARED   BUFFERS   CACHE   AVAILABLE\n" +
    `${node.padEnd(12)}${String(total).padEnd(8)}${String(used).padEnd(7)}${String(free).padEnd(7)}` +
    `5        20        300     ${total - used}\n`
  );
}

function nodesJson(): string {
  return JSON.stringify({
    items: NODES.map((_address, i) => ({
      metadata: { name: i < CP.length ? `cp-${i + 1}` : `worker-${i}` },
      status: {
        conditions: [{ type: "Ready", status: "True" }],
        nodeInfo: { kubeletVersion: `v${K8S.replace(/^v/, "")}`, osImage: `Talos (${TALOS})` },
      },
    })),
  });
}

/** One test's world: a healthy cluster that matches git until the test changes something. */
export class Scenario {
  readonly fake: string;
  readonly bin: string;
  readonly repo: string;
  readonly tmp: string;
  private readonly servers: net.Server[] = [];
  private readonly listening: number[] = [];

  private constructor(
    readonly work: string,
    /** A TCP port nothing listens on: the SSH port every node has closed. */
    readonly closedPort: number,
  ) {
    this.fake = path.join(work, "fake");
    this.bin = path.join(work, "bin");
    this.repo = path.join(work, "repo");
    this.tmp = path.join(work, "tmp");
  }

  static async create(templateRepo: string): Promise<Scenario> {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "acceptance-test-"));
    const s = new Scenario(work, await Scenario.freePort());
    fs.mkdirSync(s.tmp);
    fs.mkdirSync(s.fake);
    fs.mkdirSync(s.bin);
    SYSTEM_TOOLS.forEach((tool, i) => fs.symlinkSync(SYSTEM_TOOL_PATHS[i]!, path.join(s.bin, tool)));
    writeFile(path.join(s.bin, "timeout"), FAKE_TIMEOUT, 0o755);
    writeFile(path.join(s.bin, "pulumi"), FAKE_PULUMI, 0o755);
    writeFile(path.join(s.bin, "talosctl"), FAKE_TALOSCTL, 0o755);
    writeFile(path.join(s.bin, "kubectl"), FAKE_KUBECTL, 0o755);
    writeFile(path.join(work, "post-deploy-stub.sh"), POST_DEPLOY_STUB, 0o755);

    s.setOutputs();
    s.writeFake("nodes.json", nodesJson());
    s.writeFake("health.rc", "0\n");
    s.writeFake("rollout.rc", "0\n");
    s.writeFake("run.rc", "0\n");
    s.setMemory("127.0.0.1", 612);
    s.setMemory("127.0.0.2", 401, 1960);
    s.setMemory("127.0.0.3", 388, 1960);

    fs.cpSync(templateRepo, s.repo, { recursive: true });
    return s;
  }

  /** A TCP port nothing listens on (bound, then released), kept out of every scenario's listeners. */
  private static async freePort(): Promise<number> {
    for (;;) {
      const server = net.createServer();
      const port = await listenOn(server, "127.0.0.1");
      await closeServer(server);
      if (!portsListening.has(port) && !portsKeptClosed.has(port)) {
        portsKeptClosed.add(port);
        return port;
      }
    }
  }

  async dispose(): Promise<void> {
    await Promise.all(this.servers.splice(0).map(closeServer));
    this.listening.splice(0).forEach((port) => portsListening.delete(port));
    portsKeptClosed.delete(this.closedPort);
    fs.rmSync(this.work, { recursive: true, force: true });
  }

  /** A real listener on one loopback address: a node with an open "SSH" port. */
  async listen(host: string): Promise<number> {
    for (;;) {
      const server = net.createServer((socket) => socket.destroy());
      const port = await listenOn(server, host);
      if (portsKeptClosed.has(port)) {
        await closeServer(server);
        continue;
      }
      portsListening.add(port);
      this.listening.push(port);
      this.servers.push(server);
      return port;
    }
  }

  writeFake(name: string, text: string): void {
    writeFile(path.join(this.fake, name), text);
  }

  /** A file the fakes wrote (their logs), or "" when they wrote none. */
  read(name: string): string {
    const f = path.join(this.fake, name);
    return fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "";
  }

  git(...args: string[]): string {
    return gitIn(this.repo, ...args);
  }

  setMemory(node: string, used: number, total = 3928): void {
    this.writeFake(path.join("memory", node), memoryTable(node, used, total));
  }

  setOutputs(change: (o: Record<string, unknown>) => void = () => {}): void {
    const o: Record<string, unknown> = {
      kubeconfig: KUBECONFIG,
      talosconfig: TALOSCONFIG,
      endpoint: `https://${CP[0]}:6443`,
      controlPlaneAddresses: CP,
      workerAddresses: WORKERS,
      talosVersion: TALOS,
      kubernetesVersion: K8S,
      installerImage: `ghcr.io/siderolabs/installer:${TALOS}`,
    };
    change(o);
    this.writeFake("outputs.json", JSON.stringify(o, null, 2));
  }

  /** The test namespace was deleted after the workload was applied (not merely cleared before applying). */
  namespaceDeletedAfterApply(): boolean {
    const calls = this.read("kubectl.log").trim().split("\n");
    const lastApply = calls.map((l) => l.startsWith("apply")).lastIndexOf(true);
    return (
      lastApply >= 0 &&
      calls.slice(lastApply + 1).some((l) => /^delete namespace homelab-acceptance\b/.test(l))
    );
  }

  /** Runs the script from the temp repo (its stack file is the one checked), with every wait bounded. */
  run(env: Record<string, string> = {}, opts: RunOptions = {}): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      const child = spawn(path.join(this.bin, "bash"), [SCRIPT, "home"], {
        cwd: this.repo,
        env: {
          PATH: opts.path ?? this.bin,
          HOME: this.work,
          TMPDIR: this.tmp,
          FAKE: this.fake,
          GIT_CONFIG_GLOBAL: "/dev/null",
          SSH_PORT: String(this.closedPort),
          SSH_TIMEOUT: "2",
          ROLLOUT_TIMEOUT: "5s",
          CLIENT_TIMEOUT: "5s",
          TALOSCTL_TIMEOUT: "5s",
          HEALTH_TIMEOUT: "1s",
          ...(opts.realPostDeploy ? {} : { POST_DEPLOY_CHECK: path.join(this.work, "post-deploy-stub.sh") }),
          ...env,
        },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (code) => {
        const checks = new Map<string, { state: string; detail: string }>();
        const summary = stdout.split("\nADR 0004 acceptance, stack home:\n")[1] ?? "";
        for (const m of summary.matchAll(/^ {2}(ok|FAIL) +(\S+) +(.*)$/gm)) {
          checks.set(m[2]!, { state: m[1]!, detail: m[3]! });
        }
        resolve({ code: code ?? -1, stdout, stderr, checks });
      });
    });
  }
}
