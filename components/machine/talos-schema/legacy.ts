/**
 * Settings the upstream schema leaves out (Talos deprecated them) but Talos still reads, so they are not
 * "unknown keys": each has a rule saying what to report.
 */
import { formatPath, isPlainObject, joinOr, patternOf, type Reporter, type Segment } from "./report";
import type { KindEntry, TalosMinor } from "./types";

/** Replacement kinds are named only if the minor's schema has them. */
export type LegacyRule = (ctx: LegacyContext) => void;

interface LegacyContext {
  path: Segment[];
  value: unknown;
  minor: TalosMinor;
  kinds: Map<string, KindEntry[]>;
  report: Reporter;
}

function deprecated(replacementKinds: string[], extra = ""): LegacyRule {
  return ({ path, minor, kinds, report }) => {
    const real = replacementKinds.filter((k) => kinds.has(k));
    const use =
      real.length === 0
        ? ""
        : real.length === 1
          ? `; use a ${real[0]} document instead`
          : `; use ${joinOr(real)} documents instead`;
    report.warning(
      path,
      `${formatPath(path)} is deprecated: Talos ${minor} still accepts it but its schema no longer lists it${use}${extra}`,
    );
  };
}

export const LEGACY_RULES: Record<string, LegacyRule> = {
  persist: ({ path, minor, report }) =>
    report.warning(path, `${formatPath(path)} is deprecated and ignored by Talos ${minor}; remove it`),
  "machine.env": deprecated(["EnvironmentConfig"]),
  "machine.registries": deprecated(["RegistryMirrorConfig", "RegistryAuthConfig", "RegistryTLSConfig"]),
  "machine.time": deprecated(["TimeSyncConfig"]),
  "machine.install.extraKernelArgs": ({ path, minor, report }) =>
    report.warning(
      path,
      `${formatPath(path)} is deprecated: Talos ${minor} still accepts it, but since Talos 1.13 upgrades ignore it ` +
        `unless run with talosctl upgrade --legacy; put kernel arguments in the Image Factory schematic ` +
        `(customization.extraKernelArgs) instead`,
    ),
  "machine.features.rbac": ({ path, minor, report }) =>
    report.warning(path, `${formatPath(path)} is deprecated: Talos ${minor} always enables RBAC; remove it`),
  "machine.network": (ctx) => {
    if (!isPlainObject(ctx.value)) {
      deprecated(["LinkConfig", "HostnameConfig", "ResolverConfig"])(ctx);
      return;
    }
    for (const [key, value] of Object.entries(ctx.value)) {
      const path = [...ctx.path, key];
      const rule = LEGACY_RULES[patternOf(path)];
      if (rule) rule({ ...ctx, path, value });
      else ctx.report.unknownKey(path, LEGACY_KEYS_BY_PARENT.get("machine.network") ?? []);
    }
  },
  "machine.network.hostname": ({ path, minor, report }) =>
    report.error(
      path,
      `${formatPath(path)} cannot be used: Talos ${minor} configs already carry a HostnameConfig document and ` +
        `reject a second hostname ("static hostname is already set in v1alpha1 config"); set the node's ` +
        `hostname setting (the project writes a HostnameConfig with auto: off) or use a HostnameConfig document`,
    ),
  "machine.network.interfaces": (ctx) => {
    deprecated(
      [
        "LinkConfig",
        "BondConfig",
        "BridgeConfig",
        "VLANConfig",
        "DHCPv4Config",
        "DHCPv6Config",
        "Layer2VIPConfig",
      ],
      " (addresses, routes and MTU go on LinkConfig; a VIP is a Layer2VIPConfig)",
    )(ctx);
    if (!Array.isArray(ctx.value)) return;
    ctx.value.forEach((iface: unknown, i) => {
      if (!isPlainObject(iface)) return;
      if (iface.vip !== undefined) legacyVip(ctx, [...ctx.path, i, "vip"]);
      if (Array.isArray(iface.vlans)) {
        iface.vlans.forEach((vlan: unknown, j) => {
          if (isPlainObject(vlan) && vlan.vip !== undefined)
            legacyVip(ctx, [...ctx.path, i, "vlans", j, "vip"]);
        });
      }
    });
  },
  "machine.network.nameservers": deprecated(["ResolverConfig"]),
  "machine.network.searchDomains": deprecated(["ResolverConfig"], " (searchDomains.domains)"),
  "machine.network.disableSearchDomain": deprecated(["ResolverConfig"], " (searchDomains.disableDefault)"),
  "machine.network.extraHostEntries": deprecated(["StaticHostConfig"]),
  "machine.network.kubespan": deprecated(["KubeSpanConfig"]),
};

/** Legacy keys accepted at each level, so a typo near one still gets a suggestion. */
export const LEGACY_KEYS_BY_PARENT = new Map<string, string[]>();
for (const pattern of Object.keys(LEGACY_RULES)) {
  const dot = pattern.lastIndexOf(".");
  const parent = dot === -1 ? "" : pattern.slice(0, dot);
  LEGACY_KEYS_BY_PARENT.set(parent, [...(LEGACY_KEYS_BY_PARENT.get(parent) ?? []), pattern.slice(dot + 1)]);
}

function legacyVip({ minor, report }: LegacyContext, path: Segment[]): void {
  report.error(
    path,
    `${formatPath(path)} is the legacy VIP setting, which Talos ${minor} rejects next to the Layer2VIPConfig ` +
      `document this project generates for the cluster VIP; set the vip stack setting instead ` +
      `(or write a Layer2VIPConfig document with name: <VIP address> and link: <interface>)`,
  );
}
