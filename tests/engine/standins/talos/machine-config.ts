/**
 * Machine configuration as terraform-provider-talos v0.11.0 renders it, in the parts the program and the
 * tests can observe. Sources (all Talos machinery v1.13.0, the version provider v0.8.1 bundles):
 * - generation: `config/generate/init.go`, `controlplane.go`, `worker.go`, `network.go` (HostnameConfig with
 *   `auto: stable` for contracts from 1.12 on), constants `DefaultKubernetesVersion` 1.36.0, `KubeletImage` etc.;
 *   the provider's defaults (install disk /dev/sda, installer `ghcr.io/siderolabs/installer:v1.13.0`, cluster
 *   discovery on) are `pkg/talos/util.go` machineConfigGenerateOptions.generate;
 * - patching: `config/configpatcher/strategic.go` (documents matched by apiVersion/kind/name, unmatched ones
 *   appended) and `config/merge/merge.go` (maps merged, lists appended unless tagged `merge:"replace"`, zero
 *   scalars do not overwrite, booleans always do); JSON 6902 patches are refused on multi-document configs
 *   (`configpatcher/json6902.go`);
 * - validation: Kubernetes/Talos compatibility (`compatibility/kubernetes_version.go` SupportedWith, ranges from
 *   `compatibility/talos11x`), https endpoint (`pkg/talos/util.go` validateClusterEndpoint).
 * Not imitated: the comments Talos writes (`docs`/`examples`), the default audit policy and admission config,
 * type-specific mergers (e.g. network devices merged by name), and schema validation of patched documents.
 */
import YAML from "yaml";
import type { MachineSecrets } from "./pki";

export const DEFAULT_KUBERNETES_VERSION = "1.36.0";
/** `semver.MajorMinor(gendata.VersionTag)` for machinery v1.13.0. */
export const DEFAULT_TALOS_CONTRACT = "v1.13";
export const DEFAULT_INSTALLER_IMAGE = "ghcr.io/siderolabs/installer:v1.13.0";

/** Kubernetes versions each Talos minor supports: [min, max) as in machinery's compatibility packages. */
const K8S_SUPPORT: Record<string, [string, string]> = {
  "1.10": ["1.28.0", "1.33.99"],
  "1.11": ["1.29.0", "1.34.99"],
  "1.12": ["1.30.0", "1.35.99"],
  "1.13": ["1.31.0", "1.36.99"],
};

type Doc = Record<string, unknown>;

function parseVersion(v: string): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

function cmp(a: [number, number, number], b: [number, number, number]): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** `talosVersionValid()`: a version contract such as `v1.13`, `1.13.9`. */
export function validTalosVersion(v: string): boolean {
  return parseVersion(v) !== undefined;
}

/** Talos's SupportedWith check; `undefined` when compatible, else its error text. */
export function kubernetesSupportError(kubernetesVersion: string, talosVersion: string): string | undefined {
  const k = parseVersion(kubernetesVersion);
  const t = parseVersion(talosVersion);
  if (!k) return `kubernetes_version is invalid: ${kubernetesVersion}`;
  if (!t) return `talos_version is invalid: ${talosVersion}`;
  const range = K8S_SUPPORT[`${t[0]}.${t[1]}`];
  if (!range)
    return `talos_version is not compatible with kubernetes_version: compatibility with version ${talosVersion} is not supported`;
  if (cmp(k, parseVersion(range[0])!) < 0) {
    return `talos_version is not compatible with kubernetes_version: version of Kubernetes ${kubernetesVersion} is too old to be used with Talos ${talosVersion}`;
  }
  if (cmp(k, parseVersion(range[1])!) >= 0) {
    return `talos_version is not compatible with kubernetes_version: version of Kubernetes ${kubernetesVersion} is too new to be used with Talos ${talosVersion}`;
  }
  return undefined;
}

