/**
 * Provider configuration of `pulumi:providers:kubernetes`, as pulumi-kubernetes v4.34.2 treats it
 * (`provider/pkg/provider/provider.go` CheckConfig, DiffConfig, Configure; expectations from
 * `provider_diffconfig_test.go` and `testdata/diffconfig/*`):
 * - DiffConfig: an unknown kubeconfig forces a replacement ("we can't tell for sure if a computed value has
 *   changed"); otherwise every changed key is a diff, and all of them become replaces when the *active cluster*
 *   of the kubeconfig (the cluster entry of the current context, or the `cluster`/`context` overrides) differs,
 *   unless an unchanged `clusterIdentifier` vouches that it is the same cluster; `renderYamlToDirectory` always
 *   replaces. A changed user (client certificate) alone is an update of the provider, not a replace.
 * - Olds and news are compared without their secret wrappers (DiffConfig unmarshals without KeepSecrets).
 * - Configure reads `enableServerSideApply` (default true) and the default namespace from the kubeconfig's
 *   current context (else "default").
 */
import YAML from "yaml";
import type { DiffResponse } from "../core/provider";
import { changedKeys, isUnknown, revealMap, sameValue, type Wire, type WireMap } from "../core/wire";

interface Named<T> {
  name: string;
  [key: string]: unknown;
  cluster?: T;
  context?: T;
}

/** Parses a kubeconfig given as contents (a path is not supported by the stand-in). */
export function parseKubeconfig(v: Wire | undefined): Record<string, unknown> | undefined {
  if (typeof v !== "string" || v.trim() === "") return undefined;
  const parsed = YAML.parse(v) as unknown;
  return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
}

/** `getActiveClusterFromConfig`: the cluster entry the provider would talk to. */
export function activeCluster(config: Record<string, unknown> | undefined, overrides: WireMap): unknown {
  if (!config) return undefined;
  const contexts = (config.contexts ?? []) as Named<Record<string, unknown>>[];
  const clusters = (config.clusters ?? []) as Named<unknown>[];
  const currentContext =
    typeof overrides.context === "string" ? overrides.context : config["current-context"];
  const ctx = contexts.find((c) => c.name === currentContext)?.context;
  const clusterName = typeof overrides.cluster === "string" ? overrides.cluster : ctx?.cluster;
  return clusters.find((c) => c.name === clusterName)?.cluster;
}

/** The namespace of the current context, the provider's default namespace. */
export function contextNamespace(config: Record<string, unknown> | undefined): string | undefined {
  if (!config) return undefined;
  const contexts = (config.contexts ?? []) as Named<Record<string, unknown>>[];
  const ns = contexts.find((c) => c.name === config["current-context"])?.context?.namespace;
  return typeof ns === "string" && ns !== "" ? ns : undefined;
}

export function diffProviderConfig(olds: WireMap, news: WireMap): DiffResponse {
  if (isUnknown(news.kubeconfig)) return { changes: true, diffs: ["kubeconfig"], replaces: ["kubeconfig"] };
  const o = revealMap(olds);
  const n = revealMap(news);
  const diffs = changedKeys(o, n);
  const replaces = diffs.filter((k) => k === "renderYamlToDirectory");
  const sameIdentity =
    o.clusterIdentifier !== undefined && sameValue(o.clusterIdentifier, n.clusterIdentifier);
  const clusterChanged = !sameValue(
    activeCluster(parseKubeconfig(o.kubeconfig), o) as Wire,
    activeCluster(parseKubeconfig(n.kubeconfig), n) as Wire,
  );
  // The active-cluster rule only applies when there is a kubeconfig on both sides (ambient → explicit is no replace).
  const bothExplicit = o.kubeconfig !== undefined && n.kubeconfig !== undefined;
  const identityChanged =
    o.clusterIdentifier !== undefined && n.clusterIdentifier !== undefined && !sameIdentity;
  if ((bothExplicit && clusterChanged && !sameIdentity) || identityChanged)
    return { changes: true, diffs, replaces: diffs };
  return { changes: diffs.length > 0, diffs, replaces };
}

export interface ProviderSettings {
  serverSideApply: boolean;
  defaultNamespace: string;
}

export function settingsFrom(args: WireMap, env: NodeJS.ProcessEnv): ProviderSettings {
  const a = revealMap(args);
  const ssa = a.enableServerSideApply ?? env.PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY;
  return {
    serverSideApply: ssa === undefined ? true : String(ssa) === "true",
    defaultNamespace:
      (typeof a.namespace === "string" && a.namespace) ||
      contextNamespace(parseKubeconfig(a.kubeconfig)) ||
      "default",
  };
}
