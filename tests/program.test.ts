/**
 * The real index.ts under strict mocks: the graph it registers for real stack files.
 */
import * as YAML from "yaml";
import { describe, expect, it } from "vitest";
import { encodeConfig, runProgram, stackConfigFromFile, type ProgramRun } from "./support/program";
import { isSecret } from "./support/outputs";
import { stackNodes } from "./support/spec";
import type { RecordedResource } from "./support/mocks";
import type * as pulumi from "@pulumi/pulumi";

const T = {
  secrets: "talos:machine/secrets:Secrets",
  apply: "talos:machine/configurationApply:ConfigurationApply",
  bootstrap: "talos:machine/bootstrap:Bootstrap",
  kubeconfig: "talos:cluster/kubeconfig:Kubeconfig",
  machineConfig: "talos:machine/getConfiguration:getConfiguration",
  clientConfig: "talos:client/getConfiguration:getConfiguration",
  health: "talos:cluster/getHealth:getHealth",
  release: "kubernetes:helm.sh/v3:Release",
};

function cluster(controlPlanes: number, workers: number, extra: Record<string, unknown> = {}) {
  return encodeConfig({ "homelab:nodes": stackNodes(controlPlanes, workers), ...extra });
}

const urnName = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);
const depsOf = (r: RecordedResource) => (r.options?.dependencies ?? []).map(urnName);
const applyFor = (run: ProgramRun, node: string) =>
  run.byType(T.apply).find((r) => r.name === `homelab-${node}`)!;
const patchesOf = (r: RecordedResource) => (r.inputs.configPatches as string[]).map((p) => YAML.parse(p));
const machineConfigInvokes = (run: ProgramRun) =>
  run.mocks.invokes.filter((i) => i.token === T.machineConfig);

describe("the home stack (Pulumi.home.yaml)", async () => {
  const run = await runProgram(stackConfigFromFile("Pulumi.home.yaml"));

  it("loads without error and the inputs honour the provider contract", () => {
    expect(run.error).toBeUndefined();
    expect(run.mocks.problems).toEqual([]);
  });

  it("registers one secrets bundle, one apply per node, one bootstrap, one kubeconfig and Calico", () => {
    const count = (t: string) => run.byType(t).length;
    expect(count(T.secrets)).toBe(1);
    expect(
      run
        .byType(T.apply)
        .map((r) => r.inputs.node)
        .sort(),
    ).toEqual(["192.168.1.10", "192.168.1.11"]);
    expect(count(T.bootstrap)).toBe(1);
    expect(count(T.kubeconfig)).toBe(1);
    expect(run.byType(T.release).map((r) => r.inputs.chart)).toEqual(["tigera-operator"]);
  });

  it("generates configuration once per role, not per node", () => {
    expect(
      machineConfigInvokes(run)
        .map((i) => i.inputs.machineType)
        .sort(),
    ).toEqual(["controlplane", "worker"]);
  });

  it("protects the machine secrets and never replaces them on a Talos bump", () => {
    const [secrets] = run.byType(T.secrets);
    expect(secrets.options?.protect).toBe(true);
    expect(secrets.options?.ignoreChanges).toContain("talosVersion");
    expect(secrets.name).toBe("homelab-secrets");
  });

  it("bootstraps once, on the bootstrap control plane, after its config is applied, never to be re-run", () => {
    const [bootstrap] = run.byType(T.bootstrap);
    expect(bootstrap.inputs.node).toBe("192.168.1.10");
    expect(depsOf(bootstrap)).toContain("homelab-control-plane-1");
    expect(bootstrap.options?.ignoreChanges).toEqual(expect.arrayContaining(["node", "clientConfiguration"]));
    expect(bootstrap.options?.retainOnDelete).toBe(true);
  });

  it("fetches the kubeconfig after bootstrap, and installs the CNI with a provider built from it", () => {
    const [kubeconfig] = run.byType(T.kubeconfig);
    expect(depsOf(kubeconfig)).toContain("homelab-bootstrap");
    const [release] = run.byType(T.release);
    expect(release.provider).toMatch(/pulumi:providers:kubernetes::homelab-k8s::/);
  });

  it("lands each node's own patches on that node only", () => {
    const worker = patchesOf(applyFor(run, "worker-1"));
    const cp = patchesOf(applyFor(run, "control-plane-1"));
    expect(worker).toContainEqual({
      apiVersion: "v1alpha1",
      kind: "HostnameConfig",
      hostname: "worker-1",
      auto: "off",
    });
    expect(worker).toContainEqual({
      machine: { install: { disk: "/dev/sda" }, nodeLabels: { "homelab.example/storage": "true" } },
    });
    expect(JSON.stringify(cp)).not.toContain("homelab.example/storage");
    expect(cp).toContainEqual({
      apiVersion: "v1alpha1",
      kind: "HostnameConfig",
      hostname: "control-plane-1",
      auto: "off",
    });
  });

  it("applies the role's generated config as a secret, without resetting nodes on destroy", () => {
    for (const apply of run.byType(T.apply)) {
      expect(apply.secretInputs).toContain("machineConfigurationInput");
      expect(apply.inputs.onDestroy).toMatchObject({ reset: false });
    }
  });

  it("exports kubeconfig and talosconfig as secrets, and the addresses and versions in clear", async () => {
    expect(await isSecret(run.exports.kubeconfig as pulumi.Output<string>)).toBe(true);
    expect(await isSecret(run.exports.talosconfig as pulumi.Output<string>)).toBe(true);
    expect(run.outputs).toMatchObject({
      endpoint: "https://192.168.1.10:6443",
      controlPlaneAddresses: ["192.168.1.10"],
      workerAddresses: ["192.168.1.11"],
      talosVersion: "v1.13.9",
      kubernetesVersion: "1.36.0",
    });
    expect(String(run.outputs.kubeconfig)).toContain("server: https://");
    expect(String(run.outputs.talosconfig)).toContain("192.168.1.10");
  });

  it("checks the whole cluster's health, workers included, once the CNI is in", () => {
    const full = run.mocks.invokes.filter((i) => i.token === T.health && !i.inputs.skipKubernetesChecks);
    expect(full).toHaveLength(1);
    expect(full[0].inputs).toMatchObject({
      controlPlaneNodes: ["192.168.1.10"],
      workerNodes: ["192.168.1.11"],
    });
  });
});