/** `validateClusterEndpoint`: the endpoint must be an https URL. */
export function endpointError(endpoint: string): string | undefined {
  try {
    if (!new URL(endpoint).protocol.includes("https"))
      return "cluster_endpoint is invalid: endpoint must contain https scheme";
  } catch (e) {
    return `cluster_endpoint is invalid: ${String(e)}`;
  }
  return undefined;
}

export interface GenerateOptions {
  clusterName: string;
  clusterEndpoint: string;
  machineType: "controlplane" | "worker";
  secrets: MachineSecrets;
  kubernetesVersion: string;
  talosVersion: string;
}

/** The documents `talosctl gen config` / the provider's data source produce before patches. */
export function generateDocuments(o: GenerateOptions): Doc[] {
  const k8s = o.kubernetesVersion.replace(/^v/, "");
  const contract = parseVersion(o.talosVersion) ?? [1, 13, 0];
  const multidoc = cmp(contract, [1, 12, 0]) >= 0;
  const cp = o.machineType === "controlplane";
  const s = o.secrets;
  const machine: Doc = {
    type: o.machineType,
    token: s.trustdinfo.token,
    ca: cp ? { crt: s.certs.os.cert, key: s.certs.os.key } : { crt: s.certs.os.cert },
    certSANs: [],
    kubelet: {
      image: `ghcr.io/siderolabs/kubelet:v${k8s}`,
      defaultRuntimeSeccompProfileEnabled: true,
      disableManifestsDirectory: true,
    },
    ...(multidoc ? {} : { network: {} }),
    install: { disk: "/dev/sda", image: DEFAULT_INSTALLER_IMAGE, wipe: false },
    features: {
      diskQuotaSupport: true,
      kubePrism: { enabled: true, port: 7445 },
      hostDNS: { enabled: true, forwardKubeDNSToHost: true },
      ...(multidoc ? {} : { stableHostname: true }),
    },
    ...(cp ? { nodeLabels: { "node.kubernetes.io/exclude-from-external-load-balancers": "" } } : {}),
  };
  const host = new URL(o.clusterEndpoint).hostname;
  const cluster: Doc = {
    id: s.cluster.id,
    secret: s.cluster.secret,
    controlPlane: { endpoint: o.clusterEndpoint },
    clusterName: o.clusterName,
    network: { dnsDomain: "cluster.local", podSubnets: ["10.244.0.0/16"], serviceSubnets: ["10.96.0.0/12"] },
    token: s.secrets.bootstrapToken,
    ca: cp ? { crt: s.certs.k8s.cert, key: s.certs.k8s.key } : { crt: s.certs.k8s.cert },
    discovery: { enabled: true, registries: { kubernetes: { disabled: true }, service: {} } },
  };
  if (cp) {
    Object.assign(cluster, {
      secretboxEncryptionSecret: s.secrets.secretboxEncryptionSecret,
      aggregatorCA: { crt: s.certs.k8sAggregator.cert, key: s.certs.k8sAggregator.key },
      serviceAccount: { key: s.certs.k8sServiceaccount.key },
      apiServer: { image: `registry.k8s.io/kube-apiserver:v${k8s}`, certSANs: [host] },
      controllerManager: { image: `registry.k8s.io/kube-controller-manager:v${k8s}` },
      proxy: { image: `registry.k8s.io/kube-proxy:v${k8s}` },
      scheduler: { image: `registry.k8s.io/kube-scheduler:v${k8s}` },
      etcd: { ca: { crt: s.certs.etcd.cert, key: s.certs.etcd.key } },
      extraManifests: [],
      inlineManifests: [],
    });
  }
  const docs: Doc[] = [{ version: "v1alpha1", debug: false, persist: true, machine, cluster }];
  if (multidoc) docs.push({ apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "stable" });
  return docs;
}

/** Fields tagged `merge:"replace"` in machinery v1.13.0 `types/v1alpha1/v1alpha1_types.go`. */
const REPLACE_PATHS = new Set([
  "cluster.network.podSubnets",
  "cluster.network.serviceSubnets",
  "cluster.apiServer.auditPolicy",
]);

