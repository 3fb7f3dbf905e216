/**
 * What the Talos provider answers, imitated for the strict mocks: deterministic key material shaped as Talos
 * hands it out (base64 of PEM), machine configurations shaped like `talosctl gen config` output with the config
 * patches merged, kubeconfig and talosconfig documents, and the state each Talos resource and function of
 * the v0.8.1 contract returns. Deterministic: the same resource name gives the same material in every run.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- inputs and state are untyped wire data whatever the program sends */
import { createHash } from "node:crypto";
import YAML from "yaml";
import extensionCatalog from "../../components/config/talos-extensions.json";
import { containsUnknown, isPlainObject, UNKNOWN } from "./wire";

/** A resource's answer; `computed` names the outputs that stay unknown in a preview (known only once created). */
export interface TalosAnswer {
  id: string;
  state: Record<string, any>;
  computed: string[];
}

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

export function talosResourceAnswer(
  type: string,
  name: string,
  inputs: Record<string, any>,
  clusterName: () => string,
): TalosAnswer | undefined {
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
          kubeconfigRaw: host === UNKNOWN ? UNKNOWN : kubeconfig(clusterName(), host, creds),
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
      return undefined;
  }
}

/**
 * Image Factory's official extensions for a Talos version, as terraform-provider-talos v0.11.0
 * pkg/talos/talos_image_factory_extensions_versions_data_source.go Read returns them: every extension the
 * factory lists (here: the project's derived catalog, components/config/talos-extensions.json), narrowed by
 * `exactFilters.names` (equal) or `filters.names` (substring) when given, and the id "extensions_info".
 */
function extensionsVersions(inputs: Record<string, any>): Record<string, any> {
  const exact: string[] = inputs.exactFilters?.names ?? [];
  const partial: string[] = inputs.filters?.names ?? [];
  const names = extensionCatalog.names.filter(
    (n) =>
      (exact.length === 0 && partial.length === 0) || exact.includes(n) || partial.some((p) => n.includes(p)),
  );
  return {
    ...inputs,
    id: "extensions_info",
    extensionsInfos: names.map((name) => ({
      name,
      ref: `ghcr.io/${name}:${inputs.talosVersion}`,
      digest: `sha256:${sha256(`${name}@${inputs.talosVersion}`)}`,
      author: "Sidero Labs",
      description: name,
    })),
  };
}

export function talosInvokeAnswer(
  token: string,
  inputs: Record<string, any>,
): Record<string, any> | undefined {
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
    case "talos:imageFactory/getExtensionsVersions:getExtensionsVersions":
      return extensionsVersions(inputs);
    default:
      return undefined;
  }
}