describe("gates", () => {
  const home = () => stackConfigFromFile("Pulumi.home.yaml");
  /** A step that never finishes: what waits on it must not start. */
  const never = () => new Promise<never>(() => undefined);

  it("the CNI waits for the control planes to pass Talos's boot checks", async () => {
    const run = await runProgram(home(), {
      beforeLoad: (mocks) => {
        const call = mocks.call.bind(mocks);
        mocks.call = (args) =>
          args.token === T.health && args.inputs.skipKubernetesChecks ? never() : call(args);
      },
    });
    expect(run.error).toBeUndefined();
    expect(run.byType(T.kubeconfig)).toHaveLength(1);
    expect(run.byType("pulumi:providers:kubernetes")).toEqual([]);
    expect(run.byType(T.release)).toEqual([]);
  });

  it("the final health check waits for the CNI", async () => {
    const run = await runProgram(home(), {
      beforeLoad: (mocks) => {
        const newResource = mocks.newResource.bind(mocks);
        mocks.newResource = (args) => (args.type === T.release ? never() : newResource(args));
      },
    });
    expect(run.error).toBeUndefined();
    expect(run.mocks.invokes.some((i) => i.token === T.health && i.inputs.skipKubernetesChecks)).toBe(true);
    expect(run.mocks.invokes.filter((i) => i.token === T.health && !i.inputs.skipKubernetesChecks)).toEqual(
      [],
    );
  });
});

describe("renaming", () => {
  it("a new clusterName keeps every resource's name, so the machine secrets are never re-created", async () => {
    const names = (run: ProgramRun) => run.resources.map((r) => `${r.type}::${r.name}`).sort();
    const before = await runProgram(cluster(1, 1));
    const after = await runProgram(cluster(1, 1, { "homelab:clusterName": "lab" }));
    expect(after.error).toBeUndefined();
    expect(names(after)).toEqual(names(before));
    const invoke = after.mocks.invokes.find((i) => i.token === T.machineConfig)!;
    expect(invoke.inputs.clusterName).toBe("lab");
  });
});

