/**
 * The strict mocks are only worth something if they reject what the real engine and provider would reject
 * and answer what they would answer. These tests drive them through the generated
 * @pulumiverse/talos SDK (sdks/talos) and the SDK's mock monitor, as every other test file does.
 */
import * as pulumi from "@pulumi/pulumi";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { installMocks, type StrictMocks } from "./support/mocks";
import { failureOf, failureOfResource, isKnown, isSecret, promiseOf, settle } from "./support/outputs";

type Provider = typeof import("@pulumiverse/talos");
let mocks: StrictMocks;
let talos: Provider;

const HEALTH_TIMEOUT = "health checks did not pass within 10m0s";

beforeAll(async () => {
  mocks = await installMocks({
    failInvoke: (token, inputs) =>
      token === "talos:cluster/getHealth:getHealth" && inputs.controlPlaneNodes?.includes("10.0.0.99")
        ? HEALTH_TIMEOUT
        : undefined,
  });
  talos = await import("@pulumiverse/talos");
});

beforeEach(() => mocks.reset());

/** Registers a resource outside the bindings, the way a stray or misspelled token would reach the engine. */
class RawResource extends pulumi.CustomResource {
  constructor(type: string, name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
    super(type, name, props, opts);
  }
}

const pinned = { version: "0.8.1", pluginDownloadURL: "github://api.github.com/pulumiverse" };
const creds = { caCertificate: "Y2E=", clientCertificate: "Y3J0", clientKey: "a2V5" };

describe("strictness", () => {
  it("fails a resource whose token no provider in this project offers", async () => {
    const r = new RawResource("aws:s3/bucket:Bucket", "stray", {});
    const err = await failureOfResource(r);
    expect(err?.message).toContain('unknown resource token "aws:s3/bucket:Bucket"');
    expect(mocks.problems.join("\n")).toContain("aws:s3/bucket:Bucket");
  });

  it("fails a Talos token the v0.8.1 provider does not have", async () => {
    const r = new RawResource("talos:machine/configuration:Configuration", "old", {}, pinned);
    expect((await failureOfResource(r))?.message).toMatch(
      /unknown Talos resource token.*not in the provider v0\.8\.1/,
    );
  });

  it("fails an invoke nobody answers", async () => {
    const out = pulumi.runtime.invokeOutput("talos:machine/getSecrets:getSecrets", {}, pinned);
    expect((await failureOf(out))?.message).toContain(
      'unknown invoke token "talos:machine/getSecrets:getSecrets"',
    );
    expect(mocks.problems).toHaveLength(1);
  });

  it("fails a Talos input name the provider does not take", async () => {
    const r = new RawResource(
      "talos:machine/bootstrap:Bootstrap",
      "bs",
      { node: "10.0.0.1", nodes: ["x"] },
      pinned,
    );
    expect((await failureOfResource(r))?.message).toContain('unknown input "nodes"');
  });

  it("fails a Talos resource missing a required input", async () => {
    // The generated SDK refuses this itself; a raw registration shows the mocks would too.
    const kc = new RawResource(
      "talos:cluster/kubeconfig:Kubeconfig",
      "kc",
      { clientConfiguration: creds },
      pinned,
    );
    expect((await failureOfResource(kc))?.message).toContain('missing required input "node"');
  });

  it("fails a required invoke input that is missing", async () => {
    const out = talos.cluster.getHealthOutput({
      clientConfiguration: creds,
      controlPlaneNodes: ["10.0.0.1"],
      endpoints: undefined as unknown as string[],
    });
    expect((await failureOf(out))?.message).toContain('missing required input "endpoints"');
  });

  it("fails a clientConfiguration without its clientKey", async () => {
    const partial = { caCertificate: "Y2E=", clientCertificate: "Y3J0" } as unknown as typeof creds;
    const bs = new talos.machine.Bootstrap("bs", { node: "10.0.0.1", clientConfiguration: partial });
    const err = await failureOfResource(bs);
    expect(err?.message).toContain("clientConfiguration.clientKey: missing required field");
  });

  it("fails an object field the provider's type does not have", async () => {
    const bs = new talos.machine.Bootstrap("bs", {
      node: "10.0.0.1",
      clientConfiguration: { ...creds, ca: "x" } as typeof creds,
    });
    expect((await failureOfResource(bs))?.message).toContain("clientConfiguration.ca: unknown field");
  });

  it("fails a value of the wrong primitive type", async () => {
    const ca = new talos.machine.ConfigurationApply("ca", {
      node: "10.0.0.1",
      clientConfiguration: creds,
      machineConfigurationInput: "version: v1alpha1\n",
      onDestroy: { reset: "yes" as unknown as boolean },
    });
    expect((await failureOfResource(ca))?.message).toContain("onDestroy.reset: expected a boolean");
  });

  it("fails values the provider itself rejects at plan time", async () => {
    const ca = new talos.machine.ConfigurationApply("ca", {
      node: "10.0.0.1",
      clientConfiguration: creds,
      machineConfigurationInput: "version: v1alpha1\n",
      applyMode: "immediately",
      configPatches: ["machine: [unclosed"],
      timeouts: { create: "ten minutes" },
    });
    const message = (await failureOfResource(ca))?.message ?? "";
    expect(message).toContain('applyMode: "immediately" is not one of');
    expect(message).toContain("configPatches[0]: not valid YAML");
    expect(message).toContain('timeouts.create: "ten minutes" is not a Go duration');
  });

  it("fails a Talos resource registered without the pinned plugin version", async () => {
    const r = new RawResource("talos:imageFactory/schematic:Schematic", "unpinned", {
      schematic: "customization: {}\n",
    });
    expect((await failureOfResource(r))?.message).toContain('plugin version "" is not the pinned 0.8.1');
  });

  it("lets a test fail an invoke the way the provider would", async () => {
    const out = talos.cluster.getHealthOutput({
      clientConfiguration: creds,
      controlPlaneNodes: ["10.0.0.99"],
      endpoints: ["10.0.0.99"],
    });
    expect((await failureOf(out))?.message).toContain(HEALTH_TIMEOUT);
    // An injected failure is the scenario under test, not a contract violation.
    expect(mocks.problems).toEqual([]);
  });

  it("accepts any kubernetes:<group>/<version>:<Kind> token and rejects malformed ones", async () => {
    const installation = new RawResource("kubernetes:operator.tigera.io/v1:Installation", "calico", {
      apiVersion: "operator.tigera.io/v1",
      kind: "Installation",
      metadata: { name: "default" },
    });
    expect(await promiseOf(installation.id)).toBe("calico-id");
    const bad = new RawResource("kubernetes:Installation", "bad", {});
    expect((await failureOfResource(bad))?.message).toContain(
      'unknown resource token "kubernetes:Installation"',
    );
  });
});

