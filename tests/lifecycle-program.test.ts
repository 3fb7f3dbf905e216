/**
 * The node lifecycle in the program (index.ts and TalosCluster under the project's strict mocks): the membership
 * step and what it carries, config applies that never reset, the CNI deleted with the cluster at teardown, and the
 * drift check (asked for with HOMELAB_CHECK_DRIFT=1): one probe per node after its apply, and a failure naming
 * each drifted node and the command that reconverges it.
 */
import fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { driftReport, statusOf, type DriftFinding } from "../components/lifecycle/drift";
import { lifecycleScript, memberTable, UNGRACEFUL_AT_TEARDOWN } from "../components/lifecycle";
import { installMocks } from "./support/mocks";
import { failureOf, promiseOf, settle } from "./support/outputs";
import { encodeConfig, PROJECT_ROOT, runProgram, stackConfigFromFile } from "./support/program";

const HOME = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.home.yaml"), "utf8")) as {
  config: Record<string, unknown>;
};
const APPLY = "talos:machine/configurationApply:ConfigurationApply";
const RUN = "command:local:run";

afterEach(async () => {
  // Let a cluster's last registrations reach its own mocks before the next test installs new ones.
  await settle();
  delete process.env.HOMELAB_CHECK_DRIFT;
});

describe("the membership step", () => {
  it("carries the stack's member table, the reset opt-in and the one declared ungraceful reset", async () => {
    for (const reset of [false, true]) {
      const run = await runProgram(encodeConfig({ ...HOME.config, "homelab:resetOnDestroy": reset }));
      expect(run.error).toBeUndefined();
      const [membership] = run.resources.filter((r) => r.name === "homelab-lifecycle-membership");
      expect(membership.type).toBe("command:local:Command");
      const env = membership.inputs.environment as Record<string, string>;
      expect(env.MEMBERS).toBe(
        [
          "# homelab members v1: name address role hostname",
          "control-plane-1 192.168.1.10 controlplane control-plane-1",
          "worker-1 192.168.1.11 worker worker-1",
        ].join("\n"),
      );
      expect(env).toMatchObject({
        HOMELAB_STEP: "membership",
        RESET: String(reset),
        UNGRACEFUL: UNGRACEFUL_AT_TEARDOWN,
      });
      expect(membership.secretInputs).toEqual(["environment"]);
      expect(env.TALOSCONFIG_DATA).toContain("contexts:");
      expect(env.KUBECONFIG_DATA).toContain("kind: Config");
      expect(membership.inputs.create).toBe(lifecycleScript("membership"));
      expect(membership.inputs.delete).toBe(lifecycleScript("teardown"));
      // Nothing replaces it (a replacement would run the teardown): no triggers (the SDK's own replaceOnChanges
      // `triggers[*]` then never fires), nothing else.
      expect(membership.inputs.triggers).toBeUndefined();
      expect(membership.options?.replaceOnChanges ?? []).toEqual(["triggers[*]"]);
      // Every config apply first (renamed nodes have their new hostname), and the kubeconfig.
      const applies = run.byType(APPLY);
      const kubeconfig = run.byType("talos:cluster/kubeconfig:Kubeconfig")[0];
      expect(membership.options?.dependencies).toEqual(
        expect.arrayContaining([...applies.map((a) => a.urn), kubeconfig.urn]),
      );
      // A config apply never resets: the provider would read it from the old state on delete.
      for (const a of applies)
        expect(a.inputs.onDestroy).toEqual({ reset: false, graceful: true, reboot: false });
    }
  });

  it("gates both health checks: while it has not finished, neither runs (a removed node would fail them)", async () => {
    const health = "talos:cluster/getHealth:getHealth";
    let release: () => void = () => undefined;
    const run = await runProgram(stackConfigFromFile("Pulumi.home.yaml"), {
      beforeLoad: (mocks) => {
        const newResource = mocks.newResource.bind(mocks);
        mocks.newResource = (args) =>
          args.name === "homelab-lifecycle-membership"
            ? new Promise((resolve) => (release = () => resolve(newResource(args))))
            : newResource(args);
      },
    });
    const heldBack = run.mocks.invokes.filter((i) => i.token === health);
    release();
    await settle();
    expect(run.error).toBeUndefined();
    expect(run.byType(APPLY)).toHaveLength(2);
    expect(heldBack).toEqual([]);
    expect(run.mocks.invokes.filter((i) => i.token === health).length).toBeGreaterThan(0);
  });

  it("puts a renamed node under the same address, so a rename is not a removal", () => {
    const nodes = (name: string) => [{ name, address: "10.0.0.5", role: "worker" as const, hostname: name }];
    const row = (t: string) => t.split("\n")[1].split(" ");
    expect(row(memberTable({ nodes: nodes("a") as never }))[1]).toBe(
      row(memberTable({ nodes: nodes("b") as never }))[1],
    );
  });

  it("lets the engine skip deleting the CNI's Kubernetes objects when the cluster is torn down with it", async () => {
    const run = await runProgram(stackConfigFromFile("Pulumi.home.yaml"));
    const membership = run.resources.find((r) => r.name === "homelab-lifecycle-membership")!;
    const k8s = run.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"));
    expect(k8s.length).toBeGreaterThan(0);
    for (const r of k8s) expect(r.options?.deletedWith, r.name).toBe(membership.urn);
  });
});

