/**
 * Strict, realistic Pulumi mocks shared by every test file (and by the fake-engine harness).
 *
 * Strict: a resource or invoke token nothing in this project should use fails the program, and every Talos
 * resource and invoke is checked against the provider contract derived from the v0.8.1 schema
 * (tests/fixtures/talos-provider-contract.json): unknown input names, missing required inputs, wrong types,
 * object inputs with unknown or missing fields, plus the few value checks the provider itself makes at plan
 * time. Every violation is recorded in `problems` AND thrown, so the Output behind it rejects.
 *
 * Realistic: outputs have the shapes and secrecy the real provider gives them (PEM material base64-encoded
 * as Talos does, YAML configs with the patches merged, schema-secret outputs marked secret), ids are
 * deterministic, and during a preview the values a provider only learns by creating something are unknown.
 *
 * `installMocks` also wraps the mock monitor so the registration options the SDK sends to the engine
 * (version, pluginDownloadURL, additionalSecretOutputs, parent, ...) are recorded: `pulumi.runtime.Mocks`
 * alone never sees them. The mock monitor ignores `additionalSecretOutputs`; these mocks honour it.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- inputs and state are untyped wire data whatever the program sends */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { contractViolations, shapeHasSecret, TALOS_CONTRACT, type ContractEntry } from "./contract";
import { containsUnknown, isPlainObject, UNKNOWN, unwrapSecrets } from "./wire";

// ---------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------

/** What the SDK told the engine about a registration or invoke besides its inputs (needs `installMocks`). */
export interface RequestOptions {
  version?: string;
  pluginDownloadURL?: string;
  additionalSecretOutputs?: string[];
  parent?: string;
  dependencies?: string[];
  protect?: boolean;
  ignoreChanges?: string[];
  retainOnDelete?: boolean;
  replaceOnChanges?: string[];
}

export interface RecordedResource {
  type: string;
  name: string;
  /** Inputs with the secret wrappers removed (unknowns, in a preview, are `pulumi` Unknown values). */
  inputs: Record<string, any>;
  /** Top-level input names whose value was, or contained, a secret. */
  secretInputs: string[];
  id: string;
  urn?: string;
  /** Provider reference (`urn::id`) when one was passed explicitly or inherited; unset for default providers. */
  provider?: string;
  custom: boolean;
  /** True for `Resource.get`-style reads. */
  read?: boolean;
  /** The state the mocks answered with (secret values unwrapped). */
  outputs?: Record<string, any>;
  /** Registration options, recorded only when the mocks were installed with {@link installMocks}. */
  options?: RequestOptions;
}

export interface RecordedInvoke {
  token: string;
  /** Invoke inputs. The SDK strips secret markers from invoke arguments before they reach the engine. */
  inputs: Record<string, any>;
  provider?: string;
  /** Recorded only when the mocks were installed with {@link installMocks}. */
  options?: Pick<RequestOptions, "version" | "pluginDownloadURL">;
}

export interface StrictMocks extends pulumi.runtime.Mocks {
  resources: RecordedResource[];
  invokes: RecordedInvoke[];
  problems: string[];
  reset(): void;
  /**
   * Hands the options of the registration or invoke the mock monitor is about to pass to `newResource`/`call`
   * to the mocks (the monitor does not). {@link installMocks} calls it; a custom harness may too.
   */
  annotateNext(meta: PendingRequest): void;
}

/** Options of the request the monitor is about to forward; `record` is filled in by the mocks. */
export interface PendingRequest extends RequestOptions {
  kind: "register" | "read" | "invoke";
  /** Resource type or invoke token, to match the annotation with the call it belongs to. */
  type: string;
  name?: string;
  record?: RecordedResource | RecordedInvoke;
}

export interface StrictMockOptions {
  /** Return an error message to make an invoke fail (as the provider would, e.g. a health check timing out). */
  failInvoke?: (token: string, inputs: any) => string | undefined;
  /** Additional invoke tokens to answer, for functions a test deliberately brings in. */
  extraInvokes?: Record<string, (inputs: Record<string, any>) => Record<string, any>>;
}

