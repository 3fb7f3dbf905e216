/**
 * The Talos ↔ Kubernetes support matrix and the version defaults this program is pinned to.
 *
 * Each row comes from the Talos "Support Matrix" page of that release's documentation
 * (docs.siderolabs.com/talos/v1.N/getting-started/support-matrix; for 1.13 also
 * `pkg/machinery/constants` in siderolabs/talos v1.13.0 for the default Kubernetes version).
 * Only minors whose machine-config schema ships with the project (components/machine/talos-schema) are
 * listed: the program validates every patch against that schema, so a Talos minor without one cannot be
 * targeted yet. Adding a minor = a row here + its schema.
 */

export interface TalosRelease {
  /** Kubernetes minors this Talos minor supports, inclusive (`1.31` … `1.36`). */
  readonly kubernetes: { readonly min: string; readonly max: string };
}

export const TALOS_SUPPORT_MATRIX: Readonly<Record<string, TalosRelease>> = {
  // docs.siderolabs.com/talos/v1.12/getting-started/support-matrix: 1.35, 1.34, 1.33, 1.32, 1.31, 1.30
  "1.12": { kubernetes: { min: "1.30", max: "1.35" } },
  // docs.siderolabs.com/talos/v1.13/getting-started/support-matrix: 1.31 … 1.36
  "1.13": { kubernetes: { min: "1.31", max: "1.36" } },
};

/** The provider (pulumiverse/talos v0.8.1 → Talos machinery v1.13.0) generates 1.13-contract configs. */
export const DEFAULT_TALOS_VERSION = "v1.13.9";
/** Talos 1.13's default Kubernetes (machinery constants). */
export const DEFAULT_KUBERNETES_VERSION = "1.36.0";

/** CNI releases deployed by default, with where their Talos setup is documented. */
export const CNI_DEFAULTS = {
  // Tigera operator chart; docs.siderolabs.com kubernetes-guides/cni/deploy-calico uses v3.31.4.
  calico: { version: "v3.31.4", chart: "tigera-operator", repo: "https://docs.tigera.io/calico/charts" },
  // Cilium chart; docs.siderolabs.com kubernetes-guides/cni/deploying-cilium uses 1.18.0.
  cilium: { version: "1.18.0", chart: "cilium", repo: "https://helm.cilium.io/" },
  // Talos's built-in flannel: deployed by Talos itself, versioned with Talos.
  flannel: { version: "builtin", chart: "", repo: "" },
} as const;

export interface Semver {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly prerelease?: string;
}

const SEMVER = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/;

/** Parses `1.2.3`, `v1.2.3` or `v1.2.3-beta.0`; undefined when it is not a full version. */
export function parseSemver(version: string): Semver | undefined {
  const m = SEMVER.exec(version.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease: m[4] };
}

/** `1.13` for `v1.13.9`. */
export function minorOf(version: string): string | undefined {
  const v = parseSemver(version);
  return v ? `${v.major}.${v.minor}` : undefined;
}

function compareMinor(a: string, b: string): number {
  const [am, an] = a.split(".").map(Number);
  const [bm, bn] = b.split(".").map(Number);
  return am !== bm ? am - bm : an - bn;
}

/**
 * Why this Talos/Kubernetes pair cannot run, or undefined when the matrix supports it.
 * Messages say what to change.
 */
export function checkVersionPair(talosVersion: string, kubernetesVersion: string): string | undefined {
  const talosMinor = minorOf(talosVersion);
  const k8sMinor = minorOf(kubernetesVersion);
  if (!talosMinor || !k8sMinor) return undefined; // malformed versions are reported by the schema
  const release = TALOS_SUPPORT_MATRIX[talosMinor];
  if (!release) {
    const known = Object.keys(TALOS_SUPPORT_MATRIX).join(", ");
    return `Talos ${talosMinor} is not supported by this program (supported minors: ${known}); use e.g. ${DEFAULT_TALOS_VERSION}`;
  }
  const { min, max } = release.kubernetes;
  if (compareMinor(k8sMinor, min) < 0 || compareMinor(k8sMinor, max) > 0) {
    return `Kubernetes ${kubernetesVersion} is not supported by Talos ${talosMinor} (supported: ${min} to ${max}); pick a Kubernetes ${min}.x–${max}.x release or another Talos version`;
  }
  return undefined;
}

/**
 * Kubernetes minors each CNI release line is e2e-tested against, where the CNI publishes it. Outside the
 * range the CNI calls a version untested rather than unsupported, so this produces a warning, not an
 * error. Cilium 1.18: docs.cilium.io network/kubernetes/compatibility (v1.18.14).
 */
export const CNI_TESTED_KUBERNETES: Readonly<
  Record<string, Readonly<Record<string, { min: string; max: string }>>>
> = {
  cilium: { "1.18": { min: "1.30", max: "1.33" } },
};

/** A warning when the CNI release line was not tested with this Kubernetes minor, else undefined. */
export function cniCompatibilityWarning(
  cni: string,
  cniVersion: string,
  kubernetesVersion: string,
): string | undefined {
  const line = minorOf(cniVersion);
  const k8s = minorOf(kubernetesVersion);
  const range = line ? CNI_TESTED_KUBERNETES[cni]?.[line] : undefined;
  if (!range || !k8s) return undefined;
  if (compareMinor(k8s, range.min) >= 0 && compareMinor(k8s, range.max) <= 0) return undefined;
  return `cni: ${cni} ${line} is tested with Kubernetes ${range.min} to ${range.max}, not ${k8s}; consider a newer ${cni} release (cni.version)`;
}
