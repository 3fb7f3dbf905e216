/**
 * The generated Talos SDK (@pulumiverse/talos 0.8.1 from Pulumi's codegen, sdks/talos) as the program uses it,
 * against the provider's own contract (tests/fixtures/talos-provider-contract.json, derived from the v0.8.1
 * schema).
 *
 * The SDK is generated, so its tokens and property names are the provider's; what is checked here is what the
 * engine will read to pick the plugin: `version` and `pluginDownloadURL` on every registration and invoke
 * (read by `installMocks` from the RegisterResourceRequest and ResourceInvokeRequest the SDK builds), that the
 * strict mocks accept everything the program uses, and which outputs the SDK asks the engine to keep secret.
 */
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { TALOS_CONTRACT } from "./support/contract";
import { installMocks, type StrictMocks } from "./support/mocks";
import { promiseOf, settle } from "./support/outputs";

type Sdk = typeof import("@pulumiverse/talos");
let mocks: StrictMocks;
let talos: Sdk;

beforeAll(async () => {
  mocks = await installMocks();
  talos = await import("@pulumiverse/talos");
});

/** The resources and functions the program uses (components/cluster, components/machine). */
const RESOURCES = [
  "talos:machine/secrets:Secrets",
  "talos:machine/configurationApply:ConfigurationApply",
  "talos:machine/bootstrap:Bootstrap",
  "talos:cluster/kubeconfig:Kubeconfig",
  "talos:imageFactory/schematic:Schematic",
];
const FUNCTIONS = [
  "talos:machine/getConfiguration:getConfiguration",
  "talos:client/getConfiguration:getConfiguration",
  "talos:cluster/getHealth:getHealth",
];

describe("the pinned SDK", () => {
  it("is generated for the provider release the contract was derived from", () => {
    const pkg = JSON.parse(fs.readFileSync(require.resolve("@pulumiverse/talos/package.json"), "utf8")) as {
      version: string;
      pulumi: Record<string, unknown>;
    };
    expect(pkg.version).toBe(TALOS_CONTRACT.package.version);
    expect(pkg.pulumi).toMatchObject({
      resource: true,
      name: "talos",
      version: TALOS_CONTRACT.package.version,
      server: TALOS_CONTRACT.package.pluginDownloadURL,
    });
    expect(TALOS_CONTRACT.package.version).toBe("0.8.1");
    expect(TALOS_CONTRACT.package.pluginDownloadURL).toBe("github://api.github.com/pulumiverse");
  });

  it("knows every token the program uses", () => {
    for (const token of RESOURCES) expect(TALOS_CONTRACT.resources[token], token).toBeDefined();
    for (const token of FUNCTIONS) expect(TALOS_CONTRACT.functions[token], token).toBeDefined();
  });
});