/**
 * The SDK reports a failed invoke with `new Error(err.details)`, the gRPC error's details: a plain Error
 * thrown by a mock would reach the program as an empty message. Carrying `details` keeps the message.
 */
export class MockProviderError extends Error {
  readonly details: string;
  constructor(message: string) {
    super(message);
    this.name = "MockProviderError";
    this.details = message;
  }
}

// ---------------------------------------------------------------------------------------------------
// Realistic values
// ---------------------------------------------------------------------------------------------------

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function bytesFrom(seed: string, n: number): Buffer {
  const chunks: Buffer[] = [];
  for (let i = 0; Buffer.concat(chunks).length < n; i++) {
    chunks.push(createHash("sha256").update(`${seed}/${i}`).digest());
  }
  return Buffer.concat(chunks).subarray(0, n);
}

function b64(text: string): string {
  return Buffer.from(text).toString("base64");
}

/** A PEM block with deterministic body bytes. */
function pem(label: string, seed: string, size: number): string {
  const body = bytesFrom(seed, size).toString("base64");
  const lines = body.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** Certificates and keys as Talos hands them out: base64 of the PEM. */
const cert = (seed: string): string => b64(pem("CERTIFICATE", `${seed}/crt`, 420));
const ecKey = (seed: string): string => b64(pem("EC PRIVATE KEY", `${seed}/key`, 121));
const edKey = (seed: string): string => b64(pem("ED25519 PRIVATE KEY", `${seed}/key`, 48));
const rsaKey = (seed: string): string => b64(pem("RSA PRIVATE KEY", `${seed}/key`, 1190));
const token = (seed: string, a: number, b: number): string => {
  const hex = sha256(seed);
  return `${hex.slice(0, a)}.${hex.slice(a, a + b)}`;
};
const secret32 = (seed: string): string => bytesFrom(seed, 32).toString("base64");

function clientConfiguration(seed: string) {
  return {
    caCertificate: cert(`${seed}/os`),
    clientCertificate: cert(`${seed}/admin`),
    clientKey: edKey(`${seed}/admin`),
  };
}

function machineSecrets(seed: string) {
  return {
    certs: {
      etcd: { cert: cert(`${seed}/etcd`), key: ecKey(`${seed}/etcd`) },
      k8s: { cert: cert(`${seed}/k8s`), key: ecKey(`${seed}/k8s`) },
      k8sAggregator: { cert: cert(`${seed}/aggregator`), key: ecKey(`${seed}/aggregator`) },
      k8sServiceaccount: { key: rsaKey(`${seed}/serviceaccount`) },
      os: { cert: cert(`${seed}/os`), key: edKey(`${seed}/os`) },
    },
    cluster: { id: secret32(`${seed}/cluster-id`), secret: secret32(`${seed}/cluster-secret`) },
    secrets: {
      bootstrapToken: token(`${seed}/bootstrap`, 6, 16),
      secretboxEncryptionSecret: secret32(`${seed}/secretbox`),
    },
    trustdinfo: { token: token(`${seed}/trustd`, 6, 16) },
  };
}

/** The provider's machinery defaults (TF provider v0.11.0 / Talos machinery v1.13.0). */
const DEFAULT_TALOS_VERSION = "v1.13.0";
const DEFAULT_KUBERNETES_VERSION = "1.36.0";

function minorOf(version: string): number {
  const m = /^v?1\.(\d+)/.exec(version);
  return m ? Number(m[1]) : 13;
}

function hostOf(endpoint: string): string {
  try {
    return new URL(endpoint).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return endpoint;
  }
}

/** A generated machine configuration, shaped like `talosctl gen config` output for the role. */
function generateMachineConfig(inputs: Record<string, any>): string {
  const cp = inputs.machineType === "controlplane";
  const secrets = inputs.machineSecrets as ReturnType<typeof machineSecrets>;
  const k8s = String(inputs.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION).replace(/^v/, "");
  const contract = String(inputs.talosVersion ?? DEFAULT_TALOS_VERSION);
  const withKey = (c: { cert: string; key: string }) => ({ crt: c.cert, key: cp ? c.key : "" });
  const v1alpha1: Record<string, any> = {
    version: "v1alpha1",
    debug: false,
    persist: true,
    machine: {
      type: inputs.machineType,
      token: secrets.trustdinfo.token,
      ca: withKey(secrets.certs.os),
      certSANs: [],
      kubelet: {
        image: `ghcr.io/siderolabs/kubelet:v${k8s}`,
        defaultRuntimeSeccompProfileEnabled: true,
        disableManifestsDirectory: true,
      },
      network: {},
      // The generator's install image is its own machinery tag whatever `talosVersion` says: that input is
      // only the config contract (NOTES section 2), so a program must patch machine.install.image itself.
      install: {
        disk: "/dev/sda",
        image: `ghcr.io/siderolabs/installer:${DEFAULT_TALOS_VERSION}`,
        wipe: false,
      },
      features: {
        rbac: true,
        apidCheckExtKeyUsage: true,
        diskQuotaSupport: true,
        kubePrism: { enabled: true, port: 7445 },
        hostDNS: { enabled: true, forwardKubeDNSToHost: true },
      },
      ...(cp ? { nodeLabels: { "node.kubernetes.io/exclude-from-external-load-balancers": "" } } : {}),
    },
    cluster: {
      id: secrets.cluster.id,
      secret: secrets.cluster.secret,
      controlPlane: { endpoint: inputs.clusterEndpoint },
      clusterName: inputs.clusterName,
      network: {
        dnsDomain: "cluster.local",
        podSubnets: ["10.244.0.0/16"],
        serviceSubnets: ["10.96.0.0/12"],
      },
      token: secrets.secrets.bootstrapToken,
      ...(cp ? { secretboxEncryptionSecret: secrets.secrets.secretboxEncryptionSecret } : {}),
      ca: withKey(secrets.certs.k8s),
      ...(cp
        ? {
            aggregatorCA: withKey(secrets.certs.k8sAggregator),
            serviceAccount: { key: secrets.certs.k8sServiceaccount.key },
            apiServer: {
              image: `registry.k8s.io/kube-apiserver:v${k8s}`,
              certSANs: [hostOf(String(inputs.clusterEndpoint))],
            },
            controllerManager: { image: `registry.k8s.io/kube-controller-manager:v${k8s}` },
            proxy: { image: `registry.k8s.io/kube-proxy:v${k8s}` },
            scheduler: { image: `registry.k8s.io/kube-scheduler:v${k8s}` },
            etcd: { ca: withKey(secrets.certs.etcd) },
          }
        : {}),
      discovery: { enabled: true, registries: { kubernetes: { disabled: true }, service: {} } },
    },
  };
  const docs: unknown[] = [v1alpha1];
  // Talos 1.12+ generates the hostname as its own document.
  if (minorOf(contract) >= 12) docs.push({ apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "stable" });
  return docs.map((d) => YAML.stringify(d)).join("---\n");
}

function deepMerge(target: Record<string, any>, patch: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (isPlainObject(v) && v.$patch === "delete") {
      delete out[k];
    } else if (isPlainObject(v) && isPlainObject(out[k])) {
      out[k] = deepMerge(out[k], v);
    } else if (Array.isArray(v) && Array.isArray(out[k])) {
      out[k] = [...out[k], ...v];
    } else {
      out[k] = v;
    }
  }
  return out;
}

