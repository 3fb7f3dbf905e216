/**
 * Settings the upstream schema leaves out (Talos marks them `docgen:nodoc`: deprecated, or kept for old
 * configs) but still reads, so they are not "unknown keys". Talos accepts them without a word, so this
 * check does too, except where a node warns or refuses (machinery v1.13.0
 * config/types/v1alpha1/v1alpha1_validation.go), which it says in Talos's own words. Their values are not
 * checked here (the schema has no shape for them); tools/talos-check does that in the tests.
 */
import { formatPath, isPlainObject, patternOf, type Reporter, type Segment } from "./report";
import type { TalosMinor } from "./types";

export type LegacyRule = (ctx: LegacyContext) => void;

interface LegacyContext {
  path: Segment[];
  value: unknown;
  minor: TalosMinor;
  report: Reporter;
}

/** Accepted as Talos accepts it. */
const accepted: LegacyRule = () => undefined;

/** A key under the legacy `machine.network`: the known ones by their rule, others as typos. */
const networkConfig: LegacyRule = (ctx) => {
  if (!isPlainObject(ctx.value)) return;
  for (const [key, value] of Object.entries(ctx.value)) {
    const path = [...ctx.path, key];
    const rule = LEGACY_RULES[patternOf(path)];
    if (rule) rule({ ...ctx, path, value });
    else ctx.report.unknownKey(path, LEGACY_KEYS_BY_PARENT.get("machine.network") ?? []);
  }
};

/** v1alpha1_validation.go warns once per interface that still uses `cidr`. */
const interfaces: LegacyRule = ({ path, value, report }) => {
  if (!Array.isArray(value)) return;
  value.forEach((iface: unknown, i) => {
    if (!isPlainObject(iface) || iface.cidr === undefined) return;
    report.warning(
      [...path, i, "cidr"],
      `${formatPath([...path, i, "cidr"])}: Talos warns ${JSON.stringify(String(iface.interface ?? ""))}: machine.network.interface.cidr is deprecated, please use machine.network.interface.addresses`,
    );
  });
};

export const LEGACY_RULES: Record<string, LegacyRule> = {
  persist: accepted,
  "machine.disks": accepted,
  "machine.env": accepted,
  "machine.time": accepted,
  "machine.registries": accepted,
  "machine.systemDiskEncryption": accepted,
  "machine.install.extraKernelArgs": accepted, // refused beside grubUseUKICmdline: see machine/checks.ts
  "machine.install.bootloader": accepted,
  "machine.install.extensions": ({ path, value, report }) => {
    if (Array.isArray(value) && value.length > 0) {
      report.warning(
        path,
        `${formatPath(path)}: Talos warns ".machine.install.extensions is deprecated, please see https://docs.siderolabs.com/talos/latest/platform-specific-installations/boot-assets" — use the extensions stack setting (an Image Factory schematic)`,
      );
    }
  },
  "machine.features.rbac": accepted,
  "machine.features.stableHostname": accepted,
  "machine.features.apidCheckExtKeyUsage": accepted,
  "cluster.allowSchedulingOnMasters": accepted,
  "machine.network": networkConfig,
  "machine.network.hostname": ({ path, minor, report }) =>
    report.error(
      path,
      `${formatPath(path)} cannot be used: Talos ${minor} configs already carry a HostnameConfig document and ` +
        `reject a second hostname ("static hostname is already set in v1alpha1 config"); set the node's ` +
        `hostname setting (the project writes a HostnameConfig with auto: off) or use a HostnameConfig document`,
    ),
  "machine.network.interfaces": interfaces,
  "machine.network.nameservers": accepted,
  "machine.network.searchDomains": accepted,
  "machine.network.disableSearchDomain": accepted,
  "machine.network.extraHostEntries": accepted,
  "machine.network.kubespan": accepted,
};

/** Legacy keys accepted at each level, so a typo near one still gets a suggestion. */
export const LEGACY_KEYS_BY_PARENT = new Map<string, string[]>();
for (const pattern of Object.keys(LEGACY_RULES)) {
  const dot = pattern.lastIndexOf(".");
  const parent = dot === -1 ? "" : pattern.slice(0, dot);
  LEGACY_KEYS_BY_PARENT.set(parent, [...(LEGACY_KEYS_BY_PARENT.get(parent) ?? []), pattern.slice(dot + 1)]);
}
