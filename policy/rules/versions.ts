/**
 * Rules that keep what runs an exact, reviewed release: the provider plugins, the Talos and Kubernetes versions
 * in the secrets bundle and machine configs, and the Helm chart of the CNI.
 */
import * as YAML from "yaml";
import { projectPins } from "./pins";
import { rule } from "./rule";
import {
  configOf,
  imageVerdict,
  isExactTalosVersion,
  isExactVersion,
  isProviderType,
  isRecord,
  packageOf,
  PINNED_PACKAGES,
  TYPES,
  type PinnedPackage,
} from "./support";

interface ProviderPinConfig {
  talos?: string;
  kubernetes?: string;
  command?: string;
}

function isPinnedPackage(pkg: string): pkg is PinnedPackage {
  return (PINNED_PACKAGES as readonly string[]).includes(pkg);
}

/**
 * Every Talos, Kubernetes and Command resource is managed by the pinned plugin version, and so is every provider
 * of those packages. Without it a stray `version` option, or a machine with another plugin cached, would drive the
 * cluster with code nobody reviewed.
 */
export const providerVersionsPinned = rule(
  "provider-versions-pinned",
  "Talos, Kubernetes and Command resources must use the pinned provider plugin version.",
  (args, report) => {
    const pkg = packageOf(args.type);
    if (!isPinnedPackage(pkg)) {
      return;
    }
    const defaults = projectPins();
    const configured = configOf<ProviderPinConfig>(args);
    const expected = configured[pkg] ?? defaults[pkg];
    if (expected === undefined) {
      report(`No exact version is pinned for the ${pkg} provider (package.json must pin its SDK exactly).`);
      return;
    }
    if (isProviderType(args.type)) {
      const version = args.props.version;
      if (version !== expected) {
        report(`Provider ${args.name} is version ${String(version ?? "(unset)")}, pinned is ${expected}.`);
      }
      return;
    }
    // Component resources (e.g. a Helm v4 Chart or a YAML ConfigGroup) carry no provider of their own; the
    // custom resources they create are checked one by one.
    if (args.provider === undefined) {
      return;
    }
    if (args.provider.type !== `pulumi:providers:${pkg}`) {
      report(`A ${pkg} resource is managed by a ${args.provider.type} provider.`);
      return;
    }
    const version = args.provider.props.version;
    if (version !== expected) {
      report(
        `${args.type} is managed by ${pkg} provider version ${String(version ?? "(unset)")}; pinned is ${expected}.`,
      );
    }
  },
  {
    severity: "high",
    configSchema: {
      properties: {
        talos: { type: "string", description: "Overrides the pinned Talos provider version." },
        kubernetes: { type: "string", description: "Overrides the pin read from package.json." },
        command: { type: "string", description: "Overrides the pin read from package.json." },
      },
    },
  },
);

/** Parses a (multi-document) Talos machine configuration or config patch; `[]` for anything that isn't YAML. */
export function parseYamlDocuments(text: string): unknown[] {
  try {
    return YAML.parseAllDocuments(text)
      .filter((doc) => doc.errors.length === 0)
      .map((doc) => doc.toJS() as unknown);
  } catch {
    return [];
  }
}

function machineImage(docs: unknown[], section: "install" | "kubelet"): string | undefined {
  for (const doc of docs) {
    if (isRecord(doc) && isRecord(doc.machine) && isRecord(doc.machine[section])) {
      const image = doc.machine[section].image;
      if (typeof image === "string") {
        return image;
      }
    }
  }
  return undefined;
}

/**
 * The Talos and Kubernetes versions the cluster runs are exact releases: the secrets bundle names its Talos
 * version, and every machine configuration names the installer (Talos) and kubelet (Kubernetes) images with a
 * release tag or digest. A missing version means "whatever the provider defaults to", which moves with it.
 */
export const versionsPinned = rule(
  "talos-kubernetes-versions-pinned",
  "Talos and Kubernetes versions must be exact releases (no `latest`, no provider default).",
  (args, report) => {
    if (args.type === TYPES.talosSecrets) {
      const version = args.props.talosVersion;
      if (!isExactTalosVersion(version)) {
        report(
          `talosVersion must be an exact Talos release like v1.13.9, not ${JSON.stringify(version ?? null)} ` +
            "(unset means the provider's own default, which changes with the provider).",
        );
      }
      return;
    }
    if (args.type !== TYPES.talosConfigurationApply) {
      return;
    }
    const input = args.props.machineConfigurationInput;
    const docs = typeof input === "string" ? parseYamlDocuments(input).filter(isRecord) : [];
    if (docs.length === 0) {
      report("machineConfigurationInput is not a Talos machine configuration the policy can read.");
      return;
    }
    const patches = Array.isArray(args.props.configPatches) ? (args.props.configPatches as unknown[]) : [];
    const patchDocs = patches.flatMap((p) => (typeof p === "string" ? parseYamlDocuments(p) : []));
    // A patch that sets an image wins over the generated one.
    const effective = [...patchDocs, ...docs];
    const checks: [string, "install" | "kubelet"][] = [
      ["machine.install.image (the Talos version)", "install"],
      ["machine.kubelet.image (the Kubernetes version)", "kubelet"],
    ];
    for (const [label, section] of checks) {
      const image = machineImage(effective, section);
      if (image === undefined) {
        report(`${label} is not set, so the node would run whatever Talos defaults to.`);
        continue;
      }
      const verdict = imageVerdict(image);
      if (!verdict.pinned) {
        report(`${label} ${image} ${verdict.reason}.`);
      }
    }
  },
  { severity: "high" },
);

/** A Helm release without an exact chart version installs whatever the repository serves that day. */
export const helmChartVersionPinned = rule(
  "helm-chart-version-pinned",
  "Helm releases (the CNI among them) must name an exact chart version.",
  (args, report) => {
    if (args.type !== TYPES.helmRelease) {
      return;
    }
    const version = args.props.version;
    if (!isExactVersion(version)) {
      report(
        `Helm release chart ${String(args.props.chart ?? args.name)} has version ${JSON.stringify(version ?? null)}; ` +
          "set an exact chart version (unset or a range installs whatever is newest).",
      );
    }
  },
  { severity: "high" },
);
