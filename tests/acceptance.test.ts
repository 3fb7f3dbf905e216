/**
 * scripts/acceptance.sh (ADR 0004's confirmation list, run against a real cluster) executed for real with bash,
 * against the fakes of ./acceptance-scenario.ts: fake `pulumi`, `talosctl`, `kubectl` and `timeout` in a temp
 * dir, a temp git repo holding a copy of the project's stack file, loopback addresses as nodes. Each test gets
 * its own Scenario (temp dir, fakes' state, sockets), so the tests run concurrently; none waits on the clock.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, test } from "vitest";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import {
  createTemplateRepo,
  KUBE_SECRET,
  NODES,
  Scenario,
  TALOS_SECRET,
  type Result,
  type RunOptions,
} from "./acceptance-scenario";

const ROOT = path.join(__dirname, "..");
let templateRepo: string;
beforeAll(() => {
  templateRepo = createTemplateRepo();
});
afterAll(() => {
  fs.rmSync(templateRepo, { recursive: true, force: true });
});

const it = test.extend<{ t: Scenario }>({
  // eslint-disable-next-line no-empty-pattern -- vitest reads a fixture's dependencies from this pattern
  t: async ({}, use) => {
    const scenario = await Scenario.create(templateRepo);
    try {
      await use(scenario);
    } finally {
      await scenario.dispose();
    }
  },
});

/** Runs the script; whatever happened, no credential may have been printed. */
async function run(t: Scenario, env: Record<string, string> = {}, opts: RunOptions = {}): Promise<Result> {
  const r = await t.run(env, opts);
  for (const secret of [KUBE_SECRET, TALOS_SECRET]) {
    if (r.stdout.includes(secret) || r.stderr.includes(secret)) {
      throw new Error(`a secret was printed:\n${r.stdout}\n${r.stderr}`);
    }
  }
  return r;
}

const states = (r: Result) => Object.fromEntries([...r.checks].map(([k, v]) => [k, v.state]));
const ALL_OK = { bootstrap: "ok", memory: "ok", workload: "ok", upgrades: "ok", "no-ssh": "ok", git: "ok" };