function isMap(v: unknown): v is Doc {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function mergeInto(left: Doc, right: Doc, at: string): void {
  for (const [k, r] of Object.entries(right)) {
    const path = at ? `${at}.${k}` : k;
    const l = left[k];
    if (r === null || r === undefined) continue;
    if (isMap(r) && r.$patch === "delete") delete left[k];
    else if (l === undefined || l === null || REPLACE_PATHS.has(path)) left[k] = r;
    else if (isMap(l) && isMap(r)) mergeInto(l, r, path);
    else if (Array.isArray(l) && Array.isArray(r)) left[k] = [...l, ...r];
    else if (typeof r === "boolean" || (r !== "" && r !== 0)) left[k] = r;
  }
}

function docId(d: Doc): string {
  if (d.kind === undefined) return "/v1alpha1";
  return `${String(d.apiVersion ?? "")}/${String(d.kind)}${d.name !== undefined ? `/${String(d.name)}` : ""}`;
}

/** Applies strategic-merge patches (each a YAML string, possibly multi-document) to `docs`, as configpatcher. */
export function applyPatches(docs: Doc[], patches: readonly string[]): Doc[] {
  let left = structuredClone(docs);
  for (const patch of patches) {
    const parsed = YAML.parseAllDocuments(patch).map((d) => d.toJS() as unknown);
    if (parsed.some((d) => Array.isArray(d))) {
      throw new Error(
        "error applying config patches: JSON6902 patches are not supported for multi-document machine configuration",
      );
    }
    for (const right of parsed.filter(isMap)) {
      const id = docId(right);
      const target = left.find((d) => docId(d) === id);
      if (right.$patch === "delete") left = left.filter((d) => d !== target);
      else if (target) mergeInto(target, structuredClone(right), "");
      else left.push(structuredClone(right));
    }
  }
  return left;
}

/** The config bytes, one YAML document after the other. */
export function serialize(docs: Doc[]): string {
  return docs.map((d) => YAML.stringify(d, { lineWidth: 0 })).join("---\n");
}

/** Parses a rendered configuration back into documents. */
export function parseDocuments(config: string): Doc[] {
  return YAML.parseAllDocuments(config)
    .map((d) => d.toJS() as unknown)
    .filter(isMap);
}

/** What a simulated node keeps of the configuration applied to it (no secrets). */
export interface AppliedFacts {
  machineType: string;
  clusterName: string;
  endpoint: string;
  kubernetesVersion: string;
  installImage: string;
  /** Base64 PEM of the Kubernetes CA certificate (public). */
  kubernetesCA: string;
  /** The static hostname of a `HostnameConfig` with `auto: off`; empty when Talos picks one (`auto: stable`). */
  hostname: string;
}

export function factsOf(config: string): AppliedFacts {
  const v1 = parseDocuments(config).find((d) => d.kind === undefined) ?? {};
  const machine = (v1.machine ?? {}) as Doc;
  const cluster = (v1.cluster ?? {}) as Doc;
  const kubelet = String(((machine.kubelet ?? {}) as Doc).image ?? "");
  const hostnameDoc = parseDocuments(config).find((d) => d.kind === "HostnameConfig") ?? {};
  return {
    machineType: String(machine.type ?? ""),
    clusterName: String(cluster.clusterName ?? ""),
    endpoint: String(((cluster.controlPlane ?? {}) as Doc).endpoint ?? ""),
    kubernetesVersion: kubelet.includes(":v") ? kubelet.slice(kubelet.lastIndexOf(":v") + 2) : "",
    installImage: String(((machine.install ?? {}) as Doc).image ?? ""),
    kubernetesCA: String(((cluster.ca ?? {}) as Doc).crt ?? ""),
    hostname: typeof hostnameDoc.hostname === "string" ? hostnameDoc.hostname : "",
  };
}
