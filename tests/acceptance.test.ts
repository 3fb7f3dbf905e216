/**
 * scripts/acceptance.sh (ADR 0004's confirmation list, run against a real cluster) executed for real with bash,
 * against fake `pulumi`, `talosctl` and `kubectl` written into a temp dir, in a temp git repo holding a copy of
 * the project's stack file. The fakes answer from files in $FAKE, log their calls, and refuse to work unless
 * KUBECONFIG / TALOSCONFIG name a private file (0600 in a 0700 dir) that holds the stack's credentials. Node
 * addresses are loopback addresses, so the SSH check probes real sockets on this machine.
 *
 * Nothing here waits on the clock: the fakes answer at once, and a fake `timeout` stands in for coreutils' so a
 * node that never answers is reported as timed out without waiting out the deadline. Each test gets its own
 * temp dir (fakes' state, PATH, git repo, TMPDIR); the only thing built once is the read-only template repo.
 */
import { spawn, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parse as parseYaml, parseAllDocuments } from "yaml";

const ROOT = path.join(__dirname, "..");
const SCRIPT = path.join(ROOT, "scripts", "acceptance.sh");
/** Markers nobody could mistake for other output: they must never reach stdout or stderr. */
const KUBE_SECRET = "KUBE-SECRET-7f3a9c0ffee";
const TALOS_SECRET = "TALOS-SECRET-b41e2d0ffee";
const KUBECONFIG = `apiVersion: v1\nkind: Config\nusers:\n  - name: admin\n    user:\n      client-key-data: ${KUBE_SECRET}\n`;
const TALOSCONFIG = `context: home\ncontexts:\n  home:\n    endpoints: [127.0.0.1]\n    key: ${TALOS_SECRET}\n`;
const CP = ["127.0.0.1"];
const WORKERS = ["127.0.0.2", "127.0.0.3"];
const NODES = [...CP, ...WORKERS];

/** The versions the project's committed stack file declares (the temp repo holds a copy of it). */
const stackConfig = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.home.yaml"), "utf8")).config as Record<
  string,
  unknown
>;
const TALOS = String(stackConfig["homelab:talosVersion"]);
const K8S = String(stackConfig["homelab:kubernetesVersion"]);

/**
 * System tools the script and the fakes may use; the PATH holds nothing else, so no real pulumi/kubectl leaks in.
 * `timeout` is not among them: a fake stands in for it (FAKE_TIMEOUT).
 */
const SYSTEM_TOOLS = [
  "bash",
  "jq",
  "git",
  "awk",
  "sed",
  "grep",
  "mktemp",
  "chmod",
  "rm",
  "cat",
  "head",
  "tail",
  "tr",
  "tee",
  "basename",
  "dirname",
  "stat",
  "env",
  "mkdir",
];
/** Their real paths, looked up once (one process instead of one per tool and test). */
const SYSTEM_TOOL_PATHS = execFileSync("bash", [
  "-c",
  'for t; do command -v "$t"; done',
  "_",
  ...SYSTEM_TOOLS,
])
  .toString()
  .trim()
  .split("\n");

const FAKE_PULUMI = `#!/usr/bin/env bash
set -euo pipefail
printf '%s\\n' "$*" >>"$FAKE/pulumi.log"
if [[ -f "$FAKE/pulumi.fail" ]]; then echo "error: no stack named 'home' found" >&2; exit 255; fi
# Like the real CLI, config comes from Pulumi.<stack>.yaml in the current directory (the project).
config() { sed -n "s/^[[:space:]]*homelab:$1:[[:space:]]*//p" "$PWD/Pulumi.home.yaml" | head -n 1; }
case "$*" in
"stack output --json --show-secrets --stack home") cat "$FAKE/outputs.json" ;;
"stack output --json --stack home") jq '.kubeconfig = "[secret]" | .talosconfig = "[secret]"' "$FAKE/outputs.json" ;;
"stack output talosconfig --show-secrets --stack home") jq -r .talosconfig "$FAKE/outputs.json" ;;
"stack output kubeconfig --show-secrets --stack home") jq -r .kubeconfig "$FAKE/outputs.json" ;;
"config get homelab:talosVersion --stack home") config talosVersion ;;
"config get homelab:kubernetesVersion --stack home") config kubernetesVersion ;;
*) echo "fake pulumi: unexpected: $*" >&2; exit 2 ;;
esac
`;