/**
 * Applies strategic-merge patches the way Talos's configpatcher does for the cases a homelab uses: a patch
 * without `kind` merges into the v1alpha1 document (maps merged, lists appended), a document with `kind`
 * merges into the document of the same kind and name or is appended, `$patch: delete` removes.
 */
function applyPatches(config: string, patches: unknown): string {
  const docs: Record<string, any>[] = YAML.parseAllDocuments(config)
    .map((d) => d.toJS() as unknown)
    .filter(isPlainObject);
  const list = Array.isArray(patches) ? patches.filter((p): p is string => typeof p === "string") : [];
  for (const patch of list) {
    for (const parsed of YAML.parseAllDocuments(patch).map((d) => d.toJS() as unknown)) {
      if (!isPlainObject(parsed)) continue;
      if (typeof parsed.kind === "string") {
        const same = (d: Record<string, any>) => d.kind === parsed.kind && d.name === parsed.name;
        const i = docs.findIndex(same);
        if (parsed.$patch === "delete") {
          if (i >= 0) docs.splice(i, 1);
        } else if (i >= 0) {
          docs[i] = deepMerge(docs[i], parsed);
        } else {
          docs.push(parsed);
        }
      } else {
        const i = docs.findIndex((d) => d.version === "v1alpha1");
        if (i >= 0) docs[i] = deepMerge(docs[i], parsed);
        else docs.unshift({ version: "v1alpha1", ...parsed });
      }
    }
  }
  return docs.map((d) => YAML.stringify(d)).join("---\n");
}