describe("a valid Secrets -> configuration -> ConfigurationApply chain", () => {
  it("succeeds with realistic, secret outputs", async () => {
    const secrets = new talos.machine.Secrets("secrets", { talosVersion: "v1.13.9" });
    const machineConfig = talos.machine.getConfigurationOutput({
      clusterName: "homelab",
      clusterEndpoint: "https://192.168.1.9:6443",
      machineSecrets: secrets.machineSecrets,
      machineType: "controlplane",
      talosVersion: "v1.13.9",
      kubernetesVersion: "1.36.2",
    });
    const apply = new talos.machine.ConfigurationApply("cp-1", {
      node: "192.168.1.10",
      clientConfiguration: secrets.clientConfiguration,
      machineConfigurationInput: machineConfig.machineConfiguration,
      configPatches: [
        "machine:\n  network:\n    hostname: cp-1\n",
        "apiVersion: v1alpha1\nkind: Layer2VIPConfig\nname: 192.168.1.9\nlink: eth0\n",
      ],
    });

    const cc = await promiseOf(secrets.clientConfiguration);
    expect(Buffer.from(cc!.caCertificate, "base64").toString()).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    expect(Buffer.from(cc!.clientKey, "base64").toString()).toMatch(/^-----BEGIN ED25519 PRIVATE KEY-----\n/);
    const ms = await promiseOf(secrets.machineSecrets);
    expect(Object.keys(ms!).sort()).toEqual(["certs", "cluster", "secrets", "trustdinfo"]);
    expect(ms!.secrets.bootstrapToken).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(await isSecret(secrets.clientConfiguration)).toBe(true);
    expect(await isSecret(secrets.machineSecrets)).toBe(true);

    const rendered = await promiseOf(apply.machineConfiguration);
    const docs = parseAllDocuments(rendered!).map((d) => d.toJS());
    expect(docs[0]).toMatchObject({
      version: "v1alpha1",
      machine: { type: "controlplane", token: ms!.trustdinfo.token, network: { hostname: "cp-1" } },
      cluster: { clusterName: "homelab", controlPlane: { endpoint: "https://192.168.1.9:6443" } },
    });
    expect(docs[0].machine.kubelet.image).toBe("ghcr.io/siderolabs/kubelet:v1.36.2");
    expect(docs.map((d) => d.kind)).toEqual([undefined, "HostnameConfig", "Layer2VIPConfig"]);
    expect(await promiseOf(apply.machineConfigurationHash)).toMatch(/^[0-9a-f]{64}$/);
    expect(await promiseOf(apply.resolvedApplyMode)).toBe("auto");
    expect(await promiseOf(apply.endpoint)).toBe("192.168.1.10");
    expect(await isSecret(apply.machineConfiguration)).toBe(true);
    expect(await isSecret(machineConfig)).toBe(true);

    await settle();
    expect(mocks.problems).toEqual([]);
    const recorded = mocks.resources.find(
      (r) => r.type === "talos:machine/configurationApply:ConfigurationApply",
    );
    expect(recorded?.secretInputs).toEqual(
      expect.arrayContaining(["machineConfigurationInput", "clientConfiguration"]),
    );
    expect(recorded?.urn).toBe(
      `urn:pulumi:test::homelab::${"talos:machine/configurationApply:ConfigurationApply"}::cp-1`,
    );
    expect(recorded?.options).toMatchObject(pinned);
  });

  it("renders a worker config without the control plane's keys", async () => {
    const secrets = new talos.machine.Secrets("secrets-w");
    const cfg = talos.machine.getConfigurationOutput({
      clusterName: "homelab",
      clusterEndpoint: "https://192.168.1.9:6443",
      machineSecrets: secrets.machineSecrets,
      machineType: "worker",
    });
    const text = (await promiseOf(cfg))!.machineConfiguration;
    const doc = parseYaml(text.split("---\n")[0]);
    expect(doc.machine.type).toBe("worker");
    expect(doc.machine.ca.key).toBe("");
    expect(doc.cluster.apiServer).toBeUndefined();
    expect(doc.machine.install).toMatchObject({
      disk: "/dev/sda",
      image: "ghcr.io/siderolabs/installer:v1.13.0",
    });
  });

  it("answers a kubeconfig and a talosconfig that point where they should", async () => {
    const secrets = new talos.machine.Secrets("secrets-k");
    const kc = new talos.cluster.Kubeconfig("kc", {
      node: "192.168.1.10",
      clientConfiguration: secrets.clientConfiguration,
    });
    const raw = parseYaml((await promiseOf(kc.kubeconfigRaw))!);
    expect(raw.clusters[0].cluster.server).toBe("https://192.168.1.10:6443");
    expect(raw["current-context"]).toBe(raw.contexts[0].name);
    const kcc = await promiseOf(kc.kubernetesClientConfiguration);
    expect(kcc?.host).toBe("https://192.168.1.10:6443");
    expect(await isSecret(kc.kubeconfigRaw)).toBe(true);

    const tc = talos.client.getConfigurationOutput({
      clusterName: "homelab",
      clientConfiguration: secrets.clientConfiguration,
      endpoints: ["192.168.1.10"],
      nodes: ["192.168.1.10", "192.168.1.20"],
    });
    const talosconfig = parseYaml((await promiseOf(tc))!.talosConfig);
    expect(talosconfig.context).toBe("homelab");
    expect(talosconfig.contexts.homelab.endpoints).toEqual(["192.168.1.10"]);
    expect(talosconfig.contexts.homelab.key).toBe((await promiseOf(secrets.clientConfiguration))!.clientKey);
  });

  it("gives a schematic the deterministic sha256 id the Image Factory would", async () => {
    const a = new talos.imagefactory.Schematic("a", { schematic: "customization: {}\n" });
    const b = new talos.imagefactory.Schematic("b", { schematic: "customization: {}\n" });
    const idA = await promiseOf(a.id);
    expect(idA).toMatch(/^[0-9a-f]{64}$/);
    expect(await promiseOf(b.id)).toBe(idA);
  });
});

