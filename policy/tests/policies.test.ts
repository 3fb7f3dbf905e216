import { UnknownValueError } from "@pulumi/policy";
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import {
  applyModeNoForcedReboot,
  bootstrapNeverReplaced,
  credentialsStaySecret,
  kubernetesExplicitProvider,
  machineSecretsProtected,
  policies,
  resetOnDestroyRequiresOptIn,
  versionsPinned,
} from "../rules/policies";
import { K8S_VERSION, k8sProvider, resourceArgs, UNKNOWN_STRING, violations } from "./fabricate";

describe("the pack", () => {
  it("has uniquely named, mandatory rules, each with a validation", () => {
    const names = policies.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    expect(policies.length).toBeGreaterThanOrEqual(10);
    for (const p of policies) {
      expect(p.enforcementLevel).toBe("mandatory");
      expect(p.validateResource).toBeTypeOf("function");
      expect(p.description.length).toBeGreaterThan(10);
    }
  });

  it("depends on exactly the versions the project pins (the CLI installs the pack's dependencies itself)", () => {
    const pack = JSON.parse(fs.readFileSync(path.resolve(__dirname, "..", "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const root = JSON.parse(fs.readFileSync(path.resolve(__dirname, "..", "..", "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    for (const [name, version] of Object.entries(pack.dependencies)) {
      expect(version, name).toMatch(/^\d+\.\d+\.\d+$/);
      expect(version, name).toBe(root.dependencies[name] ?? root.devDependencies[name]);
    }
  });

  it("leaves unrelated resources alone", async () => {
    for (const p of policies) {
      expect(
        await violations(p, { type: "random:index/randomId:RandomId", props: { byteLength: 8 } }),
      ).toEqual([]);
    }
  });

  it("defers a check whose input is unknown during preview instead of passing or failing it", () => {
    const args = resourceArgs({
      type: "talos:machine/configurationApply:ConfigurationApply",
      props: { node: "10.0.0.2", machineConfigurationInput: UNKNOWN_STRING },
    });
    const validate = versionsPinned.validateResource as (a: typeof args, r: (m: string) => void) => void;
    expect(() => validate(args, () => undefined)).toThrow(UnknownValueError);
  });
});

describe("talos-machine-secrets-protected", () => {
  const secrets = { type: "talos:machine/secrets:Secrets", props: { talosVersion: "v1.13.9" } };

  it("passes protected machine secrets", async () => {
    expect(await violations(machineSecretsProtected, { ...secrets, opts: { protect: true } })).toEqual([]);
  });

  it("rejects unprotected machine secrets", async () => {
    const found = await violations(machineSecretsProtected, { ...secrets, opts: { protect: false } });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/protect: true/);
  });
});

describe("reset-on-destroy-requires-opt-in", () => {
  const apply = (onDestroy: Record<string, unknown> | undefined, config?: Record<string, unknown>) => ({
    type: "talos:machine/configurationApply:ConfigurationApply",
    props: { node: "10.0.0.3", ...(onDestroy ? { onDestroy } : {}) },
    config,
  });

  it("passes a config apply that leaves the node alone on destroy", async () => {
    expect(await violations(resetOnDestroyRequiresOptIn, apply(undefined))).toEqual([]);
    expect(await violations(resetOnDestroyRequiresOptIn, apply({ reset: false }))).toEqual([]);
  });

  it("passes a graceful reset the stack opted into", async () => {
    const r = apply({ reset: true, graceful: true }, { allowResetOnDestroy: true });
    expect(await violations(resetOnDestroyRequiresOptIn, r)).toEqual([]);
  });

  it("rejects a reset the stack did not opt into", async () => {
    const found = await violations(resetOnDestroyRequiresOptIn, apply({ reset: true }));
    expect(found).toEqual([expect.stringMatching(/homelab:resetOnDestroy: true/)]);
  });

  it("rejects an ungraceful reset even with the opt-in", async () => {
    const r = apply({ reset: true, graceful: false }, { allowResetOnDestroy: true });
    expect(await violations(resetOnDestroyRequiresOptIn, r)).toEqual([
      expect.stringMatching(/graceful is false/),
    ]);
  });
});

describe("apply-mode-no-forced-reboot", () => {
  const apply = (applyMode?: unknown, config?: Record<string, unknown>) => ({
    type: "talos:machine/configurationApply:ConfigurationApply",
    props: applyMode === undefined ? {} : { applyMode },
    config,
  });

  it("passes the default and the non-disruptive modes", async () => {
    for (const mode of [undefined, "auto", "no_reboot", "staged", "staged_if_needing_reboot"]) {
      expect(await violations(applyModeNoForcedReboot, apply(mode))).toEqual([]);
    }
    expect(
      await violations(applyModeNoForcedReboot, apply("reboot", { allowRebootApplyMode: true })),
    ).toEqual([]);
  });

  it("rejects a forced reboot, and modes the provider does not know", async () => {
    expect(await violations(applyModeNoForcedReboot, apply("reboot"))).toHaveLength(1);
    expect(await violations(applyModeNoForcedReboot, apply("try"))).toHaveLength(1);
  });
});

describe("bootstrap-never-replaced", () => {
  const bootstrap = (ignoreChanges: string[]) => ({
    type: "talos:machine/bootstrap:Bootstrap",
    opts: { ignoreChanges },
  });

  it("passes a bootstrap that ignores credential changes", async () => {
    expect(await violations(bootstrapNeverReplaced, bootstrap(["clientConfiguration"]))).toEqual([]);
    expect(await violations(bootstrapNeverReplaced, bootstrap(["*"]))).toEqual([]);
  });

  it("rejects a bootstrap that a credential rotation would replace", async () => {
    expect(await violations(bootstrapNeverReplaced, bootstrap([]))).toHaveLength(1);
    expect(await violations(bootstrapNeverReplaced, bootstrap(["node"]))).toHaveLength(1);
  });
});

describe("credentials-stay-secret", () => {
  it("passes a kubeconfig whose credentials are secret outputs", async () => {
    const r = {
      type: "talos:cluster/kubeconfig:Kubeconfig",
      opts: {
        additionalSecretOutputs: ["kubeconfigRaw", "kubernetesClientConfiguration", "clientConfiguration"],
      },
    };
    expect(await violations(credentialsStaySecret, r)).toEqual([]);
  });

  it("rejects machine secrets stored in plain text", async () => {
    const r = {
      type: "talos:machine/secrets:Secrets",
      opts: { additionalSecretOutputs: ["clientConfiguration"] },
    };
    expect(await violations(credentialsStaySecret, r)).toEqual([expect.stringMatching(/machineSecrets/)]);
  });
});

describe("kubernetes-explicit-provider", () => {
  it("passes resources on the explicit provider built from the cluster's kubeconfig", async () => {
    const ns = { type: "kubernetes:core/v1:Namespace", provider: k8sProvider() };
    expect(await violations(kubernetesExplicitProvider, ns)).toEqual([]);
    expect(await violations(kubernetesExplicitProvider, k8sProvider())).toEqual([]);
  });

  it("rejects resources on the default provider (the ambient ~/.kube/config)", async () => {
    const ns = { type: "kubernetes:core/v1:Namespace", provider: k8sProvider(K8S_VERSION, "default_4_34_2") };
    expect(await violations(kubernetesExplicitProvider, ns)).toEqual([expect.stringMatching(/ambient/)]);
  });

  it("rejects a Kubernetes provider without a kubeconfig", async () => {
    const provider = { type: "pulumi:providers:kubernetes", name: "k8s", props: { version: K8S_VERSION } };
    expect(await violations(kubernetesExplicitProvider, provider)).toHaveLength(1);
  });
});