function apiServerUrl(node: string): string {
  return node.includes(":") && !node.startsWith("[") ? `https://[${node}]:6443` : `https://${node}:6443`;
}

function kubeconfig(
  clusterName: string,
  host: string,
  creds: ReturnType<typeof clientConfiguration>,
): string {
  const user = `admin@${clusterName}`;
  return YAML.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: clusterName, cluster: { server: host, "certificate-authority-data": creds.caCertificate } },
    ],
    users: [
      {
        name: user,
        user: { "client-certificate-data": creds.clientCertificate, "client-key-data": creds.clientKey },
      },
    ],
    contexts: [{ name: user, context: { cluster: clusterName, namespace: "default", user } }],
    "current-context": user,
  });
}

function talosconfig(inputs: Record<string, any>): string {
  const cc = inputs.clientConfiguration ?? {};
  const context: Record<string, unknown> = { endpoints: inputs.endpoints ?? [] };
  if (Array.isArray(inputs.nodes) && inputs.nodes.length > 0) context.nodes = inputs.nodes;
  Object.assign(context, { ca: cc.caCertificate, crt: cc.clientCertificate, key: cc.clientKey });
  return YAML.stringify({ context: inputs.clusterName, contexts: { [inputs.clusterName]: context } });
}

// ---------------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------------

/** `kubernetes:<group>/<version>:<Kind>` (core/v1, helm.sh/v3, operator.tigera.io/v1, ...) or `kubernetes:yaml:ConfigFile`. */
const KUBERNETES_TOKEN =
  /^kubernetes:[a-z0-9]([a-z0-9.-]*[a-z0-9])?(\/v[0-9]+((alpha|beta)[0-9]+)?)?:[A-Z][A-Za-z0-9]*$/;
const PROVIDER_TOKEN = /^pulumi:providers:[a-z][a-z0-9-]*$/;
/** A component type: `package:module:Type` (also `package:Type`). */
const COMPONENT_TOKEN = /^[A-Za-z][\w-]*:([\w./-]*:)?[A-Za-z][\w$]*$/;
const COMMAND_INPUTS = new Set([
  "addPreviousOutputInEnv",
  "archivePaths",
  "assetPaths",
  "create",
  "delete",
  "dir",
  "environment",
  "interpreter",
  "logging",
  "stdin",
  "triggers",
  "update",
]);

// ---------------------------------------------------------------------------------------------------
// The mocks
// ---------------------------------------------------------------------------------------------------

