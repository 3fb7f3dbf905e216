/**
 * The pinning rules of the policy pack (provider, Talos/Kubernetes, image and Helm chart versions), each with
 * a passing and a violating resource. The other rules are in policies.test.ts.
 */
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { pinsFromPackageJson, projectPins, TALOS_PROVIDER_VERSION } from "../rules/pins";
import {
  helmChartVersionPinned,
  imagesPinned,
  providerVersionsPinned,
  versionsPinned,
} from "../rules/policies";
import { imageVerdict } from "../rules/support";
import {
  K8S_VERSION,
  k8sProvider,
  machineConfig,
  ROOT_DEPENDENCIES,
  talosProvider,
  violations,
} from "./fabricate";

describe("provider-versions-pinned", () => {
  it("pins the same Talos provider the program uses, and the Kubernetes SDK from package.json", () => {
    // The generated SDK (sdks/talos) asks the engine for the plugin version in its package.json.
    const sdk = JSON.parse(
      fs.readFileSync(path.join(__dirname, "..", "..", "sdks", "talos", "package.json"), "utf8"),
    ) as {
      pulumi: { version: string };
    };
    expect(TALOS_PROVIDER_VERSION).toBe(sdk.pulumi.version);
    expect(K8S_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    expect(projectPins().kubernetes).toBe(K8S_VERSION);
    expect(projectPins().command).toBe(ROOT_DEPENDENCIES["@pulumi/command"]);
  });

  it("passes Talos and Kubernetes resources on the pinned providers", async () => {
    const talos = { type: "talos:machine/bootstrap:Bootstrap", provider: talosProvider() };
    const ns = { type: "kubernetes:core/v1:Namespace", provider: k8sProvider() };
    expect(await violations(providerVersionsPinned, talos)).toEqual([]);
    expect(await violations(providerVersionsPinned, ns)).toEqual([]);
    expect(await violations(providerVersionsPinned, k8sProvider())).toEqual([]);
  });

  it("rejects a resource on another plugin version", async () => {
    const found = await violations(providerVersionsPinned, {
      type: "talos:cluster/kubeconfig:Kubeconfig",
      provider: talosProvider("0.7.1"),
    });
    expect(found).toEqual([expect.stringMatching(/version 0\.7\.1; pinned is 0\.8\.1/)]);
  });

  it("rejects a provider resource registered at another version, or none", async () => {
    expect(await violations(providerVersionsPinned, k8sProvider("4.0.0"))).toHaveLength(1);
    expect(
      await violations(providerVersionsPinned, { type: "pulumi:providers:talos", name: "talos", props: {} }),
    ).toEqual([expect.stringMatching(/\(unset\)/)]);
  });

  it("takes an override from the pack config", async () => {
    const r = { type: "talos:machine/secrets:Secrets", provider: talosProvider("0.9.0") };
    expect(await violations(providerVersionsPinned, { ...r, config: { talos: "0.9.0" } })).toEqual([]);
    expect(await violations(providerVersionsPinned, r)).toHaveLength(1);
  });

  it("skips component resources, which have no provider of their own", async () => {
    expect(await violations(providerVersionsPinned, { type: "kubernetes:helm.sh/v4:Chart" })).toEqual([]);
  });

  it("treats an SDK pinned by range as no pin at all", () => {
    const pins = pinsFromPackageJson({
      dependencies: { "@pulumi/kubernetes": "^4.34.2", "@pulumi/command": "1.2.1" },
    });
    expect(pins.kubernetes).toBeUndefined();
    expect(pins.command).toBe("1.2.1");
    expect(pinsFromPackageJson(undefined).kubernetes).toBeUndefined();
  });
});

describe("talos-kubernetes-versions-pinned", () => {
  const apply = (props: Record<string, unknown>) => ({
    type: "talos:machine/configurationApply:ConfigurationApply",
    props: { node: "10.0.0.2", ...props },
  });

  it("passes secrets generated for an exact Talos release", async () => {
    const r = { type: "talos:machine/secrets:Secrets", props: { talosVersion: "v1.13.9" } };
    expect(await violations(versionsPinned, r)).toEqual([]);
  });

  it("rejects secrets with `latest` or the provider's default Talos version", async () => {
    const latest = { type: "talos:machine/secrets:Secrets", props: { talosVersion: "latest" } };
    expect(await violations(versionsPinned, latest)).toHaveLength(1);
    expect(
      await violations(versionsPinned, { type: "talos:machine/secrets:Secrets", props: {} }),
    ).toHaveLength(1);
  });

  it("passes a machine config naming exact installer and kubelet images", async () => {
    expect(await violations(versionsPinned, apply({ machineConfigurationInput: machineConfig() }))).toEqual(
      [],
    );
  });

  it("passes a factory installer pinned by a patch", async () => {
    const patch = "machine:\n  install:\n    image: factory.talos.dev/installer/376567988ad3:v1.13.9\n";
    const r = apply({ machineConfigurationInput: machineConfig(), configPatches: [patch] });
    expect(await violations(versionsPinned, r)).toEqual([]);
  });

  it("rejects a kubelet on `latest`", async () => {
    const r = apply({
      machineConfigurationInput: machineConfig({ kubelet: "ghcr.io/siderolabs/kubelet:latest" }),
    });
    expect(await violations(versionsPinned, r)).toEqual([
      expect.stringMatching(/kubelet.*floating tag `latest`/),
    ]);
  });

  it("rejects a patch that unpins the installer", async () => {
    const patch = "machine:\n  install:\n    image: ghcr.io/siderolabs/installer\n";
    const r = apply({ machineConfigurationInput: machineConfig(), configPatches: [patch] });
    expect(await violations(versionsPinned, r)).toEqual([expect.stringMatching(/install.*no tag/)]);
  });

  it("rejects a config that leaves the versions to Talos' defaults, or is unreadable", async () => {
    const r = apply({ machineConfigurationInput: machineConfig({ kubelet: "", installer: "" }) });
    expect(await violations(versionsPinned, r)).toHaveLength(2);
    for (const unreadable of ["machine: { install: [", "- a\n- list\n", 42]) {
      expect(await violations(versionsPinned, apply({ machineConfigurationInput: unreadable }))).toEqual([
        expect.stringMatching(/not a Talos machine configuration/),
      ]);
    }
  });
});

describe("images-pinned", () => {
  it("knows a pinned image reference from a floating one", () => {
    expect(imageVerdict("registry.k8s.io/kube-apiserver:v1.36.0").pinned).toBe(true);
    expect(imageVerdict("localhost:5000/etcd:3.6.5-0").pinned).toBe(true);
    expect(imageVerdict(`docker.io/calico/node@sha256:${"a".repeat(64)}`).pinned).toBe(true);
    expect(imageVerdict("localhost:5000/etcd").pinned).toBe(false);
    expect(imageVerdict("nginx:stable").pinned).toBe(false);
    expect(imageVerdict("nginx:my-branch").pinned).toBe(false);
  });

  const deployment = (image: string) => ({
    type: "kubernetes:apps/v1:Deployment",
    provider: k8sProvider(),
    props: { spec: { template: { spec: { containers: [{ name: "app", image }] } } } },
  });

  it("passes a workload on a released image", async () => {
    expect(await violations(imagesPinned, deployment("nginx:1.27.3"))).toEqual([]);
  });

  it("rejects a workload on an untagged image", async () => {
    expect(await violations(imagesPinned, deployment("nginx"))).toEqual([
      expect.stringMatching(/spec\.template\.spec\.containers\[0\]\.image nginx has no tag/),
    ]);
  });

  it("passes Helm values with released tags, rejects `latest`", async () => {
    const release = (tag: string) => ({
      type: "kubernetes:helm.sh/v3:Release",
      props: {
        chart: "tigera-operator",
        version: "v3.31.4",
        values: { tigeraOperator: { image: "x", tag } },
      },
    });
    expect(await violations(imagesPinned, release("v1.40.3"))).toEqual([]);
    expect(await violations(imagesPinned, release("latest"))).toHaveLength(1);
  });

  const command = (
    environment: Record<string, string>,
    create = 'talosctl upgrade --image "$TARGET_IMAGE"',
  ) => ({
    type: "command:local:Command",
    props: { create, interpreter: ["/bin/bash", "-c"], environment },
  });
  const target = { TARGET_IMAGE: "ghcr.io/siderolabs/installer:v1.13.9", TARGET_VERSION: "v1.13.9" };

  it("passes a talosctl upgrade to an exact installer, whatever its prose says", async () => {
    const prose =
      'echo "set talosVersion to the latest v1.13.x patch"\ntalosctl upgrade --image "$TARGET_IMAGE"';
    expect(await violations(imagesPinned, command(target, prose))).toEqual([]);
    expect(
      await violations(
        imagesPinned,
        command({ TARGET_K8S_VERSION: "1.36.0" }, "talosctl upgrade-k8s --to 1.36.0"),
      ),
    ).toEqual([]);
  });

  it("rejects an upgrade to `latest`, by environment or by argument", async () => {
    const latestImage = { ...target, TARGET_IMAGE: "ghcr.io/siderolabs/installer:latest" };
    expect(await violations(imagesPinned, command(latestImage))).toEqual([
      expect.stringMatching(/environment\.TARGET_IMAGE .* floating tag `latest`/),
    ]);
    expect(await violations(imagesPinned, command({ TARGET_K8S_VERSION: "latest" }))).toHaveLength(1);
    expect(await violations(imagesPinned, command({}, "talosctl upgrade-k8s --to latest"))).toEqual([
      expect.stringMatching(/--to latest/),
    ]);
  });

  const upgradeScripts = path.resolve(__dirname, "..", "..", "components", "upgrade", "scripts");
  it.runIf(fs.existsSync(upgradeScripts))("passes the program's own upgrade scripts", async () => {
    const lib = fs.readFileSync(path.join(upgradeScripts, "lib.sh"), "utf8");
    for (const script of fs.readdirSync(upgradeScripts).filter((f) => f.endsWith(".sh"))) {
      const text = `${lib}\n${fs.readFileSync(path.join(upgradeScripts, script), "utf8")}`;
      expect(await violations(imagesPinned, command(target, text)), script).toEqual([]);
    }
  });

  it("rejects an unpinned image anywhere in a Talos config patch", async () => {
    const patch = "cluster:\n  coreDNS:\n    image: registry.k8s.io/coredns/coredns:latest\n";
    const r = {
      type: "talos:machine/configurationApply:ConfigurationApply",
      props: { machineConfigurationInput: machineConfig(), configPatches: [patch] },
    };
    expect(await violations(imagesPinned, r)).toEqual([
      expect.stringMatching(/^configPatches\[0\]: cluster\.coreDNS/),
    ]);
    expect(
      await violations(imagesPinned, { ...r, props: { machineConfigurationInput: machineConfig() } }),
    ).toEqual([]);
  });
});

describe("helm-chart-version-pinned", () => {
  const release = (version?: string) => ({
    type: "kubernetes:helm.sh/v3:Release",
    props: { chart: "cilium", ...(version === undefined ? {} : { version }) },
  });

  it("passes an exact chart version", async () => {
    expect(await violations(helmChartVersionPinned, release("1.18.4"))).toEqual([]);
    expect(await violations(helmChartVersionPinned, release("v3.31.4"))).toEqual([]);
  });

  it("rejects a missing version, a range or `latest`", async () => {
    for (const v of [undefined, "^1.18.0", "latest", "1.18"]) {
      expect(await violations(helmChartVersionPinned, release(v))).toHaveLength(1);
    }
  });
});