describe.concurrent("a healthy cluster that matches git", () => {
  it("passes all six checks, and says so", async ({ t, expect }) => {
    const r = await run(t);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(states(r)).toEqual(ALL_OK);
    expect(r.stdout).toContain("ADR 0004 acceptance: 6/6 checks passed");
    // The post-deploy check ran for this stack, with the credentials at hand.
    expect(t.read("post-deploy.log").trim()).toBe("home");
  });

  it("prints the measured memory of every node with its role", async ({ t, expect }) => {
    const r = await run(t);
    const rows = r.stdout.split("\n").filter((l) => /^127\.0\.0\.\d /.test(l));
    expect(rows.map((l) => l.split(/\s+/).slice(0, 4))).toEqual([
      ["127.0.0.1", "controlplane", "612", "3928"],
      ["127.0.0.2", "worker", "401", "1960"],
      ["127.0.0.3", "worker", "388", "1960"],
    ]);
    expect(r.checks.get("memory")?.detail).toContain("612 MiB");
  });

  it("also passes with the real post-deploy check from .github/scripts", async ({ t, expect }) => {
    const r = await run(t, {}, { realPostDeploy: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(states(r)).toEqual(ALL_OK);
    expect(r.stdout).toContain("post-deploy check passed for stack home");
    expect(t.read("talosctl.log")).toContain("health");
  });

  it("deploys a workload that fits the namespace's Pod Security level, and probes it through its Service", async ({
    t,
    expect,
  }) => {
    const r = await run(t, { ACCEPTANCE_IMAGE: "mirror.lan/agnhost:2.53" });
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(t.read("applied.yaml")).map((d) => d.toJS());
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
    expect(t.read("rollouts.log")).toContain(
      `homelab-acceptance rollout status deployment/${deploy.metadata.name}`,
    );
    const client = t.read("runs.log");
    expect(client).toMatch(/^homelab-acceptance run /);
    expect(client).toContain("--image=mirror.lan/agnhost:2.53");
    expect(client).toContain(`${svc.metadata.name}.homelab-acceptance.svc:${svc.spec.ports[0].port}`);
    expect(client).toMatch(/--rm\b.*--restart=Never|--restart=Never.*--rm\b/);
  });

  it("deletes the test namespace on exit, unless KEEP_WORKLOAD=1", async ({ t, expect }) => {
    await run(t);
    expect(t.namespaceDeletedAfterApply()).toBe(true);
    fs.rmSync(path.join(t.fake, "kubectl.log"));
    const kept = await run(t, { KEEP_WORKLOAD: "1" });
    expect(kept.code).toBe(0);
    expect(kept.stdout).toContain("namespace homelab-acceptance kept");
    expect(t.namespaceDeletedAfterApply()).toBe(false);
  });

  it("reads the versions from Pulumi.yaml's defaults when the stack file does not set them", async ({
    t,
    expect,
  }) => {
    const file = path.join(t.repo, "Pulumi.home.yaml");
    const text = fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => !/homelab:(talosVersion|kubernetesVersion):/.test(l))
      .join("\n");
    fs.writeFileSync(file, text);
    t.git("commit", "-q", "-am", "use the defaults");
    const defaults = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")).config;
    t.setOutputs((o) => {
      o.talosVersion = defaults.talosVersion.default;
      o.kubernetesVersion = defaults.kubernetesVersion.default;
      o.installerImage = `ghcr.io/siderolabs/installer:${defaults.talosVersion.default}`;
    });
    const r = await run(t);
    expect(r.checks.get("upgrades")).toMatchObject({ state: "ok" });
    expect(r.checks.get("upgrades")?.detail).toContain(String(defaults.talosVersion.default));
  });
});

describe.concurrent("each failure is reported by name, and the other checks still run", () => {
  it("a node over the memory limit fails the memory check, naming that node", async ({ t, expect }) => {
    t.setMemory("127.0.0.3", 1100, 1960);
    const r = await run(t);
    expect(r.code).toBe(1);
    expect(states(r)).toEqual({ ...ALL_OK, memory: "FAIL" });
    expect(r.checks.get("memory")?.detail).toContain("127.0.0.3");
    expect(r.checks.get("memory")?.detail).not.toContain("127.0.0.1");
    expect(r.stdout).toContain("ADR 0004 acceptance: 5/6 checks passed");
  });

  it("the limit is exclusive and set by MAX_NODE_MEMORY_MIB", async ({ t, expect }) => {
    t.setMemory("127.0.0.2", 700, 1960);
    t.setMemory("127.0.0.3", 699, 1960);
    const r = await run(t, { MAX_NODE_MEMORY_MIB: "700" });
    expect(r.checks.get("memory")?.state).toBe("FAIL");
    expect(r.checks.get("memory")?.detail).toContain("127.0.0.2");
    expect(r.checks.get("memory")?.detail).not.toContain("127.0.0.3");
    const higher = await run(t, { MAX_NODE_MEMORY_MIB: "701" });
    expect(higher.checks.get("memory")?.state).toBe("ok");
  });

  it("a node that does not answer talosctl memory fails the memory check", async ({ t, expect }) => {
    fs.rmSync(path.join(t.fake, "memory", "127.0.0.2"));
    const r = await run(t);
    expect(r.checks.get("memory")?.state).toBe("FAIL");
    expect(r.checks.get("memory")?.detail).toContain("127.0.0.2");
  });

  it("a node that hangs fails the memory check after TALOSCTL_TIMEOUT, and the run goes on", async ({
    t,
    expect,
  }) => {
    t.writeFake(path.join("memory", "127.0.0.1"), "HANG");
    const r = await run(t, { TALOSCTL_TIMEOUT: "1s" });
    expect(states(r)).toEqual({ ...ALL_OK, memory: "FAIL" });
    expect(r.checks.get("memory")?.detail).toContain("127.0.0.1: no reading (no answer within 1s)");
    expect(r.checks.get("memory")?.detail).not.toMatch(/127\.0\.0\.[23]/);
    // Every talosctl call was bounded by TALOSCTL_TIMEOUT, the hanging one included.
    const bounded = t
      .read("timeout.log")
      .split("\n")
      .filter((l) => / talosctl /.test(l));
    expect(bounded).toEqual(NODES.map((node) => `1s talosctl -n ${node} memory`));
  });

  it("an open port 22 on a node fails no-ssh, naming the node; closed everywhere passes", async ({
    t,
    expect,
  }) => {
    const port = await t.listen("127.0.0.2");
    const r = await run(t, { SSH_PORT: String(port) });
    expect(r.code).toBe(1);
    expect(states(r)).toEqual({ ...ALL_OK, "no-ssh": "FAIL" });
    expect(r.checks.get("no-ssh")?.detail).toContain("127.0.0.2");
    expect(r.checks.get("no-ssh")?.detail).not.toMatch(/127\.0\.0\.[13]/);
    // Says what is checked: Talos has no shell by design, this is about the network surface.
    expect(r.stdout).toMatch(/no shell/i);
    expect(r.stdout).toMatch(/network surface/i);
  });

  it("an uncommitted change to the stack file fails the git check", async ({ t, expect }) => {
    fs.appendFileSync(path.join(t.repo, "Pulumi.home.yaml"), "  homelab:resetOnDestroy: true\n");
    const r = await run(t);
    expect(r.code).toBe(1);
    expect(states(r)).toEqual({ ...ALL_OK, git: "FAIL" });
    expect(r.checks.get("git")?.detail).toMatch(/Pulumi\.home\.yaml has uncommitted changes/);
  });

  it("a stack file git does not track fails the git check, and no committed versions can be compared", async ({
    t,
    expect,
  }) => {
    t.git("rm", "-q", "--cached", "Pulumi.home.yaml");
    t.git("commit", "-q", "-m", "untrack");
    const r = await run(t);
    expect(r.code).toBe(1);
    expect(states(r)).toEqual({ ...ALL_OK, git: "FAIL", upgrades: "FAIL" });
    expect(r.checks.get("git")?.detail).toContain("not tracked");
    expect(r.checks.get("upgrades")?.detail).toContain("no committed Pulumi.home.yaml");
  });

  it("deployed versions that differ from the committed stack file fail the upgrades check", async ({
    t,
    expect,
  }) => {
    t.setOutputs((o) => {
      o.kubernetesVersion = "1.35.2";
    });
    const r = await run(t);
    expect(r.checks.get("upgrades")?.state).toBe("FAIL");
    expect(r.checks.get("upgrades")?.detail).toContain("1.35.2");
    expect(r.checks.get("git")?.state).toBe("ok");
  });

  it("an installer image for another Talos version fails the upgrades check", async ({ t, expect }) => {
    t.setOutputs((o) => {
      o.installerImage = "ghcr.io/siderolabs/installer:v1.12.4";
    });
    const r = await run(t);
    expect(r.checks.get("upgrades")?.state).toBe("FAIL");
    expect(r.checks.get("upgrades")?.detail).toContain("v1.12.4");
  });

  it("a workload that does not roll out fails the workload check, and the namespace is still deleted", async ({
    t,
    expect,
  }) => {
    t.writeFake("rollout.rc", "1\n");
    const r = await run(t);
    expect(r.code).toBe(1);
    expect(states(r)).toEqual({ ...ALL_OK, workload: "FAIL" });
    expect(r.checks.get("workload")?.detail).toMatch(/did not roll out/);
    expect(t.read("runs.log")).toBe("");
    expect(t.namespaceDeletedAfterApply()).toBe(true);
  });

  it("a pod that cannot reach the Service fails the workload check", async ({ t, expect }) => {
    t.writeFake("run.rc", "1\n");
    const r = await run(t);
    expect(states(r)).toEqual({ ...ALL_OK, workload: "FAIL" });
    expect(r.checks.get("workload")?.detail).toMatch(/could not connect to Service/);
  });

  it("a failed post-deploy check fails bootstrap with its message, and leaves the running versions unproven", async ({
    t,
    expect,
  }) => {
    t.writeFake("post-deploy.fail", "talosctl health reports the cluster unhealthy");
    const r = await run(t);
    expect(r.code).toBe(1);
    expect(states(r)).toEqual({ ...ALL_OK, bootstrap: "FAIL", upgrades: "FAIL" });
    expect(r.checks.get("bootstrap")?.detail).toBe("talosctl health reports the cluster unhealthy");
    expect(r.checks.get("upgrades")?.detail).toMatch(/unverified/);
  });

  it("the real post-deploy check's failure is reported too", async ({ t, expect }) => {
    t.writeFake("health.rc", "1\n");
    const r = await run(t, {}, { realPostDeploy: true });
    expect(r.code).toBe(1);
    expect(r.checks.get("bootstrap")).toEqual({
      state: "FAIL",
      detail: "talosctl health reports the cluster unhealthy",
    });
    expect(r.checks.size).toBe(6);
  });
});

describe.concurrent("credentials", () => {
  it("are handed to every tool in a private temp dir that is gone afterwards, on success and on failure", async ({
    t,
    expect,
  }) => {
    for (const failing of [false, true]) {
      fs.rmSync(path.join(t.fake, "credential-paths.log"), { force: true });
      t.writeFake("rollout.rc", failing ? "1\n" : "0\n");
      const r = await run(t, {}, { realPostDeploy: true });
      expect(r.code).toBe(failing ? 1 : 0);
      const paths = [...new Set(t.read("credential-paths.log").trim().split("\n"))];
      // kubeconfig and talosconfig, from this script and from the post-deploy check's own dir
      expect(paths.length).toBeGreaterThanOrEqual(2);
      for (const p of paths) {
        expect(p.startsWith(t.tmp + path.sep)).toBe(true);
        expect(fs.existsSync(path.dirname(p))).toBe(false);
      }
      expect(fs.readdirSync(t.tmp)).toEqual([]);
    }
  });

  it("are never printed, even when every check fails", async ({ t, expect }) => {
    t.writeFake("post-deploy.fail", "nodes not Ready: worker-1");
    t.writeFake("rollout.rc", "1\n");
    fs.rmSync(path.join(t.fake, "memory"), { recursive: true });
    fs.appendFileSync(path.join(t.repo, "Pulumi.home.yaml"), "# edited\n");
    t.setOutputs((o) => {
      o.talosVersion = "v1.12.0";
    });
    const port = await t.listen("127.0.0.1");
    const r = await run(t, { SSH_PORT: String(port) });
    expect(r.code).toBe(1);
    expect([...r.checks.values()].every((c) => c.state === "FAIL")).toBe(true);
    expect(r.stdout).toContain("ADR 0004 acceptance: 0/6 checks passed");
    // (run() asserts the secrets are absent from stdout and stderr)
  });
});

describe.concurrent("preconditions", () => {
  it("a missing tool stops it with exit 2 and how to install each missing one", async ({ t, expect }) => {
    const partial = path.join(t.work, "partial-bin");
    fs.mkdirSync(partial);
    for (const entry of fs.readdirSync(t.bin)) {
      if (entry !== "talosctl" && entry !== "kubectl")
        fs.symlinkSync(path.join(t.bin, entry), path.join(partial, entry));
    }
    const r = await run(t, {}, { path: partial });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing tool: talosctl .*talos\.dev/);
    expect(r.stderr).toMatch(/missing tool: kubectl .*kubernetes\.io/);
    expect(r.stderr).not.toMatch(/missing tool: (pulumi|jq)/);
    expect(t.read("pulumi.log")).toBe("");
  });

  it("outputs that cannot be read stop it before any check, with a non-zero exit", async ({ t, expect }) => {
    t.writeFake("pulumi.fail", "");
    const r = await run(t);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("cannot read the outputs of stack home");
    expect(r.checks.size).toBe(0);
    expect(t.read("kubectl.log") + t.read("talosctl.log") + t.read("post-deploy.log")).toBe("");
    expect(fs.readdirSync(t.tmp)).toEqual([]);
  });

  it("a stack without credentials in its outputs stops it too", async ({ t, expect }) => {
    t.setOutputs((o) => {
      delete o.kubeconfig;
    });
    const r = await run(t);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/has 'pulumi up' completed/);
    expect(r.checks.size).toBe(0);
  });
});
