/**
 * Which stack settings hold a secret, and what follows from them. `pulumi config set --secret --path
 * 'nodes[0].patches[0]' ...` encrypts one value inside `homelab:nodes`, but the engine only tells a program
 * which top-level keys hold a secure value (pulumi/pulumi sdk go/common/resource/config/map.go `SecureKeys`,
 * handed over as PULUMI_CONFIG_SECRET_KEYS): every value the program derives from such a key is treated as
 * secret where it reaches a provider. Node names, addresses and roles are identities (resource names, stack
 * outputs, the upgrade and membership commands) and stay plain: a secret belongs in a patch, a label or a taint.
 */
import * as pulumi from "@pulumi/pulumi";

const PREFIX = "homelab:";

/**
 * The top-level setting a stack-file path belongs to (`nodes[2].patches[0]` → `nodes`, `roles.worker.labels` →
 * `roles`), or undefined for text that is not such a path (a program default's description).
 */
export function settingOf(source: string): string | undefined {
  return /^([A-Za-z][A-Za-z0-9]*)(?=[.[]|$)/.exec(source)?.[1];
}

/** The `homelab:*` keys of `all` that `isSecret` (given the full `homelab:key`) holds secret, without the prefix. */
export function secretSettingsOf(all: Record<string, string>, isSecret: (key: string) => boolean): string[] {
  return Object.keys(all)
    .filter((k) => k.startsWith(PREFIX) && isSecret(k))
    .map((k) => k.slice(PREFIX.length))
    .sort();
}

/** Whether a value built from `settings` derives from one the stack holds secret. */
export function derivesFromSecret(
  settings: readonly string[],
  secret: readonly string[] | undefined,
): boolean {
  return settings.some((s) => secret?.includes(s) ?? false);
}

/** `value` as a Pulumi secret when it derives from a secret setting, else as it is (readable in a preview). */
export function secretIfDerived(
  value: string,
  settings: readonly string[],
  secret: readonly string[] | undefined,
): pulumi.Input<string> {
  return derivesFromSecret(settings, secret) ? pulumi.secret(value) : value;
}

/**
 * The runtime's answer to "is this config key secret?". @pulumi/pulumi exports `isConfigSecret` from
 * runtime/config.js (marked internal, so absent from its typings); the SDK is pinned, and a release without it
 * must stop the program rather than send secrets as plain text.
 */
export function runtimeSecretCheck(): (key: string) => boolean {
  const check = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
  if (typeof check !== "function") {
    throw new pulumi.RunError(
      "@pulumi/pulumi no longer exports runtime.isConfigSecret: the program cannot tell which stack settings are " +
        "secret. Pin @pulumi/pulumi back to the version in package-lock.json, or update components/config/secret-settings.ts.",
    );
  }
  return check;
}