describe("the drift check", () => {
  type Answer = (node: string) => string;

  async function cluster(answer: Answer, preview = false) {
    const mocks = await installMocks({
      config: stackConfigFromFile("Pulumi.example-ha.yaml"),
      stack: "home",
      preview,
      previewOutputs: "known",
      extraInvokes: {
        [RUN]: (inputs) => ({
          ...inputs,
          stdout: answer(inputs.environment.NODE_NAME as string),
          stderr: "",
        }),
      },
    });
    process.env.HOMELAB_CHECK_DRIFT = "1";
    const { loadClusterSpec } = await import("../components/config/load");
    const { TalosCluster } = await import("../components/cluster/talos-cluster");
    const c = new TalosCluster("homelab", { spec: loadClusterSpec() });
    return { mocks, c };
  }

  it("asks every node after its apply, with its rendered config on stdin (a secret) and no credential on a command line", async () => {
    const { mocks, c } = await cluster(() => "in-sync");
    expect(await promiseOf(c.drift)).toEqual(
      ["cp-1", "cp-2", "cp-3", "worker-1", "worker-2"].map((n) => `${n}: in-sync`),
    );
    const probes = mocks.invokes.filter((i) => i.token === RUN);
    expect(probes.map((p) => p.inputs.environment.NODE_NAME).sort()).toEqual([
      "cp-1",
      "cp-2",
      "cp-3",
      "worker-1",
      "worker-2",
    ]);
    const applies = mocks.resources.filter((r) => r.type === APPLY);
    for (const p of probes) {
      const apply = applies.find((a) => a.name === `homelab-${p.inputs.environment.NODE_NAME}`)!;
      const rendered: unknown = apply.outputs?.machineConfiguration;
      const text = pulumi.Output.isInstance(rendered)
        ? await promiseOf(rendered as pulumi.Output<string>)
        : rendered;
      expect(p.inputs.stdin).toBe(text);
      expect(p.inputs.stdin).toContain(`hostname: ${p.inputs.environment.NODE_NAME}`);
      expect(p.inputs.command).toBe(lifecycleScript("drift-probe"));
      expect(p.inputs.command).not.toContain(p.inputs.environment.TALOSCONFIG_DATA);
    }
  });

  it("fails naming each drifted node and the one command that reconverges it; unreachable nodes only warn", async () => {
    const answers: Record<string, string> = {
      "cp-2": "maintenance",
      "worker-1": "differs 3 changed lines",
      "worker-2": "unreachable",
    };
    const { c } = await cluster((n) => answers[n] ?? "in-sync");
    const error = await failureOf(c.drift);
    expect(error).toBeInstanceOf(pulumi.RunError);
    const message = error!.message;
    expect(message).toContain("Drift: 2 node(s) do not run what Pulumi.home.yaml renders");
    expect(message).toMatch(/node cp-2 \(192\.168\.1\.32\) is in maintenance mode/);
    expect(message).toContain(
      "pulumi up --stack home --replace 'urn:pulumi:home::homelab::homelab:cluster:TalosCluster$talos:machine/configurationApply:ConfigurationApply::homelab-cp-2'",
    );
    expect(message).toMatch(
      /node worker-1 \(192\.168\.1\.41\) runs a configuration that differs .*\(3 changed lines\)/,
    );
    expect(message).not.toMatch(/worker-2|cp-1|cp-3/);
  });

  it("is off unless asked for, and asks nothing in a preview whose applies change", async () => {
    const run = await runProgram(stackConfigFromFile("Pulumi.example-ha.yaml"));
    expect(run.mocks.invokes.filter((i) => i.token === RUN)).toEqual([]);
    await settle();
    const mocks = await installMocks({
      config: stackConfigFromFile("Pulumi.example-ha.yaml"),
      preview: true,
    });
    process.env.HOMELAB_CHECK_DRIFT = "1";
    const { loadClusterSpec } = await import("../components/config/load");
    const { TalosCluster } = await import("../components/cluster/talos-cluster");
    const c = new TalosCluster("homelab", { spec: loadClusterSpec() });
    expect(await promiseOf(c.drift)).toBeUndefined();
    expect(mocks.invokes.filter((i) => i.token === RUN)).toEqual([]);
  });
});

describe("driftReport, for any answers", () => {
  const finding = fc.record({
    node: fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
    address: fc.ipV4(),
    urn: fc.constant("urn:x"),
    answer: fc.oneof(
      fc.constantFrom("in-sync", "maintenance", "refused", "unreachable", "garbage"),
      fc.nat(50).map((n) => `differs ${n} changed lines`),
    ),
  });

  it("fails exactly when a node differs or is in maintenance, names each of those and no other", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(finding, { selector: (f) => f.node, maxLength: 8 }),
        (findings: DriftFinding[]) => {
          const r = driftReport(findings, "home");
          const drifted = findings.filter((f) => ["differs", "maintenance"].includes(statusOf(f.answer)));
          expect(r.error !== undefined).toBe(drifted.length > 0);
          const named = (r.error ?? "").split("\n").filter((l) => l.startsWith("✖ "));
          expect(named).toHaveLength(drifted.length);
          drifted.forEach((f, i) => expect(named[i]).toContain(`node ${f.node} (${f.address})`));
          const warned = findings.filter((f) => ["unreachable", "refused"].includes(statusOf(f.answer)));
          expect(r.warnings).toHaveLength(warned.length);
          expect(r.summary).toEqual(findings.map((f) => `${f.node}: ${statusOf(f.answer)}`));
        },
      ),
    );
  });
});