describe("the other providers the program uses", () => {
  it("answers Kubernetes objects, Helm releases and local commands through their real SDKs", async () => {
    const k8s = await import("@pulumi/kubernetes");
    const command = await import("@pulumi/command");
    const provider = new k8s.Provider("k8s", { kubeconfig: pulumi.secret("apiVersion: v1\nkind: Config\n") });
    const ns = new k8s.core.v1.Namespace("tigera-operator", {}, { provider });
    const release = new k8s.helm.v3.Release(
      "calico",
      { chart: "tigera-operator", version: "v3.31.4", namespace: "tigera-operator" },
      { provider },
    );
    const installation = new k8s.apiextensions.CustomResource(
      "default",
      { apiVersion: "operator.tigera.io/v1", kind: "Installation", metadata: { name: "default" } },
      { provider },
    );
    const upgrade = new command.local.Command("upgrade-n1", { create: "talosctl version" });

    expect(await promiseOf(ns.metadata.name)).toMatch(/^tigera-operator-[0-9a-f]{8}$/);
    expect(await promiseOf(release.status)).toMatchObject({
      status: "deployed",
      namespace: "tigera-operator",
    });
    expect(await promiseOf(installation.id)).toBe("default-id");
    expect(await promiseOf(upgrade.stdout)).toBe("");
    await settle();
    expect(mocks.problems).toEqual([]);
    const recordedProvider = mocks.resources.find((r) => r.type === "pulumi:providers:kubernetes");
    expect(recordedProvider?.secretInputs).toContain("kubeconfig");
    const recordedRelease = mocks.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release");
    expect(recordedRelease?.provider).toMatch(
      /^urn:pulumi:test::homelab::pulumi:providers:kubernetes::k8s::/,
    );
  });
});