describe("what the SDK actually registers", () => {
  const creds = { caCertificate: "Y2E=", clientCertificate: "Y3J0", clientKey: "a2V5" };
  let built: Record<string, pulumi.CustomResource>;

  beforeAll(async () => {
    mocks.reset();
    // Every optional argument set, so every input the constructors can send is sent.
    built = {
      ["talos:machine/secrets:Secrets"]: new talos.machine.Secrets("secrets", { talosVersion: "v1.13.9" }),
      ["talos:machine/configurationApply:ConfigurationApply"]: new talos.machine.ConfigurationApply("apply", {
        node: "10.0.0.1",
        endpoint: "10.0.0.1",
        clientConfiguration: creds,
        machineConfigurationInput: "version: v1alpha1\n",
        configPatches: ["machine:\n  network:\n    hostname: n1\n"],
        applyMode: "no_reboot",
        onDestroy: { reset: true, graceful: true, reboot: true },
        timeouts: { create: "10m", update: "10m", delete: "10m" },
      }),
      ["talos:machine/bootstrap:Bootstrap"]: new talos.machine.Bootstrap("bootstrap", {
        node: "10.0.0.1",
        endpoint: "10.0.0.1",
        clientConfiguration: creds,
        timeouts: { create: "10m" },
      }),
      ["talos:cluster/kubeconfig:Kubeconfig"]: new talos.cluster.Kubeconfig("kubeconfig", {
        node: "10.0.0.1",
        endpoint: "10.0.0.1",
        clientConfiguration: creds,
        certificateRenewalDuration: "720h",
        timeouts: { create: "10m", update: "10m" },
      }),
      ["talos:imageFactory/schematic:Schematic"]: new talos.imagefactory.Schematic("schematic", {
        schematic: "customization: {}\n",
      }),
    };
    const secrets = built["talos:machine/secrets:Secrets"] as InstanceType<Sdk["machine"]["Secrets"]>;
    await Promise.all([
      promiseOf(
        talos.machine.getConfigurationOutput({
          clusterName: "homelab",
          clusterEndpoint: "https://10.0.0.1:6443",
          machineSecrets: secrets.machineSecrets,
          machineType: "controlplane",
          talosVersion: "v1.13.9",
          kubernetesVersion: "1.36.0",
          configPatches: ["machine: {}\n"],
          docs: false,
          examples: false,
        }),
      ),
      promiseOf(
        talos.client.getConfigurationOutput({
          clusterName: "homelab",
          clientConfiguration: creds,
          endpoints: ["10.0.0.1"],
          nodes: ["10.0.0.1"],
        }),
      ),
      promiseOf(
        talos.cluster.getHealthOutput({
          clientConfiguration: creds,
          controlPlaneNodes: ["10.0.0.1"],
          workerNodes: ["10.0.0.2"],
          endpoints: ["10.0.0.1"],
          skipKubernetesChecks: true,
          timeouts: { read: "10m" },
        }),
      ),
      ...Object.values(built).map((r) => promiseOf(r.urn)),
    ]);
    await settle();
  });

  it("registers and invokes without a single contract violation", () => {
    expect(mocks.problems).toEqual([]);
  });

  it("registers every Talos resource with version 0.8.1 from the pulumiverse download URL", () => {
    const talosResources = mocks.resources.filter((r) => r.type.startsWith("talos:"));
    expect(talosResources.map((r) => r.type).sort()).toEqual([...RESOURCES].sort());
    for (const r of talosResources) {
      expect({ type: r.type, ...r.options }).toMatchObject({
        type: r.type,
        version: "0.8.1",
        pluginDownloadURL: "github://api.github.com/pulumiverse",
      });
    }
  });

  it("invokes every Talos function with version 0.8.1 from the pulumiverse download URL", () => {
    expect(mocks.invokes.map((i) => i.token).sort()).toEqual([...FUNCTIONS].sort());
    for (const i of mocks.invokes) {
      expect({ token: i.token, ...i.options }).toEqual({
        token: i.token,
        version: "0.8.1",
        pluginDownloadURL: "github://api.github.com/pulumiverse",
      });
    }
  });

  it("asks the engine to keep every output the schema marks secret", () => {
    // Top-level secret outputs are the SDK's job (additionalSecretOutputs); secret fields nested inside an
    // output (machineSecrets' keys) are the provider's, which returns them as secrets: the engine tier checks
    // that no key reaches the state file in clear.
    for (const token of RESOURCES) {
      const outputs = TALOS_CONTRACT.resources[token].outputs as Record<string, { secret?: boolean }>;
      const secret = Object.keys(outputs).filter((name) => outputs[name].secret === true);
      const declared = mocks.resources.find((r) => r.type === token)?.options?.additionalSecretOutputs ?? [];
      expect({ token, unprotected: secret.filter((name) => !declared.includes(name)) }).toEqual({
        token,
        unprotected: [],
      });
    }
  });

  it("marks the machine configuration input secret on the wire", () => {
    const apply = mocks.resources.find(
      (r) => r.type === "talos:machine/configurationApply:ConfigurationApply",
    );
    expect(apply?.secretInputs).toContain("machineConfigurationInput");
  });
});