/**
 * Shared by the talosctl and kubectl fakes: the credentials file must be private (0600 in a 0700 dir) and hold
 * the stack's secret. One `stat` for both modes, the rest in bash builtins: these run on every fake call.
 */
const CHECK_CREDENTIALS = `
check_credentials() { # file marker
  local modes content
  printf '%s\\n' "$1" >>"$FAKE/credential-paths.log"
  [[ -f "$1" ]] || { echo "fake: credentials file '$1' missing" >&2; exit 3; }
  modes="$(stat -c %a "$1" "\${1%/*}")"
  [[ "$modes" == $'600\\n700' ]] || { echo "fake: $1 is not 0600 in a 0700 directory" >&2; exit 3; }
  IFS= read -r -d '' content <"$1" || true
  [[ "$content" == *"$2"* ]] || { echo "fake: $1 does not hold the cluster's credentials" >&2; exit 3; }
}
`;

const FAKE_TALOSCTL = `#!/usr/bin/env bash
set -euo pipefail
printf '%s\\n' "$*" >>"$FAKE/talosctl.log"
${CHECK_CREDENTIALS}
check_credentials "\${TALOSCONFIG:-}" ${TALOS_SECRET}
node="" args=()
while (($#)); do
  case $1 in
  -n | --nodes) node=$2; shift 2 ;;
  *) args+=("$1"); shift ;;
  esac
done
case "\${args[0]}" in
health) read -r rc <"$FAKE/health.rc"; exit "$rc" ;;
memory)
  # A node without a file does not answer.
  [[ -f "$FAKE/memory/$node" ]] || { echo "error: rpc error: code = Unavailable desc = dial tcp $node:50000: connect: connection refused" >&2; exit 1; }
  # "HANG": like a node that drops packets, talosctl would wait forever. Under the fake \`timeout\` the deadline
  # passes at once; a call nothing bounds fails loudly here instead of hanging the test.
  read -r first <"$FAKE/memory/$node" || true
  if [[ "$first" == HANG ]]; then
    if [[ -n "\${FAKE_TIMEOUT_EXPIRED:-}" ]]; then : >"$FAKE_TIMEOUT_EXPIRED"; exit 1; fi
    echo "fake talosctl: $node never answers and nothing bounds this call" >&2
    exit 3
  fi
  cat "$FAKE/memory/$node"
  ;;
*) echo "fake talosctl: unexpected: \${args[*]}" >&2; exit 2 ;;
esac
`;

const FAKE_KUBECTL = `#!/usr/bin/env bash
set -euo pipefail
printf '%s\\n' "$*" >>"$FAKE/kubectl.log"
${CHECK_CREDENTIALS}
check_credentials "\${KUBECONFIG:-}" ${KUBE_SECRET}
ns="" args=()
while (($#)); do
  case $1 in
  -n | --namespace) ns=$2; shift 2 ;;
  *) args+=("$1"); shift ;;
  esac
done
case "\${args[0]}" in
get)
  if [[ "\${args[1]}" == nodes ]]; then cat "$FAKE/nodes.json"; else echo "NAME READY STATUS"; fi ;;
apply) cat >"$FAKE/applied.yaml"; echo "namespace/homelab-acceptance created" ;;
rollout)
  printf '%s %s\\n' "$ns" "\${args[*]}" >>"$FAKE/rollouts.log"
  read -r rc <"$FAKE/rollout.rc"
  if ((rc)); then echo "error: timed out waiting for the condition" >&2; fi
  exit "$rc" ;;
run)
  printf '%s %s\\n' "$ns" "\${args[*]}" >>"$FAKE/runs.log"
  read -r rc <"$FAKE/run.rc"
  exit "$rc" ;;
delete) ;;
*) echo "fake kubectl: unexpected: \${args[*]}" >&2; exit 2 ;;
esac
`;

