/**
 * Stand-in for `pulumi-resource-kubernetes` v4.34.2 (pulumi/pulumi-kubernetes), for what the program registers:
 * the provider itself (provider-config.ts), `kubernetes:core/v1:Namespace` (calico) and
 * `kubernetes:helm.sh/v3:Release` (calico, cilium). There is no API server: objects are "applied" by answering
 * what the server would return.
 *
 * Kubernetes objects (`provider/pkg/provider/provider.go` Check/Diff/Create/Update, `pkg/metadata/naming.go`):
 * - Check autonames: without `metadata.name`, the old name is kept, else `<resource name>-<8 hex>` and the
 *   annotation `pulumi.com/autonamed: "true"`;
 * - Diff compares the old inputs (`__inputs` of the state) with the new ones; a changed `metadata.name` (or
 *   `metadata.namespace`) replaces, anything else updates;
 * - the state is the live object (server-set uid, resourceVersion, creationTimestamp, the
 *   `kubernetes.io/metadata.name` label of namespaces, `spec.finalizers` and `status.phase`) plus `__inputs`,
 *   `__initialApiVersion` and `__fieldManager` (checkpointObject); the id is `name` or `namespace/name`;
 * - in a preview Create/Update return the inputs as they are (what the provider returns when it cannot dry-run
 *   against a cluster): server-set fields are not invented.
 * Helm releases (`provider/pkg/provider/helm_release.go`):
 * - Check keeps or assigns the name (`<resource name>-<8 hex>`), defaults `namespace` to the provider's default
 *   namespace and `timeout` to 300, and, when nothing is unknown, adds `checksum` (sha256 of the rendered chart)
 *   and `resourceNames`. The real provider downloads the chart for this; the stand-in hashes chart, version,
 *   repository and values instead, and knows no resource names;
 * - Diff: the JSON merge patch of old `__inputs` and new inputs; `name` and `namespace` force a replacement;
 * - Create/Update return the release fields plus `status` (name, namespace, chart, version, appVersion,
 *   revision, status "deployed") and `__inputs` as a secret; the id is `namespace/name`.
 */
import type { StandinProvider } from "../core/provider";
import {
  changedKeys,
  containsUnknown,
  isObject,
  randomHex,
  revealMap,
  secret,
  sha256Hex,
  type Wire,
  type WireMap,
} from "../core/wire";
import { diffProviderConfig, settingsFrom, type ProviderSettings } from "./provider-config";

export const K8S_TOKENS = {
  provider: "pulumi:providers:kubernetes",
  namespace: "kubernetes:core/v1:Namespace",
  release: "kubernetes:helm.sh/v3:Release",
} as const;

const AUTONAMED = "pulumi.com/autonamed";

/** `NewUniqueHex(prefix, 8, …)` from the engine's random seed, so a retried Check picks the same name. */
function autoname(name: string, seed: Buffer): string {
  const hex = seed.length > 0 ? sha256Hex(seed.toString("hex")).slice(0, 8) : randomHex(4);
  return `${name}-${hex}`;
}

function metadataOf(m: WireMap): WireMap {
  return isObject(m.metadata) ? m.metadata : {};
}

function checkObject(name: string, olds: WireMap, news: WireMap, seed: Buffer): WireMap {
  const meta = metadataOf(news);
  if (meta.name !== undefined && meta.name !== null) return news;
  const oldMeta = metadataOf(isObject(olds.__inputs) ? olds.__inputs : olds);
  const annotations = isObject(meta.annotations) ? meta.annotations : {};
  const chosen = typeof oldMeta.name === "string" ? oldMeta.name : autoname(name, seed);
  return {
    ...news,
    metadata: { ...meta, name: chosen, annotations: { ...annotations, [AUTONAMED]: "true" } },
  };
}

function liveNamespace(inputs: WireMap, prior: WireMap | undefined, fieldManager: string): WireMap {
  const r = revealMap(inputs);
  const meta = metadataOf(r);
  const name = String(meta.name);
  const priorMeta = prior ? metadataOf(prior) : {};
  const labels = { ...(isObject(meta.labels) ? meta.labels : {}), "kubernetes.io/metadata.name": name };
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      ...meta,
      labels,
      uid:
        (priorMeta.uid as Wire) ??
        `${randomHex(4)}-${randomHex(2)}-${randomHex(2)}-${randomHex(2)}-${randomHex(6)}`,
      resourceVersion: String(Number(priorMeta.resourceVersion ?? 0) + 1 + Math.floor(Math.random() * 1000)),
      creationTimestamp:
        (priorMeta.creationTimestamp as Wire) ?? new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    },
    spec: { finalizers: ["kubernetes"] },
    status: { phase: "Active" },
    __inputs: inputs,
    __initialApiVersion: "v1",
    __fieldManager: fieldManager,
  };
}