describe("in a preview of a new stack", () => {
  beforeAll(async () => {
    mocks = await installMocks({ preview: true });
  });

  it("accepts unknown inputs and answers unknown for what only creating would tell", async () => {
    const secrets = new talos.machine.Secrets("secrets-p");
    const cfg = talos.machine.getConfigurationOutput({
      clusterName: "homelab",
      clusterEndpoint: "https://192.168.1.9:6443",
      machineSecrets: secrets.machineSecrets,
      machineType: "controlplane",
    });
    const apply = new talos.machine.ConfigurationApply("cp-p", {
      node: "192.168.1.10",
      clientConfiguration: secrets.clientConfiguration,
      machineConfigurationInput: cfg.machineConfiguration,
    });
    const kc = new talos.cluster.Kubeconfig("kc-p", {
      node: "192.168.1.10",
      clientConfiguration: secrets.clientConfiguration,
    });

    expect(await isKnown(secrets.machineSecrets)).toBe(false);
    expect(await isKnown(secrets.id)).toBe(false);
    expect(await isKnown(kc.kubeconfigRaw)).toBe(false);
    expect(await isKnown(apply.machineConfiguration)).toBe(false);
    // Known inputs stay known: the endpoint defaults to the node at plan time.
    expect(await promiseOf(apply.endpoint)).toBe("192.168.1.10");
    await settle();
    expect(mocks.problems).toEqual([]);
    const recorded = mocks.resources.find((r) => r.name === "cp-p");
    expect(pulumi.isUnknown(recorded?.inputs.machineConfigurationInput)).toBe(true);
  });

  it("still rejects what would be wrong whatever the unknowns resolve to", async () => {
    const secrets = new talos.machine.Secrets("secrets-q");
    const bs = new talos.machine.Bootstrap("bs-q", {
      node: "192.168.1.10",
      clientConfiguration: secrets.clientConfiguration,
      timeouts: { create: "soon" },
    });
    expect((await failureOfResource(bs))?.message).toContain('timeouts.create: "soon" is not a Go duration');
  });
});
