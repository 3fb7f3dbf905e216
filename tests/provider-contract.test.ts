/**
 * The hand-written Talos bindings (components/talos/provider.ts) against the provider's own contract
 * (tests/fixtures/talos-provider-contract.json, derived from the v0.8.1 schema).
 *
 * A wrong token or property name in the bindings type-checks and passes every mocked test, and only fails
 * on a real `pulumi up` against the plugin. These tests catch it here.
 *
 * How the version pin is checked: the SDK's mocks (`MockResourceArgs`, `MockCallArgs`) carry no version or
 * download URL, and stack transforms cannot run under mocks. `installMocks` therefore wraps the mock monitor
 * and reads `version` and `pluginDownloadURL` from the RegisterResourceRequest and ResourceInvokeRequest the
 * SDK actually builds. Those are the fields the engine reads to pick the plugin.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { installMocks, TALOS_CONTRACT, type StrictMocks } from "./support/mocks";
import { promiseOf, settle } from "./support/outputs";

type Provider = typeof import("../components/talos/provider");
let mocks: StrictMocks;
let talos: Provider;

beforeAll(async () => {
  mocks = await installMocks();
  talos = await import("../components/talos/provider");
});

type Manifest = Record<string, { readonly inputs: readonly string[]; readonly outputs: readonly string[] }>;
const manifest = (): { resources: Manifest; functions: Manifest } => talos.BINDINGS_MANIFEST;

describe("BINDINGS_MANIFEST against the v0.8.1 contract", () => {
  it("lists every token the bindings use", () => {
    const listed = [...Object.keys(manifest().resources), ...Object.keys(manifest().functions)].sort();
    expect(listed).toEqual(Object.values(talos.TOKENS).sort());
  });

  for (const kind of ["resources", "functions"] as const) {
    it(`names only ${kind} tokens, inputs and outputs the provider has`, () => {
      const missing: string[] = [];
      for (const [token, used] of Object.entries(manifest()[kind])) {
        const entry = TALOS_CONTRACT[kind][token];
        if (!entry) {
          missing.push(`${kind} token ${token}`);
          continue;
        }
        for (const name of used.inputs) if (!entry.inputs[name]) missing.push(`${token} input ${name}`);
        for (const name of used.outputs) if (!entry.outputs[name]) missing.push(`${token} output ${name}`);
      }
      expect(missing).toEqual([]);
    });

    it(`sends every input the provider requires for the ${kind} it uses`, () => {
      const uncovered: string[] = [];
      for (const [token, used] of Object.entries(manifest()[kind])) {
        for (const name of TALOS_CONTRACT[kind][token]?.requiredInputs ?? []) {
          if (!used.inputs.includes(name)) uncovered.push(`${token} requires ${name}`);
        }
      }
      expect(uncovered).toEqual([]);
    });
  }

  it("pins the provider release the contract was derived from", () => {
    expect(talos.TALOS_PROVIDER_VERSION).toBe(TALOS_CONTRACT.package.version);
    expect(talos.TALOS_PLUGIN_DOWNLOAD_URL).toBe(TALOS_CONTRACT.package.pluginDownloadURL);
    expect(TALOS_CONTRACT.package.version).toBe("0.8.1");
    expect(TALOS_CONTRACT.package.pluginDownloadURL).toBe("github://api.github.com/pulumiverse");
  });
});

describe("what the bindings actually register", () => {
  const creds = { caCertificate: "Y2E=", clientCertificate: "Y3J0", clientKey: "a2V5" };
  let built: Record<string, pulumi.CustomResource>;

  beforeAll(async () => {
    mocks.reset();
    // Every optional argument set, so every input the constructors can send is sent.
    built = {
      [talos.TOKENS.secrets]: new talos.Secrets("secrets", { talosVersion: "v1.13.9" }),
      [talos.TOKENS.configurationApply]: new talos.ConfigurationApply("apply", {
        node: "10.0.0.1",
        endpoint: "10.0.0.1",
        clientConfiguration: creds,
        machineConfigurationInput: "version: v1alpha1\n",
        configPatches: ["machine:\n  network:\n    hostname: n1\n"],
        applyMode: "no_reboot",
        onDestroy: { reset: true, graceful: true, reboot: true },
        timeouts: { create: "10m", update: "10m", delete: "10m" },
      }),
      [talos.TOKENS.bootstrap]: new talos.Bootstrap("bootstrap", {
        node: "10.0.0.1",
        endpoint: "10.0.0.1",
        clientConfiguration: creds,
        timeouts: { create: "10m" },
      }),
      [talos.TOKENS.kubeconfig]: new talos.Kubeconfig("kubeconfig", {
        node: "10.0.0.1",
        endpoint: "10.0.0.1",
        clientConfiguration: creds,
        certificateRenewalDuration: "720h",
        timeouts: { create: "10m", update: "10m" },
      }),
      [talos.TOKENS.schematic]: new talos.Schematic("schematic", { schematic: "customization: {}\n" }),
    };
    const secrets = built[talos.TOKENS.secrets] as InstanceType<Provider["Secrets"]>;
    await Promise.all([
      promiseOf(
        talos.getMachineConfigurationOutput({
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
        talos.getClientConfigurationOutput({
          clusterName: "homelab",
          clientConfiguration: creds,
          endpoints: ["10.0.0.1"],
          nodes: ["10.0.0.1"],
        }),
      ),
      promiseOf(
        talos.getHealthOutput({
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
    expect(talosResources.map((r) => r.type).sort()).toEqual(Object.keys(manifest().resources).sort());
    for (const r of talosResources) {
      expect({ type: r.type, ...r.options }).toMatchObject({
        type: r.type,
        version: "0.8.1",
        pluginDownloadURL: "github://api.github.com/pulumiverse",
      });
    }
  });

  it("invokes every Talos function with version 0.8.1 from the pulumiverse download URL", () => {
    expect(mocks.invokes.map((i) => i.token).sort()).toEqual(Object.keys(manifest().functions).sort());
    for (const i of mocks.invokes) {
      expect({ token: i.token, ...i.options }).toEqual({
        token: i.token,
        version: "0.8.1",
        pluginDownloadURL: "github://api.github.com/pulumiverse",
      });
    }
  });

  it("sends exactly the inputs the manifest lists", () => {
    for (const [token, used] of Object.entries(manifest().resources)) {
      const recorded = mocks.resources.find((r) => r.type === token);
      expect({ token, inputs: Object.keys(recorded?.inputs ?? {}).sort() }).toEqual({
        token,
        inputs: [...used.inputs].sort(),
      });
    }
    for (const [token, used] of Object.entries(manifest().functions)) {
      const recorded = mocks.invokes.find((i) => i.token === token);
      expect({ token, inputs: Object.keys(recorded?.inputs ?? {}).sort() }).toEqual({
        token,
        inputs: [...used.inputs].sort(),
      });
    }
  });

  it("exposes every output the manifest lists as an Output property", () => {
    for (const [token, used] of Object.entries(manifest().resources)) {
      const resource = built[token] as unknown as Record<string, unknown>;
      const missing = used.outputs.filter((name) => !pulumi.Output.isInstance(resource[name]));
      expect({ token, missing }).toEqual({ token, missing: [] });
    }
  });

  it("asks the engine to keep every output that carries key material secret", () => {
    for (const [token, used] of Object.entries(manifest().resources)) {
      const entry = TALOS_CONTRACT.resources[token];
      const carriesSecrets = used.outputs.filter((name) =>
        JSON.stringify(entry.outputs[name]).includes('"secret":true'),
      );
      const declared = mocks.resources.find((r) => r.type === token)?.options?.additionalSecretOutputs ?? [];
      expect({ token, unprotected: carriesSecrets.filter((name) => !declared.includes(name)) }).toEqual({
        token,
        unprotected: [],
      });
    }
  });

  it("marks the machine configuration input secret on the wire", () => {
    const apply = mocks.resources.find((r) => r.type === talos.TOKENS.configurationApply);
    expect(apply?.secretInputs).toContain("machineConfigurationInput");
  });
});
