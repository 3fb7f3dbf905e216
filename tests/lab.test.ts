/**
 * `npm run lab` (scripts/lab.sh), run for real against the fake talosctl of tests/fake-talosctl-lab, which
 * follows talosctl 1.13.9's real flags (captured from the real binary: help-*.txt, error-*.txt). Each test has
 * its own temp directory: the lab's home, the project folder with the stack files, a pretend KVM device, UEFI
 * firmware, QEMU binary and /proc/meminfo. No real talosctl, QEMU or network is involved.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseClusterConfig } from "../components/config/schema";
import { stackConfig } from "../scripts/lab-stack";

const REPO = path.resolve(__dirname, "..");
const FAKE = path.join(__dirname, "fake-talosctl-lab");
const LAB = path.join(REPO, "scripts", "lab.sh");

let tmp: string;
let project: string;
let labHome: string;
let log: string;
let env: NodeJS.ProcessEnv;

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "lab-test-"));
  project = path.join(tmp, "project");
  labHome = path.join(tmp, "lab-home");
  log = path.join(tmp, "talosctl.log");
  const bin = path.join(tmp, "bin");
  const uefi = path.join(tmp, "uefi");
  for (const d of [project, bin, uefi]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(bin, "qemu-system-x86_64"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  fs.writeFileSync(path.join(uefi, "OVMF_CODE_4M.fd"), "");
  fs.writeFileSync(path.join(tmp, "kvm"), "");
  fs.writeFileSync(path.join(tmp, "meminfo"), "MemTotal: 16000000 kB\nMemAvailable: 32000000 kB\n");
  fs.copyFileSync(path.join(REPO, "Pulumi.home.yaml"), path.join(project, "Pulumi.home.yaml"));
  env = {
    PATH: `${FAKE}:${bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: tmp,
    LAB_HOME: labHome,
    LAB_PROJECT_DIR: project,
    LAB_KVM_DEVICE: path.join(tmp, "kvm"),
    LAB_UEFI_DIRS: uefi,
    LAB_MEMINFO: path.join(tmp, "meminfo"),
    LAB_DISK_PER_NODE_GIB: "0",
    FAKE_TALOSCTL_LOG: log,
  };
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function lab(args: string[], extra: NodeJS.ProcessEnv = {}) {
  const r = spawnSync("bash", [LAB, ...args], {
    env: { ...env, ...extra },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
/** The talosctl calls, in order. */
function calls(): { argv: string[]; cwd: string; talosHome: string | null }[] {
  if (!fs.existsSync(log)) return [];
  return fs
    .readFileSync(log, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { argv: string[]; cwd: string; talosHome: string | null });
}
const creates = () => calls().filter((c) => c.argv[1] === "create");
const stackFile = () => fs.readFileSync(path.join(project, "Pulumi.lab.yaml"), "utf8");
const nodes = () =>
  (stackConfig(stackFile()).nodes as { name: string; address: string; role: string }[]).map(
    (n) => `${n.name} ${n.role} ${n.address}`,
  );