export function createStrictMocks(options: StrictMockOptions = {}): StrictMocks {
  const contract = TALOS_CONTRACT;
  let pending: PendingRequest | undefined;

  const takePending = (
    kind: PendingRequest["kind"],
    type: string,
    name?: string,
  ): PendingRequest | undefined => {
    const p = pending;
    pending = undefined;
    return p && p.kind === kind && p.type === type && (name === undefined || p.name === name) ? p : undefined;
  };

  const fail = (message: string): never => {
    mocks.problems.push(message);
    throw new MockProviderError(message);
  };

  /** Contract violations are problems, and the request fails with all of them. */
  const checkContract = (token: string, what: string, entry: ContractEntry, inputs: Record<string, any>) => {
    const violations = contractViolations(token, what, entry, inputs);
    if (violations.length === 0) return;
    mocks.problems.push(...violations);
    throw new MockProviderError(violations.join("\n"));
  };

  const lastClusterName = (): string => {
    for (let i = mocks.invokes.length - 1; i >= 0; i--) {
      const inv = mocks.invokes[i];
      if (
        inv.token === "talos:machine/getConfiguration:getConfiguration" &&
        typeof inv.inputs.clusterName === "string"
      ) {
        return inv.inputs.clusterName;
      }
    }
    return "talos-default";
  };

  const checkPin = (what: string, meta: PendingRequest | undefined, provider: string | undefined): void => {
    // Without the monitor wrapper the options are invisible; with an explicit provider, it carries the pin.
    if (!meta || provider) return;
    const { version, pluginDownloadURL } = contract.package;
    if (meta.version !== version)
      fail(`${what}: plugin version "${meta.version ?? ""}" is not the pinned ${version}`);
    if (meta.pluginDownloadURL !== pluginDownloadURL) {
      fail(`${what}: pluginDownloadURL "${meta.pluginDownloadURL ?? ""}" is not ${pluginDownloadURL}`);
    }
  };

  /** Marks outputs secret the way the engine and provider would, and makes them unknown where a preview would. */
  const finishTalosState = (
    token: string,
    entry: ContractEntry,
    state: Record<string, any>,
    secret: string[] = [],
    computed: string[] = [],
  ): Record<string, any> => {
    const out: Record<string, any> = {};
    for (const [k, v] of Object.entries(state)) {
      if (v === undefined) continue;
      if (!entry.outputs[k]) throw new Error(`mocks bug: ${token} has no output "${k}"`);
      if (pulumi.runtime.isDryRun() && computed.includes(k)) {
        out[k] = UNKNOWN;
      } else if (shapeHasSecret(entry.outputs[k]) || secret.includes(k)) {
        out[k] = pulumi.secret(v);
      } else {
        out[k] = v;
      }
    }
    return out;
  };

  const talosResource = (
    type: string,
    name: string,
    inputs: Record<string, any>,
  ): { id: string; state: Record<string, any>; computed: string[] } => {
    const seed = `${type}/${name}`;
    const echo: Record<string, any> = {};
    for (const [k, v] of Object.entries(inputs)) if (!k.endsWith("Wo") && v !== undefined) echo[k] = v;
    const endpoint = inputs.endpoint ?? inputs.node;
    switch (type) {
      case "talos:machine/secrets:Secrets":
        return {
          id: `${name}-id`,
          state: {
            ...echo,
            talosVersion: inputs.talosVersion ?? DEFAULT_TALOS_VERSION,
            clientConfiguration: clientConfiguration(seed),
            machineSecrets: machineSecrets(seed),
          },
          computed: ["clientConfiguration", "machineSecrets"],
        };
      case "talos:machine/configurationApply:ConfigurationApply": {
        const input = inputs.machineConfigurationInput ?? inputs.machineConfigurationInputWo;
        const config =
          containsUnknown(input) || containsUnknown(inputs.configPatches)
            ? UNKNOWN
            : applyPatches(String(input), inputs.configPatches);
        const applyMode = inputs.applyMode ?? "auto";
        return {
          id: `${name}-id`,
          state: {
            ...echo,
            endpoint,
            applyMode,
            machineConfiguration: config,
            machineConfigurationHash: config === UNKNOWN ? UNKNOWN : sha256(config),
            // staged_if_needing_reboot falls back to auto when the node cannot be asked (NOTES section 5).
            resolvedApplyMode: applyMode === "staged_if_needing_reboot" ? "auto" : applyMode,
          },
          computed: [],
        };
      }
      case "talos:machine/bootstrap:Bootstrap":
        return { id: `${name}-id`, state: { ...echo, endpoint }, computed: [] };
      case "talos:cluster/kubeconfig:Kubeconfig": {
        const host = typeof inputs.node === "string" ? apiServerUrl(inputs.node) : UNKNOWN;
        const creds = clientConfiguration(`${seed}/kubernetes`);
        return {
          id: `${name}-id`,
          state: {
            ...echo,
            endpoint,
            certificateRenewalDuration: inputs.certificateRenewalDuration ?? "720h",
            kubeconfigRaw: host === UNKNOWN ? UNKNOWN : kubeconfig(lastClusterName(), host, creds),
            kubernetesClientConfiguration: { host, ...creds },
          },
          computed: ["kubeconfigRaw", "kubernetesClientConfiguration"],
        };
      }
      case "talos:imageFactory/schematic:Schematic": {
        const schematic = typeof inputs.schematic === "string" ? inputs.schematic : "";
        return { id: sha256(schematic), state: { ...echo }, computed: [] };
      }
      default:
        return fail(
          `${type} "${name}": the mocks have no outputs for this Talos resource; add them to tests/support/mocks.ts`,
        );
    }
  };

  const talosInvoke = (token: string, inputs: Record<string, any>): Record<string, any> => {
    switch (token) {
      case "talos:machine/getConfiguration:getConfiguration":
        return {
          ...inputs,
          id: `${inputs.clusterName}-${inputs.machineType}`,
          machineConfiguration: applyPatches(generateMachineConfig(inputs), inputs.configPatches),
        };
      case "talos:client/getConfiguration:getConfiguration":
        return { ...inputs, id: String(inputs.clusterName), talosConfig: talosconfig(inputs) };
      case "talos:cluster/getHealth:getHealth":
        return { ...inputs, id: "cluster_health" };
      default:
        return fail(
          `${token}: the mocks have no result for this Talos function; add it to tests/support/mocks.ts`,
        );
    }
  };

  const kubernetesState = (type: string, name: string, inputs: Record<string, any>): Record<string, any> => {
    const state: Record<string, any> = { ...inputs };
    if (type === "kubernetes:helm.sh/v3:Release") {
      const releaseName = inputs.name ?? `${name}-${sha256(name).slice(0, 8)}`;
      state.name = releaseName;
      state.status = pulumi.runtime.isDryRun()
        ? UNKNOWN
        : {
            name: releaseName,
            namespace: inputs.namespace ?? "default",
            chart: inputs.chart,
            version: inputs.version,
            appVersion: inputs.version,
            revision: 1,
            status: "deployed",
          };
    } else if (typeof inputs.kind === "string" && !(isPlainObject(inputs.metadata) && inputs.metadata.name)) {
      // The provider auto-names objects without metadata.name: `<resource name>-<8 random chars>`.
      const metadata = isPlainObject(inputs.metadata) ? inputs.metadata : {};
      state.metadata = { ...metadata, name: `${name}-${sha256(name).slice(0, 8)}` };
    }
    return state;
  };

  const mocks: StrictMocks = {
    resources: [],
    invokes: [],
    problems: [],

    reset() {
      mocks.resources.length = 0;
      mocks.invokes.length = 0;
      mocks.problems.length = 0;
      pending = undefined;
    },

    annotateNext(meta: PendingRequest) {
      pending = meta;
    },

    newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
      const custom = args.custom !== false;
      const read = args.id !== undefined && args.id !== "";
      const meta = takePending(read && custom ? "read" : "register", args.type, args.name);
      const { type, name } = args;
      const secretInputs: string[] = [];
      const inputs: Record<string, any> = {};
      for (const [k, v] of Object.entries((args.inputs ?? {}) as Record<string, unknown>)) {
        const r = unwrapSecrets(v);
        inputs[k] = r.value;
        if (r.secret) secretInputs.push(k);
      }
      const record: RecordedResource = {
        type,
        name,
        inputs,
        secretInputs,
        id: "",
        custom,
        ...(args.provider ? { provider: args.provider } : {}),
        ...(read ? { read } : {}),
        ...(meta ? { options: optionsOf(meta) } : {}),
      };
      mocks.resources.push(record);
      if (meta) meta.record = record;
      const what = `${type} "${name}"`;

      const finish = (id: string, state: Record<string, any>): pulumi.runtime.MockResourceResult => {
        record.id = id;
        record.outputs = unwrapSecrets(state).value;
        return { id: pulumi.runtime.isDryRun() && !read ? "" : id, state };
      };

      if (!custom) {
        if (!COMPONENT_TOKEN.test(type)) fail(`${what}: "${type}" is not a valid component type token`);
        return finish("", {});
      }

      const entry = contract.resources[type];
      if (entry) {
        checkContract(type, what, entry, inputs);
        checkPin(what, meta, args.provider);
        const { id, state, computed } = talosResource(type, name, inputs);
        return finish(
          id,
          finishTalosState(
            type,
            entry,
            state,
            [...secretInputs, ...(meta?.additionalSecretOutputs ?? [])],
            computed,
          ),
        );
      }
      if (type.startsWith("talos:")) {
        return fail(
          `${what}: unknown Talos resource token "${type}" (not in the provider v${contract.package.version} contract)`,
        );
      }
      if (KUBERNETES_TOKEN.test(type)) return finish(`${name}-id`, kubernetesState(type, name, inputs));
      if (type === "command:local:Command") {
        const unknownInputs = Object.keys(inputs).filter(
          (k) => !COMMAND_INPUTS.has(k) && inputs[k] !== undefined,
        );
        if (unknownInputs.length > 0) fail(`${what}: unknown input(s) ${unknownInputs.join(", ")}`);
        const ran = pulumi.runtime.isDryRun() ? UNKNOWN : "";
        return finish(`${name}-id`, { ...inputs, stdout: ran, stderr: ran });
      }
      if (PROVIDER_TOKEN.test(type)) return finish(`${name}-id`, { ...inputs });
      return fail(
        `${what}: unknown resource token "${type}"; the mocks allow the Talos provider's tokens, kubernetes:*, ` +
          "command:local:Command and pulumi:providers:*",
      );
    },

    call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
      const { token } = args;
      const meta = takePending("invoke", token);
      const inputs = unwrapSecrets(args.inputs ?? {}).value as Record<string, any>;
      const record: RecordedInvoke = {
        token,
        inputs,
        ...(args.provider ? { provider: args.provider } : {}),
        ...(meta ? { options: { version: meta.version, pluginDownloadURL: meta.pluginDownloadURL } } : {}),
      };
      mocks.invokes.push(record);
      if (meta) meta.record = record;
      const what = `invoke ${token}`;

      const entry = contract.functions[token];
      const extra = options.extraInvokes?.[token];
      if (!entry && !extra) {
        fail(
          `${what}: unknown invoke token "${token}"; the mocks answer the Talos provider's functions only`,
        );
      }
      if (entry) {
        checkContract(token, what, entry, inputs);
        checkPin(what, meta, args.provider);
      }
      // An injected failure is the scenario under test, not a contract violation: no problem recorded.
      const injected = options.failInvoke?.(token, inputs);
      if (injected) throw new MockProviderError(`${what}: ${injected}`);
      if (extra) return extra(inputs);
      return finishTalosState(token, entry!, talosInvoke(token, inputs));
    },
  };
  return mocks;
}

