/**
 * Small, dependency-free helpers shared by the rules. Everything here is a pure function so the rules stay
 * testable with fabricated arguments.
 */
import type { PolicyProviderResource, ResourceValidationArgs } from "@pulumi/policy";

export type Props = Record<string, unknown>;

export function isRecord(value: unknown): value is Props {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Resource tokens the rules look at, as the Talos provider v0.8.1 and Kubernetes SDK spell them. */
export const TYPES = {
  talosSecrets: "talos:machine/secrets:Secrets",
  talosConfigurationApply: "talos:machine/configurationApply:ConfigurationApply",
  talosBootstrap: "talos:machine/bootstrap:Bootstrap",
  talosKubeconfig: "talos:cluster/kubeconfig:Kubeconfig",
  helmRelease: "kubernetes:helm.sh/v3:Release",
  localCommand: "command:local:Command",
} as const;

/** The packages whose providers must come from the pinned plugin version. */
export const PINNED_PACKAGES = ["talos", "kubernetes", "command"] as const;
export type PinnedPackage = (typeof PINNED_PACKAGES)[number];

/** `talos:machine/secrets:Secrets` -> `talos`; `pulumi:providers:talos` -> `talos`. */
export function packageOf(type: string): string {
  if (type.startsWith("pulumi:providers:")) {
    return type.slice("pulumi:providers:".length);
  }
  return type.split(":")[0] ?? "";
}

export function isProviderType(type: string): boolean {
  return type.startsWith("pulumi:providers:");
}

/** A default provider is one the engine made up because the resource named none. */
export function isDefaultProvider(provider: Pick<PolicyProviderResource, "name">): boolean {
  return provider.name === "default" || provider.name.startsWith("default_");
}

/** An exact release, optionally with a pre-release or build suffix: `v1.13.9`, `1.36.0`, `v3.31.4-rc.1`. */
const EXACT_VERSION = /^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$/;

export function isExactVersion(value: unknown): value is string {
  return typeof value === "string" && EXACT_VERSION.test(value);
}

/** A Talos release as `talosVersion` expects it: `v1.13.9` (leading `v` required). */
export function isExactTalosVersion(value: unknown): value is string {
  return typeof value === "string" && /^v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(value);
}

/** Tags that name a moving target rather than a release. */
const FLOATING_TAGS = new Set(["latest", "stable", "edge", "main", "master", "nightly", "dev", "head"]);

export type ImageVerdict = { pinned: true } | { pinned: false; reason: string };

/**
 * Is an OCI image reference pinned? Pinned means a digest (`@sha256:...`) or a version-looking tag
 * (`v1.13.9`, `1.36.0`, `v3.6.5-0`). No tag means `latest`.
 */
export function imageVerdict(reference: string): ImageVerdict {
  const ref = reference.trim();
  if (ref === "") {
    return { pinned: false, reason: "is empty" };
  }
  if (/@sha256:[0-9a-f]{64}$/.test(ref)) {
    return { pinned: true };
  }
  const lastSlash = ref.lastIndexOf("/");
  const lastSegment = ref.slice(lastSlash + 1);
  const colon = lastSegment.lastIndexOf(":");
  if (colon < 0) {
    return { pinned: false, reason: "has no tag, which means `latest`" };
  }
  const tag = lastSegment.slice(colon + 1);
  if (FLOATING_TAGS.has(tag.toLowerCase())) {
    return { pinned: false, reason: `uses the floating tag \`${tag}\`` };
  }
  if (!/^v?\d+(?:\.\d+)*(?:[-+_.][0-9A-Za-z.+_-]+)?$/.test(tag)) {
    return { pinned: false, reason: `tag \`${tag}\` is not a version` };
  }
  return { pinned: true };
}

/**
 * Every string value stored under a key named `key`, at any depth, with its dotted path. Reading goes through
 * the engine's unknown-checking proxy, so during a preview an unknown value aborts the walk and the engine
 * reports the policy as not checkable yet; `pulumi up` checks it with the values resolved.
 */
export function stringsUnderKey(value: unknown, key: string, path = ""): { path: string; value: string }[] {
  const found: { path: string; value: string }[] = [];
  if (Array.isArray(value)) {
    value.forEach((item: unknown, index) => found.push(...stringsUnderKey(item, key, `${path}[${index}]`)));
  } else if (isRecord(value)) {
    for (const k of Object.keys(value)) {
      const child = value[k];
      const childPath = path === "" ? k : `${path}.${k}`;
      if (k === key && typeof child === "string") {
        found.push({ path: childPath, value: child });
      } else {
        found.push(...stringsUnderKey(child, key, childPath));
      }
    }
  }
  return found;
}

/** Reads a policy's config, tolerating an engine that sends none. */
export function configOf<T extends object>(args: Pick<ResourceValidationArgs, "getConfig">): Partial<T> {
  const config: unknown = args.getConfig<T>();
  return isRecord(config) ? (config as Partial<T>) : {};
}