/**
 * Stands in for GNU coreutils' \`timeout DURATION COMMAND [ARG]...\` (src/timeout.c) so that no test waits out a
 * deadline. It runs COMMAND; when a fake reports that it would not have answered before the deadline (by
 * creating $FAKE_TIMEOUT_EXPIRED), it ends as timeout does once the duration has passed: status 124
 * (EXIT_TIMEDOUT), nothing printed. Otherwise COMMAND's status, 127 when it is not found, as timeout's. A
 * duration parse_duration would refuse fails with 125 (EXIT_CANCELED). Every call is logged with its duration.
 */
const FAKE_TIMEOUT = `#!/usr/bin/env bash
set -uo pipefail
printf '%s\\n' "$*" >>"$FAKE/timeout.log"
if [[ ! "\${1:-}" =~ ^[0-9]+(\\.[0-9]+)?[smhd]?$ ]]; then
  echo "timeout: invalid time interval '\${1:-}'" >&2
  exit 125
fi
shift
export FAKE_TIMEOUT_EXPIRED="$FAKE/timeout-expired.$$"
"$@"
rc=$?
if [[ -e "$FAKE_TIMEOUT_EXPIRED" ]]; then rm -f "$FAKE_TIMEOUT_EXPIRED"; exit 124; fi
exit "$rc"
`;

/** Stands in for .github/scripts/post-deploy-check.sh; fails with the message in $FAKE/post-deploy.fail. */
const POST_DEPLOY_STUB = `#!/usr/bin/env bash
set -euo pipefail
printf '%s\\n' "$*" >>"$FAKE/post-deploy.log"
[[ -s "$KUBECONFIG" && -s "$TALOSCONFIG" ]] || { echo "post-deploy check FAILED: no credentials" >&2; exit 1; }
if [[ -f "$FAKE/post-deploy.fail" ]]; then echo "post-deploy check FAILED: $(cat "$FAKE/post-deploy.fail")" >&2; exit 1; fi
echo "post-deploy check passed for stack $1"
`;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  /** "name" → { state, detail } from the summary. */
  checks: Map<string, { state: string; detail: string }>;
}

let work: string;
let fake: string;
let bin: string;
let repo: string;
let tmp: string;
let closedPort: number;
const servers: net.Server[] = [];
/** A committed copy of the project's stack files, built once; each test works on its own copy of it. */
let templateRepo: string;

const write = (file: string, text: string, mode = 0o644) => {
  // bin/ links to the real system tools: writing through such a link would overwrite the tool itself.
  if (fs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) {
    throw new Error(`refusing to write through the symlink ${file}`);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text, { mode });
};
const git = (...args: string[]) => gitIn(repo, ...args);
const gitIn = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, {
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

/** A TCP port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** A real listener on one loopback address: a node with an open "SSH" port. */
async function listen(host: string): Promise<number> {
  const s = net.createServer((socket) => socket.destroy());
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, host, resolve));
  return (s.address() as net.AddressInfo).port;
}

/** What `talosctl -n <node> memory` prints (Talos's tab-aligned table, values in MiB). */
function memoryTable(node: string, used: number, total: number): string {
  const free = Math.max(total - used - 320, 0);
  return (
    "NODE        TOTAL   USED   FREE   SHARED   BUFFERS   CACHE   AVAILABLE\n" +
    `${node.padEnd(12)}${String(total).padEnd(8)}${String(used).padEnd(7)}${String(free).padEnd(7)}` +
    `5        20        300     ${total - used}\n`
  );
}
function setMemory(node: string, used: number, total = 3928): void {
  write(path.join(fake, "memory", node), memoryTable(node, used, total));
}