function optionsOf(meta: PendingRequest): RequestOptions {
  const { kind: _kind, type: _type, name: _name, record: _record, ...rest } = meta;
  return rest;
}

// ---------------------------------------------------------------------------------------------------
// Installing
// ---------------------------------------------------------------------------------------------------

/** The parts of the RegisterResource/ReadResource/Invoke protobuf requests the wrapper reads. */
interface WireRequest {
  getType?(): string;
  getName?(): string;
  getTok?(): string;
  getVersion(): string;
  getPlugindownloadurl(): string;
  getAdditionalsecretoutputsList?(): string[];
  getParent?(): string;
  getDependenciesList?(): string[];
  getProtect?(): boolean;
  getIgnorechangesList?(): string[];
  getRetainondelete?(): boolean;
  getReplaceonchangesList?(): string[];
}
type Callback = (err: unknown, response: { getUrn?(): string } | undefined) => void;
type MonitorMethod = (req: WireRequest, callback: Callback) => unknown;

function requestOptions(req: WireRequest): RequestOptions {
  const text = (v: string | undefined) => (v ? v : undefined);
  const list = (v: string[] | undefined) => (v && v.length > 0 ? [...v] : undefined);
  const flag = (v: boolean | undefined) => (v === true ? true : undefined);
  const out: RequestOptions = {
    version: text(req.getVersion()),
    pluginDownloadURL: text(req.getPlugindownloadurl()),
    additionalSecretOutputs: list(req.getAdditionalsecretoutputsList?.()),
    parent: text(req.getParent?.()),
    dependencies: list(req.getDependenciesList?.()),
    protect: flag(req.getProtect?.()),
    ignoreChanges: list(req.getIgnorechangesList?.()),
    retainOnDelete: flag(req.getRetainondelete?.()),
    replaceOnChanges: list(req.getReplaceonchangesList?.()),
  };
  for (const k of Object.keys(out) as (keyof RequestOptions)[]) if (out[k] === undefined) delete out[k];
  return out;
}