/** Runs the fake directly, the way the capture script ran the real one. */
function fake(args: string[]) {
  const talosHome = path.join(tmp, "talos-home");
  const r = spawnSync(path.join(FAKE, "talosctl"), args, {
    env: { ...env, TALOS_HOME: talosHome },
    encoding: "utf8",
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, talosHome };
}
/** A captured fixture's body (after its header) and the exit status its header records. */
function captured(file: string, talosHome: string) {
  const text = fs.readFileSync(path.join(FAKE, file), "utf8");
  const status = /Exit status: (\d+)/.exec(text)?.[1];
  const body = text
    .slice(text.indexOf("\n", text.indexOf("# ------")) + 1)
    .replaceAll("<TALOS_HOME>", talosHome);
  return { body, status: status === undefined ? undefined : Number(status) };
}

describe("the fake talosctl follows the real one's command line", () => {
  it.each([
    ["help-cluster-create-qemu.txt", ["cluster", "create", "qemu", "--help"]],
    ["help-cluster-destroy.txt", ["cluster", "destroy", "--help"]],
  ])("%s: --help prints the real text", (file, args) => {
    const r = fake(args);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(captured(file, r.talosHome).body);
  });

  it.each([
    ["error-unknown-flag.txt", ["cluster", "create", "qemu", "--bogus", "1"]],
    ["error-bad-int.txt", ["cluster", "create", "qemu", "--workers=x"]],
    ["error-missing-value.txt", ["cluster", "create", "qemu", "--name"]],
    ["error-unknown-flag-destroy.txt", ["cluster", "destroy", "--bogus"]],
  ])("%s: a bad command line fails with the real text and status", (file, args) => {
    const r = fake(args);
    const real = captured(file, r.talosHome);
    expect([r.code, r.stderr]).toEqual([real.status, real.body]);
  });
});

describe("npm run lab (create)", () => {
  it("creates the lab in maintenance mode with talosctl's real flags and writes a stack the program accepts", () => {
    const r = lab([]);
    expect(r.code).toBe(0);
    const [create, ...more] = creates();
    expect(more).toEqual([]);
    // Every flag is one the real talosctl 1.13.9 lists (the fake refuses any other), with these values:
    expect(create?.argv).toEqual([
      "cluster", "create", "qemu", "--name", "homelab-lab", "--state", path.join(labHome, "clusters"),
      "--presets", "iso,maintenance", "--talos-version", "v1.13.9",
      "--controlplanes", "1", "--workers", "1", "--cidr", "10.5.0.0/24",
      "--cpus-controlplanes", "2", "--cpus-workers", "2",
      "--memory-controlplanes", "2048MiB", "--memory-workers", "2048MiB",
      "--disks", "virtio:10GiB", "--talosconfig-destination", path.join(create?.cwd ?? "", "talosconfig"),
    ]); // prettier-ignore
    // talosctl's cache and state stay in the lab's home, not ~/.talos ...
    expect(create?.talosHome).toBe(path.join(labHome, "talos-home"));
    expect(fs.existsSync(path.join(tmp, ".talos"))).toBe(false);
    // ... and the configs it wrote for a cluster it never configures (keys inside) are gone.
    expect(fs.existsSync(create?.cwd ?? "/")).toBe(false);
    expect(nodes()).toEqual([
      "homelab-lab-controlplane-1 controlplane 10.5.0.2",
      "homelab-lab-worker-1 worker 10.5.0.3",
    ]);
    const config = stackConfig(stackFile());
    expect(parseClusterConfig(config).report).toBeUndefined();
    const home = stackConfig(fs.readFileSync(path.join(project, "Pulumi.home.yaml"), "utf8"));
    expect(config).toMatchObject({
      talosVersion: home.talosVersion,
      kubernetesVersion: home.kubernetesVersion,
      cni: home.cni,
    });
    expect(r.stdout).toContain("STACK=lab npm run up");
  });

  it("takes the machine counts, network and versions from its flags and leaves spare workers out of the stack", () => {
    const from = path.join(project, "Pulumi.other.yaml");
    fs.writeFileSync(from, "config:\n  homelab:talosVersion: v1.13.4\n  homelab:cni: flannel\n");
    const r = lab(
      [
        "create",
        "--controlplanes",
        "3",
        "--workers=2",
        "--spare-workers",
        "1",
        "--cidr",
        "10.7.0.0/24",
      ].concat([
        "--from",
        from,
        "--kubernetes-version",
        "1.35.2",
        "--memory",
        "3072",
        "--disk",
        "20",
        "--name",
        "try",
      ]),
    );
    expect(r.code).toBe(0);
    const argv = creates()[0]?.argv.join(" ");
    expect(argv).toContain("--name try ");
    expect(argv).toContain("--talos-version v1.13.4 --controlplanes 3 --workers 3 --cidr 10.7.0.0/24");
    expect(argv).toContain("--memory-workers 3072MiB --disks virtio:20GiB");
    expect(nodes()).toEqual([
      "try-controlplane-1 controlplane 10.7.0.2",
      "try-controlplane-2 controlplane 10.7.0.3",
      "try-controlplane-3 controlplane 10.7.0.4",
      "try-worker-1 worker 10.7.0.5",
      "try-worker-2 worker 10.7.0.6",
    ]);
    expect(stackConfig(stackFile())).toMatchObject({
      clusterName: "try",
      talosVersion: "v1.13.4",
      kubernetesVersion: "1.35.2",
      cni: "flannel",
    });
    expect(stackFile()).toContain("not listed yet: try-worker-3 10.7.0.7");
  });

  it("reports every missing prerequisite at once, with its fix, and creates nothing", () => {
    const r = lab(["--workers", "2", "--memory", "16384"], {
      FAKE_TALOSCTL_VERSION: "v1.12.5",
      LAB_KVM_DEVICE: path.join(tmp, "no-kvm"),
      LAB_UEFI_DIRS: path.join(tmp, "nowhere"),
      PATH: `${FAKE}:${path.dirname(process.execPath)}:/usr/bin:/bin`, // no qemu-system-x86_64
      LAB_DISK_PER_NODE_GIB: "100000000",
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("talosctl is v1.12.5, the lab boots Talos v1.13.9: install talosctl v1.13.x");
    expect(r.stderr).toMatch(/no-kvm not found: KVM is off\. Enable virtualization/);
    expect(r.stderr).toMatch(/qemu-system-x86_64 not found: install QEMU/);
    expect(r.stderr).toMatch(/no UEFI firmware for QEMU .*apt-get install ovmf/);
    expect(r.stderr).toMatch(/3 machine\(s\) x 16384 MiB = 49152 MiB of memory needed, 31250 MiB available/);
    expect(r.stderr).toMatch(/GiB free under .*set LAB_HOME to a bigger disk/);
    expect(creates()).toEqual([]);
    expect(fs.existsSync(path.join(project, "Pulumi.lab.yaml"))).toBe(false);
  });

  it("refuses a second lab of the same name, and a stack that still holds an earlier cluster", () => {
    expect(lab([]).code).toBe(0);
    const again = lab([]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("a lab named homelab-lab already exists");
    expect(again.stderr).toContain("npm run lab -- destroy --name homelab-lab");
    const old = path.join(project, ".pulumi-state", ".pulumi", "stacks", "homelab", "lab.json");
    fs.mkdirSync(path.dirname(old), { recursive: true });
    fs.writeFileSync(old, "{}");
    const stale = lab(["--name", "other", "--cidr", "10.6.0.0/24"]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain("the stack 'lab' still holds an earlier cluster");
    expect(stale.stderr).toContain("pulumi stack rm lab --force");
    expect(creates()).toHaveLength(1);
  });

  it("refuses an unknown flag or a bad value before running anything", () => {
    for (const args of [
      ["--bogus", "1"],
      ["--workers", "two"],
      ["destroy", "--workers", "1"],
      ["--cidr", "fd00::/64"],
    ]) {
      const r = lab(args);
      expect([args, r.code]).toEqual([args, args[0] === "--workers" ? 1 : 2]);
      expect(r.stderr).toMatch(/^lab: /);
    }
    expect(calls().filter((c) => c.argv[0] === "cluster")).toEqual([]);
  });

  it("as an ordinary user, runs talosctl, and only talosctl, through sudo", () => {
    // A stand-in sudo that logs and runs the command as the same user: the fake talosctl then refuses, as
    // the real one does without root (qemu/preflight.go, verifyRoot).
    const sudoLog = path.join(tmp, "sudo.log");
    fs.writeFileSync(path.join(tmp, "bin", "sudo"), `#!/bin/sh\necho "$*" >>${sudoLog}\nexec "$@"\n`, {
      mode: 0o755,
    });
    spawnSync("chmod", ["-R", "a+rwX", tmp]);
    const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "bash", LAB], {
      env,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("error: please run as root user (CNI, qemu hvf requirement)");
    expect(r.stderr).toContain("talosctl cluster create failed");
    const viaSudo = fs.readFileSync(sudoLog, "utf8").trim().split("\n");
    expect(viaSudo[0]).toMatch(
      new RegExp(
        `^env TALOS_HOME=${labHome}/talos-home ${FAKE}/talosctl cluster create qemu --name homelab-lab `,
      ),
    );
    expect(
      viaSudo.slice(1).every((line) => line.startsWith(`env TALOS_HOME=${labHome}/talos-home rm -rf `)),
    ).toBe(true);
    expect(calls().map((c) => c.argv.slice(0, 2).join(" "))).toEqual(["version --client", "cluster create"]);
  });

  it("leaves no stack file and says how to clean up when talosctl fails", () => {
    const r = lab([], { FAKE_TALOSCTL_FAIL_CREATE: "1" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unable to provision CNI network");
    expect(r.stderr).toContain("npm run lab -- destroy --name homelab-lab");
    expect(fs.existsSync(path.join(project, "Pulumi.lab.yaml"))).toBe(false);
    expect(fs.existsSync(creates()[0]?.cwd ?? "/")).toBe(false);
  });
});

describe("npm run lab -- stack / destroy", () => {
  it("rewrites the stack for the running lab: more workers, new versions, the encryption salt kept", () => {
    expect(lab(["--spare-workers", "1"]).code).toBe(0);
    fs.writeFileSync(
      path.join(project, "Pulumi.lab.yaml"),
      `encryptionsalt: v1:c2FsdA==:v1:abc\n${stackFile()}`,
    );
    const r = lab(["stack", "--workers", "2", "--talos-version", "v1.13.8", "--reset-on-destroy", "true"]);
    expect(r.code).toBe(0);
    const parsed = YAML.parse(stackFile()) as { encryptionsalt: string };
    expect(parsed.encryptionsalt).toBe("v1:c2FsdA==:v1:abc");
    expect(nodes()).toHaveLength(3);
    expect(stackConfig(stackFile())).toMatchObject({ talosVersion: "v1.13.8", resetOnDestroy: true });
    // What is not given keeps its value.
    expect(lab(["stack", "--workers", "1"]).code).toBe(0);
    expect(stackConfig(stackFile())).toMatchObject({ talosVersion: "v1.13.8", resetOnDestroy: true });
    expect(nodes()).toHaveLength(2);
    const tooMany = lab(["stack", "--workers", "3"]);
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toContain("--workers 3: the lab has 2 worker VM(s)");
    expect(creates()).toHaveLength(1);
  });

  it("deletes the lab through talosctl (logs kept on request), once, and keeps the stack file", () => {
    expect(lab(["--name", "gone"]).code).toBe(0);
    const logs = path.join(tmp, "out", "lab-logs.tar.gz");
    const r = lab(["destroy", "--save-logs", logs]);
    expect(r.code).toBe(0);
    expect(calls().at(-1)?.argv).toEqual([
      "cluster", "destroy", "--name", "gone", "--state", path.join(labHome, "clusters"),
      "--save-cluster-logs-archive-path", logs,
    ]); // prettier-ignore
    expect(fs.readFileSync(logs, "utf8")).toContain("fake console of gone-controlplane-1");
    expect(fs.existsSync(path.join(labHome, "clusters", "gone"))).toBe(false);
    expect(r.stdout).toContain("pulumi stack rm lab --force");
    expect(fs.existsSync(path.join(project, "Pulumi.lab.yaml"))).toBe(true);
    const again = lab(["destroy"]);
    expect([again.code, again.stdout]).toEqual([0, expect.stringContaining("nothing to destroy")]);
    expect(calls().filter((c) => c.argv[1] === "destroy")).toHaveLength(1);
  });
});