function setOutputs(change: (o: Record<string, unknown>) => void = () => {}): void {
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
  write(path.join(fake, "outputs.json"), JSON.stringify(o, null, 2));
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

beforeAll(() => {
  templateRepo = fs.mkdtempSync(path.join(os.tmpdir(), "acceptance-template-"));
  fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(templateRepo, "Pulumi.yaml"));
  fs.copyFileSync(path.join(ROOT, "Pulumi.home.yaml"), path.join(templateRepo, "Pulumi.home.yaml"));
  gitIn(templateRepo, "init", "-q", "-b", "main");
  gitIn(templateRepo, "add", ".");
  gitIn(templateRepo, "commit", "-q", "-m", "stack");
});

afterAll(() => {
  fs.rmSync(templateRepo, { recursive: true, force: true });
});

beforeEach(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "acceptance-test-"));
  fake = path.join(work, "fake");
  bin = path.join(work, "bin");
  repo = path.join(work, "repo");
  tmp = path.join(work, "tmp");
  fs.mkdirSync(tmp);
  fs.mkdirSync(fake);
  fs.mkdirSync(bin);
  SYSTEM_TOOLS.forEach((tool, i) => fs.symlinkSync(SYSTEM_TOOL_PATHS[i]!, path.join(bin, tool)));
  write(path.join(bin, "timeout"), FAKE_TIMEOUT, 0o755);
  write(path.join(bin, "pulumi"), FAKE_PULUMI, 0o755);
  write(path.join(bin, "talosctl"), FAKE_TALOSCTL, 0o755);
  write(path.join(bin, "kubectl"), FAKE_KUBECTL, 0o755);
  write(path.join(work, "post-deploy-stub.sh"), POST_DEPLOY_STUB, 0o755);

  setOutputs();
  write(path.join(fake, "nodes.json"), nodesJson());
  write(path.join(fake, "health.rc"), "0\n");
  write(path.join(fake, "rollout.rc"), "0\n");
  write(path.join(fake, "run.rc"), "0\n");
  setMemory("127.0.0.1", 612);
  setMemory("127.0.0.2", 401, 1960);
  setMemory("127.0.0.3", 388, 1960);

  fs.cpSync(templateRepo, repo, { recursive: true });

  closedPort = await freePort();
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  fs.rmSync(work, { recursive: true, force: true });
});

/** Runs the script from the temp repo (its stack file is the one checked) and checks no secret got out. */
async function run(env: Record<string, string> = {}, opts: { realPostDeploy?: boolean; path?: string } = {}) {
  const r = await spawnScript(env, opts);
  // Whatever happened, no credential may be printed.
  for (const secret of [KUBE_SECRET, TALOS_SECRET]) {
    expect(r.stdout, "a secret was printed").not.toContain(secret);
    expect(r.stderr, "a secret was printed").not.toContain(secret);
  }
  return r;
}

function spawnScript(env: Record<string, string>, opts: { realPostDeploy?: boolean; path?: string }) {
  return new Promise<Result>((resolve, reject) => {
    const child = spawn(path.join(bin, "bash"), [SCRIPT, "home"], {
      cwd: repo,
      env: {
        PATH: opts.path ?? bin,
        HOME: work,
        TMPDIR: tmp,
        FAKE: fake,
        GIT_CONFIG_GLOBAL: "/dev/null",
        SSH_PORT: String(closedPort),
        SSH_TIMEOUT: "2",
        ROLLOUT_TIMEOUT: "5s",
        CLIENT_TIMEOUT: "5s",
        TALOSCTL_TIMEOUT: "5s",
        HEALTH_TIMEOUT: "1s",
        ...(opts.realPostDeploy ? {} : { POST_DEPLOY_CHECK: path.join(work, "post-deploy-stub.sh") }),
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
        checks.set(m[2], { state: m[1], detail: m[3] });
      }
      resolve({ code: code ?? -1, stdout, stderr, checks });
    });
  });
}