describe("scaling", () => {
  it("one node: a complete graph with a single apply", async () => {
    const run = await runProgram(cluster(1, 0));
    expect(run.error).toBeUndefined();
    expect(run.byType(T.apply)).toHaveLength(1);
    expect(run.byType(T.bootstrap)).toHaveLength(1);
    expect(machineConfigInvokes(run)).toHaveLength(2);
  });

  it("3 control planes + 50 workers: still two config invokes; workers apply in parallel with control planes", async () => {
    const run = await runProgram(cluster(3, 50));
    expect(run.error).toBeUndefined();
    expect(run.mocks.problems).toEqual([]);
    expect(run.byType(T.apply)).toHaveLength(53);
    expect(run.byType(T.bootstrap)).toHaveLength(1);
    expect(machineConfigInvokes(run)).toHaveLength(2);
    const applyNames = new Set(run.byType(T.apply).map((r) => r.name));
    for (const apply of run.byType(T.apply)) {
      expect(depsOf(apply).filter((d) => applyNames.has(d))).toEqual([]);
    }
  });
});

describe("preview", () => {
  it("a first preview works with unknown values and registers the same graph", async () => {
    const run = await runProgram(stackConfigFromFile("Pulumi.home.yaml"), { preview: true });
    expect(run.error).toBeUndefined();
    expect(run.byType(T.apply)).toHaveLength(2);
    expect(run.outputs.kubeconfig).toBeUndefined(); // unknown until the cluster exists
    expect(run.outputs.endpoint).toBe("https://192.168.1.10:6443");
    expect(run.mocks.invokes.filter((i) => i.token === T.health)).toEqual([]);
  });
});

describe("idempotence", () => {
  const snapshot = (run: ProgramRun) =>
    JSON.stringify([
      run.resources.map((r) => [r.type, r.name, r.inputs]),
      run.mocks.invokes.map((i) => [i.token, i.inputs]),
    ]);

  it("two runs of the same stack produce identical inputs", async () => {
    const a = snapshot(await runProgram(stackConfigFromFile("Pulumi.home.yaml")));
    const b = snapshot(await runProgram(stackConfigFromFile("Pulumi.home.yaml")));
    expect(b).toBe(a);
  });

  it("reordering keys in the stack file changes no input", async () => {
    const config = YAML.parse(
      YAML.stringify(
        YAML.parse(
          "homelab:nodes: [{name: a, address: 10.0.0.1, role: controlplane, labels: {x: '1', y: '2'}, patches: [{machine: {sysctls: {b: '2', a: '1'}}}]}]",
        ),
      ),
    ) as Record<string, unknown>;
    const reordered = {
      "homelab:nodes": [
        {
          patches: [{ machine: { sysctls: { a: "1", b: "2" } } }],
          labels: { y: "2", x: "1" },
          role: "controlplane",
          address: "10.0.0.1",
          name: "a",
        },
      ],
    };
    expect(snapshot(await runProgram(encodeConfig(reordered)))).toBe(
      snapshot(await runProgram(encodeConfig(config))),
    );
  });
});

describe("bad input never reaches the cluster", () => {
  it.each([
    [
      "an invalid IP",
      { "homelab:nodes": [{ name: "a", address: "999.1.1.1", role: "controlplane" }] },
      "nodes[0].address",
    ],
    [
      "no control plane",
      { "homelab:nodes": [{ name: "a", address: "10.0.0.1", role: "worker" }] },
      "no control plane",
    ],
    [
      "a misspelled patch key",
      {
        "homelab:nodes": [
          { name: "a", address: "10.0.0.1", role: "controlplane", patches: [{ machine: { instal: {} } }] },
        ],
      },
      "did you mean machine.install?",
    ],
    [
      "Kubernetes outside the matrix",
      {
        "homelab:nodes": [{ name: "a", address: "10.0.0.1", role: "controlplane" }],
        "homelab:kubernetesVersion": "1.29.0",
      },
      "kubernetesVersion",
    ],
  ])("%s: the program stops before registering anything", async (_label, config, fragment) => {
    const run = await runProgram(encodeConfig(config));
    expect(run.error?.message).toContain(fragment);
    expect(run.error?.message).toContain("nothing was changed");
    expect(run.resources).toEqual([]);
    expect(run.mocks.invokes).toEqual([]);
  });
});