function checkRelease(
  name: string,
  olds: WireMap,
  news: WireMap,
  seed: Buffer,
  settings: ProviderSettings,
): WireMap {
  const out: WireMap = { ...news };
  const oldInputs = isObject(olds.__inputs) ? (revealMap(olds.__inputs) as WireMap) : olds;
  if (out.name === undefined || out.name === null || out.name === "") {
    out.name = typeof oldInputs.name === "string" ? oldInputs.name : autoname(name, seed);
  }
  if (out.namespace === undefined || out.namespace === "") out.namespace = settings.defaultNamespace;
  if (out.skipAwait !== true && out.timeout === undefined) out.timeout = 300;
  if (!containsUnknown(out)) {
    const r = revealMap(out);
    out.checksum = sha256Hex(JSON.stringify([r.chart, r.version, r.repositoryOpts ?? null, r.values ?? {}]));
    out.resourceNames = {};
  }
  return out;
}

function releaseState(inputs: WireMap, prior: WireMap | undefined): WireMap {
  const r = revealMap(inputs);
  const priorStatus = prior && isObject(prior.status) ? prior.status : {};
  const revision = Number(priorStatus.revision ?? 0) + 1;
  const version = typeof r.version === "string" ? r.version : "";
  return {
    ...inputs,
    status: {
      name: String(r.name),
      namespace: String(r.namespace),
      chart: String(r.chart),
      version,
      appVersion: version,
      revision,
      status: "deployed",
    },
    __inputs: secret(inputs),
  };
}

export function createKubernetesProvider(env: NodeJS.ProcessEnv = process.env): StandinProvider {
  let settings: ProviderSettings = settingsFrom({}, env);
  const known = (type: string) => {
    if (type !== K8S_TOKENS.namespace && type !== K8S_TOKENS.release) {
      throw new Error(
        `unknown resource type ${type}: the stand-in implements ${K8S_TOKENS.namespace}, ${K8S_TOKENS.release}`,
      );
    }
  };
  const oldInputsOf = (olds: WireMap, oldInputs: WireMap): WireMap =>
    isObject(olds.__inputs) ? (revealMap(olds.__inputs) as WireMap) : oldInputs;
  const fieldManager = (urn: string) => `pulumi-kubernetes-${sha256Hex(urn).slice(0, 8)}`;

  return {
    name: "kubernetes",
    version: "4.34.2",
    // Not the provider's schema (not part of this project's inputs): the tokens the stand-in serves.
    schema: () =>
      JSON.stringify({
        name: "kubernetes",
        version: "4.34.2",
        resources: { [K8S_TOKENS.namespace]: {}, [K8S_TOKENS.release]: {} },
      }),
    diffConfig: ({ olds, news }) => diffProviderConfig(olds, news),
    configure: (args) => {
      settings = settingsFrom(args, env);
    },
    check: ({ type, name, olds, news, randomSeed }) => {
      known(type);
      if (type === K8S_TOKENS.release)
        return { inputs: checkRelease(name, olds, news, randomSeed, settings) };
      return { inputs: checkObject(name, olds, news, randomSeed) };
    },
    diff: ({ type, olds, oldInputs, news }) => {
      known(type);
      const before = oldInputsOf(olds, oldInputs);
      const diffs = changedKeys(before, news);
      const forceNew =
        type === K8S_TOKENS.release
          ? diffs.filter((k) => k === "name" || k === "namespace")
          : diffs.includes("metadata") &&
              (metadataOf(revealMap(before)).name !== metadataOf(revealMap(news)).name ||
                metadataOf(revealMap(before)).namespace !== metadataOf(revealMap(news)).namespace)
            ? ["metadata"]
            : [];
      return { changes: diffs.length > 0, diffs, replaces: forceNew };
    },
    create: ({ urn, type, news, preview }) => {
      known(type);
      if (preview) return { id: "", outs: news };
      if (type === K8S_TOKENS.release) {
        const r = revealMap(news);
        return { id: `${String(r.namespace)}/${String(r.name)}`, outs: releaseState(news, undefined) };
      }
      const live = liveNamespace(news, undefined, fieldManager(urn));
      return { id: String(metadataOf(revealMap(news)).name), outs: live };
    },
    update: ({ urn, type, olds, news, preview }) => {
      known(type);
      if (preview) return news;
      if (type === K8S_TOKENS.release) return releaseState(news, revealMap(olds));
      return liveNamespace(news, revealMap(olds), String(olds.__fieldManager ?? fieldManager(urn)));
    },
    delete: ({ type }) => known(type),
    injectedFailure: (type, news) => {
      const r = revealMap(news);
      if (type === K8S_TOKENS.release) {
        return `Helm release "${String(r.namespace)}/${String(r.name)}" was created, but failed to initialize completely. Use Helm CLI to investigate.: failed to become available within allocated timeout. Error: Helm Release ${String(r.namespace)}/${String(r.name)}: context deadline exceeded`;
      }
      return `failed to create resource: Post "https://127.0.0.1:6443/api/v1/namespaces?fieldManager=pulumi-kubernetes": dial tcp 127.0.0.1:6443: connect: connection refused`;
    },
  };
}