const read = (name: string) => {
  const f = path.join(fake, name);
  return fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "";
};
/** The test namespace was deleted after the workload was applied (not merely cleared before applying). */
function namespaceDeletedAfterApply(): boolean {
  const calls = read("kubectl.log").trim().split("\n");
  const lastApply = calls.map((l) => l.startsWith("apply")).lastIndexOf(true);
  return (
    lastApply >= 0 && calls.slice(lastApply + 1).some((l) => /^delete namespace homelab-acceptance\b/.test(l))
  );
}
const states = (r: Result) => Object.fromEntries([...r.checks].map(([k, v]) => [k, v.state]));
const ALL_OK = { bootstrap: "ok", memory: "ok", workload: "ok", upgrades: "ok", "no-ssh": "ok", git: "ok" };

describe("a healthy cluster that matches git", () => {
  it("passes all six checks, and says so", async () => {
    const r = await run();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(states(r)).toEqual(ALL_OK);
    expect(r.stdout).toContain("ADR 0004 acceptance: 6/6 checks passed");
    // The post-deploy check ran for this stack, with the credentials at hand.
    expect(read("post-deploy.log").trim()).toBe("home");
  });

  it("prints the measured memory of every node with its role", async () => {
    const r = await run();
    const rows = r.stdout.split("\n").filter((l) => /^127\.0\.0\.\d /.test(l));
    expect(rows.map((l) => l.split(/\s+/).slice(0, 4))).toEqual([
      ["127.0.0.1", "controlplane", "612", "3928"],
      ["127.0.0.2", "worker", "401", "1960"],
      ["127.0.0.3", "worker", "388", "1960"],
    ]);
    expect(r.checks.get("memory")?.detail).toContain("612 MiB");
  });

  it("also passes with the real post-deploy check from .github/scripts", async () => {
    const r = await run({}, { realPostDeploy: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(states(r)).toEqual(ALL_OK);
    expect(r.stdout).toContain("post-deploy check passed for stack home");
    expect(read("talosctl.log")).toContain("health");
  });

  it("deploys a workload that fits the namespace's Pod Security level, and probes it through its Service", async () => {
    const r = await run({ ACCEPTANCE_IMAGE: "mirror.lan/agnhost:2.53" });
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(read("applied.yaml")).map((d) => d.toJS());
    const ns = docs.find((d) => d.kind === "Namespace");
    const deploy = docs.find((d) => d.kind === "Deployment");
    const svc = docs.find((d) => d.kind === "Service");
    expect(ns.metadata.name).toBe("homelab-acceptance");
    expect(ns.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    expect(deploy.metadata.namespace).toBe("homelab-acceptance");
    expect(deploy.spec.replicas).toBe(2);
    const pod = deploy.spec.template.spec;
    expect(pod.containers[0].image).toBe("mirror.lan/agnhost:2.53");
    // What "restricted" demands of every pod.
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.seccompProfile.type).toBe("RuntimeDefault");
    expect(pod.containers[0].securityContext.allowPrivilegeEscalation).toBe(false);
    expect(pod.containers[0].securityContext.capabilities.drop).toEqual(["ALL"]);
    // The Service selects the Deployment's pods and the port they listen on.
    expect(deploy.spec.template.metadata.labels).toMatchObject(svc.spec.selector);
    expect(pod.containers[0].ports.map((p: { containerPort: number }) => p.containerPort)).toContain(
      svc.spec.ports[0].targetPort,
    );
    // The rollout was awaited, then a pod of the same image dialled that Service by name.
    expect(read("rollouts.log")).toContain(
      `homelab-acceptance rollout status deployment/${deploy.metadata.name}`,
    );
    const client = read("runs.log");
    expect(client).toMatch(/^homelab-acceptance run /);
    expect(client).toContain("--image=mirror.lan/agnhost:2.53");
    expect(client).toContain(`${svc.metadata.name}.homelab-acceptance.svc:${svc.spec.ports[0].port}`);
    expect(client).toMatch(/--rm\b.*--restart=Never|--restart=Never.*--rm\b/);
  });

  it("deletes the test namespace on exit, unless KEEP_WORKLOAD=1", async () => {
    await run();
    expect(namespaceDeletedAfterApply()).toBe(true);
    fs.rmSync(path.join(fake, "kubectl.log"));
    const kept = await run({ KEEP_WORKLOAD: "1" });
    expect(kept.code).toBe(0);
    expect(kept.stdout).toContain("namespace homelab-acceptance kept");
    expect(namespaceDeletedAfterApply()).toBe(false);
  });

  it("reads the versions from Pulumi.yaml's defaults when the stack file does not set them", async () => {
    const file = path.join(repo, "Pulumi.home.yaml");
    const text = fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => !/homelab:(talosVersion|kubernetesVersion):/.test(l))
      .join("\n");
    fs.writeFileSync(file, text);
    git("commit", "-q", "-am", "use the defaults");
    const defaults = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")).config;
    setOutputs((o) => {
      o.talosVersion = defaults.talosVersion.default;
      o.kubernetesVersion = defaults.kubernetesVersion.default;
      o.installerImage = `ghcr.io/siderolabs/installer:${defaults.talosVersion.default}`;
    });
    const r = await run();
    expect(r.checks.get("upgrades")).toMatchObject({ state: "ok" });
    expect(r.checks.get("upgrades")?.detail).toContain(String(defaults.talosVersion.default));
  });
});

describe("each failure is reported by name, and the other checks still run", () => {
  it("a node over the memory limit fails the memory check, naming that node", async () => {
    setMemory("127.0.0.3", 1100, 1960);
    const r = await run();
    expect(r.code).toBe(1);
    expect(states(r)).toEqual({ ...ALL_OK, memory: "FAIL" });
    expect(r.checks.get("memory")?.detail).toContain("127.0.0.3");
    expect(r.checks.get("memory")?.detail).not.toContain("127.0.0.1");
    expect(r.stdout).toContain("ADR 0004 acceptance: 5/6 checks passed");
  });

  it("the limit is exclusive and set by MAX_NODE_MEMORY_MIB", async () => {
    setMemory("127.0.0.2", 700, 1960);
    setMemory("127.0.0.3", 699, 1960);
    const r = await run({ MAX_NODE_MEMORY_MIB: "700" });
    expect(r.checks.get("memory")?.state).toBe("FAIL");
    expect(r.checks.get("memory")?.detail).toContain("127.0.0.2");
    expect(r.checks.get("memory")?.detail).not.toContain("127.0.0.3");
    const higher = await run({ MAX_NODE_MEMORY_MIB: "701" });
    expect(higher.checks.get("memory")?.state).toBe("ok");
  });

  it("a node that does not answer talosctl memory fails the memory check", async () => {
    fs.rmSync(path.join(fake, "memory", "127.0.0.2"));
    const r = await run();
    expect(r.checks.get("memory")?.state).toBe("FAIL");
    expect(r.checks.get("memory")?.detail).toContain("127.0.0.2");
  });

  it("a node that hangs fails the memory check after TALOSCTL_TIMEOUT, and the run goes on", async () => {
    write(path.join(fake, "memory", "127.0.0.1"), "HANG");
    const r = await run({ TALOSCTL_TIMEOUT: "1s" });
    expect(states(r)).toEqual({ ...ALL_OK, memory: "FAIL" });
    expect(r.checks.get("memory")?.detail).toContain("127.0.0.1: no reading (no answer within 1s)");
    expect(r.checks.get("memory")?.detail).not.toMatch(/127\.0\.0\.[23]/);
    // Every talosctl call was bounded by TALOSCTL_TIMEOUT, the hanging one included.
    const bounded = read("timeout.log")
      .split("\n")
      .filter((l) => / talosctl /.test(l));
    expect(bounded).toEqual(NODES.map((node) => `1s talosctl -n ${node} memory`));
  });

  it("an open port 22 on a node fails no-ssh, naming the node; closed everywhere passes", async () => {
    const port = await listen("127.0.0.2");
    const r = await run({ SSH_PORT: String(port) });
    expect(r.code).toBe(1);
    expect(states(r)).toEqual({ ...ALL_OK, "no-ssh": "FAIL" });
    expect(r.checks.get("no-ssh")?.detail).toContain("127.0.0.2");
    expect(r.checks.get("no-ssh")?.detail).not.toMatch(/127\.0\.0\.[13]/);
    // Says what is checked: Talos has no shell by design, this is about the network surface.
    expect(r.stdout).toMatch(/no shell/i);
    expect(r.stdout).toMatch(/network surface/i);
  });

  it("an uncommitted change to the stack file fails the git check", async () => {
    fs.appendFileSync(path.join(repo, "Pulumi.home.yaml"), "  homelab:resetOnDestroy: true\n");
    const r = await run();
    expect(r.code).toBe(1);
    expect(states(r)).toEqual({ ...ALL_OK, git: "FAIL" });
    expect(r.checks.get("git")?.detail).toMatch(/Pulumi\.home\.yaml has uncommitted changes/);
  });

  it("a stack file git does not track fails the git check, and no committed versions can be compared", async () => {
    git("rm", "-q", "--cached", "Pulumi.home.yaml");
    git("commit", "-q", "-m", "untrack");
    const r = await run();
    expect(r.code).toBe(1);
    expect(states(r)).toEqual({ ...ALL_OK, git: "FAIL", upgrades: "FAIL" });
    expect(r.checks.get("git")?.detail).toContain("not tracked");
    expect(r.checks.get("upgrades")?.detail).toContain("no committed Pulumi.home.yaml");
  });

  it("deployed versions that differ from the committed stack file fail the upgrades check", async () => {
    setOutputs((o) => {
      o.kubernetesVersion = "1.35.2";
    });
    const r = await run();
    expect(r.checks.get("upgrades")?.state).toBe("FAIL");
    expect(r.checks.get("upgrades")?.detail).toContain("1.35.2");
    expect(r.checks.get("git")?.state).toBe("ok");
  });

  it("an installer image for another Talos version fails the upgrades check", async () => {
    setOutputs((o) => {
      o.installerImage = "ghcr.io/siderolabs/installer:v1.12.4";
    });
    const r = await run();
    expect(r.checks.get("upgrades")?.state).toBe("FAIL");
    expect(r.checks.get("upgrades")?.detail).toContain("v1.12.4");
  });

  it("a workload that does not roll out fails the workload check, and the namespace is still deleted", async () => {
    write(path.join(fake, "rollout.rc"), "1\n");
    const r = await run();
    expect(r.code).toBe(1);
    expect(states(r)).toEqual({ ...ALL_OK, workload: "FAIL" });
    expect(r.checks.get("workload")?.detail).toMatch(/did not roll out/);
    expect(read("runs.log")).toBe("");
    expect(namespaceDeletedAfterApply()).toBe(true);
  });

  it("a pod that cannot reach the Service fails the workload check", async () => {
    write(path.join(fake, "run.rc"), "1\n");
    const r = await run();
    expect(states(r)).toEqual({ ...ALL_OK, workload: "FAIL" });
    expect(r.checks.get("workload")?.detail).toMatch(/could not connect to Service/);
  });

  it("a failed post-deploy check fails bootstrap with its message, and leaves the running versions unproven", async () => {
    write(path.join(fake, "post-deploy.fail"), "talosctl health reports the cluster unhealthy");
    const r = await run();
    expect(r.code).toBe(1);
    expect(states(r)).toEqual({ ...ALL_OK, bootstrap: "FAIL", upgrades: "FAIL" });
    expect(r.checks.get("bootstrap")?.detail).toBe("talosctl health reports the cluster unhealthy");
    expect(r.checks.get("upgrades")?.detail).toMatch(/unverified/);
  });

  it("the real post-deploy check's failure is reported too", async () => {
    write(path.join(fake, "health.rc"), "1\n");
    const r = await run({}, { realPostDeploy: true });
    expect(r.code).toBe(1);
    expect(r.checks.get("bootstrap")).toEqual({
      state: "FAIL",
      detail: "talosctl health reports the cluster unhealthy",
    });
    expect(r.checks.size).toBe(6);
  });
});

describe("credentials", () => {
  it("are handed to every tool in a private temp dir that is gone afterwards, on success and on failure", async () => {
    for (const failing of [false, true]) {
      fs.rmSync(path.join(fake, "credential-paths.log"), { force: true });
      write(path.join(fake, "rollout.rc"), failing ? "1\n" : "0\n");
      const r = await run({}, { realPostDeploy: true });
      expect(r.code).toBe(failing ? 1 : 0);
      const paths = [...new Set(read("credential-paths.log").trim().split("\n"))];
      // kubeconfig and talosconfig, from this script and from the post-deploy check's own dir
      expect(paths.length).toBeGreaterThanOrEqual(2);
      for (const p of paths) {
        expect(p.startsWith(tmp + path.sep)).toBe(true);
        expect(fs.existsSync(path.dirname(p))).toBe(false);
      }
      expect(fs.readdirSync(tmp)).toEqual([]);
    }
  });

  it("are never printed, even when every check fails", async () => {
    write(path.join(fake, "post-deploy.fail"), "nodes not Ready: worker-1");
    write(path.join(fake, "rollout.rc"), "1\n");
    fs.rmSync(path.join(fake, "memory"), { recursive: true });
    fs.appendFileSync(path.join(repo, "Pulumi.home.yaml"), "# edited\n");
    setOutputs((o) => {
      o.talosVersion = "v1.12.0";
    });
    const port = await listen("127.0.0.1");
    const r = await run({ SSH_PORT: String(port) });
    expect(r.code).toBe(1);
    expect([...r.checks.values()].every((c) => c.state === "FAIL")).toBe(true);
    expect(r.stdout).toContain("ADR 0004 acceptance: 0/6 checks passed");
    // (run() asserts the secrets are absent from stdout and stderr)
  });
});

describe("preconditions", () => {
  it("a missing tool stops it with exit 2 and how to install each missing one", async () => {
    const partial = path.join(work, "partial-bin");
    fs.mkdirSync(partial);
    for (const entry of fs.readdirSync(bin)) {
      if (entry !== "talosctl" && entry !== "kubectl")
        fs.symlinkSync(path.join(bin, entry), path.join(partial, entry));
    }
    const r = await run({}, { path: partial });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing tool: talosctl .*talos\.dev/);
    expect(r.stderr).toMatch(/missing tool: kubectl .*kubernetes\.io/);
    expect(r.stderr).not.toMatch(/missing tool: (pulumi|jq)/);
    expect(read("pulumi.log")).toBe("");
  });

  it("outputs that cannot be read stop it before any check, with a non-zero exit", async () => {
    write(path.join(fake, "pulumi.fail"), "");
    const r = await run();
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("cannot read the outputs of stack home");
    expect(r.checks.size).toBe(0);
    expect(read("kubectl.log") + read("talosctl.log") + read("post-deploy.log")).toBe("");
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it("a stack without credentials in its outputs stops it too", async () => {
    setOutputs((o) => {
      delete o.kubeconfig;
    });
    const r = await run();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/has 'pulumi up' completed/);
    expect(r.checks.size).toBe(0);
  });
});