/**
 * Wraps the mock monitor so the request options reach the mocks. The mock monitor calls `newResource`/`call`
 * synchronously at the start of each request, so the annotation set just before is the one it belongs to.
 */
function wrapMonitor(mocks: StrictMocks): void {
  const monitor = pulumi.runtime.getMonitor() as unknown as Record<string, MonitorMethod> | undefined;
  if (!monitor || typeof monitor.registerResource !== "function") {
    throw new Error("installMocks: no mock monitor to wrap; pulumi.runtime.setMocks did not take effect");
  }
  const wrap = (method: "registerResource" | "readResource" | "invoke", kind: PendingRequest["kind"]) => {
    const original = monitor[method].bind(monitor);
    monitor[method] = (req, callback) => {
      const meta: PendingRequest = {
        kind,
        type: (kind === "invoke" ? req.getTok?.() : req.getType?.()) ?? "",
        ...(kind === "invoke" ? {} : { name: req.getName?.() }),
        ...requestOptions(req),
      };
      mocks.annotateNext(meta);
      return original(req, (err, response) => {
        if (!err && response?.getUrn && meta.record && "type" in meta.record)
          meta.record.urn = response.getUrn();
        callback(err, response);
      });
    };
  };
  wrap("registerResource", "register");
  wrap("readResource", "read");
  wrap("invoke", "invoke");
}

export interface InstallMocksOptions extends StrictMockOptions {
  stack?: string;
  preview?: boolean;
  /** Stack config; a key without a namespace (`nodes`) is read as `homelab:nodes`. Values are strings (JSON for objects). */
  config?: Record<string, string>;
}

/**
 * Installs strict mocks for this process (test file). Call it, and await it, BEFORE importing the program or
 * constructing resources: config is read when the program's modules load.
 */
export async function installMocks(opts: InstallMocksOptions = {}): Promise<StrictMocks> {
  // The project name in Pulumi.yaml.
  const project = "homelab";
  const stack = opts.stack ?? "test";
  const mocks = createStrictMocks(opts);
  await pulumi.runtime.setMocks(mocks, project, stack, opts.preview ?? false);
  wrapMonitor(mocks);
  const qualify = (k: string) => (k.includes(":") ? k : `${project}:${k}`);
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.config ?? {})) config[qualify(k)] = v;
  pulumi.runtime.setAllConfig(config);
  return mocks;
}
