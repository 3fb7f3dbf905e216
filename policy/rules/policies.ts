/**
 * The rules. Each is a plain `ResourceValidationPolicy` whose `validateResource` can be called with fabricated
 * arguments, so every rule is unit-tested without the Pulumi CLI (see `policy/*.test.ts`).
 *
 * All rules read resource inputs through the engine's unknown-checking proxy: a value that is unknown during
 * `pulumi preview` makes that one check advisory for the preview ("can't run during preview"), and the same
 * check runs, mandatory, on `pulumi up` once the value is resolved and before the resource is touched.
 */
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import * as YAML from "yaml";
import { projectPins } from "./pins";
import {
  configOf,
  imageVerdict,
  isDefaultProvider,
  isExactTalosVersion,
  isExactVersion,
  isProviderType,
  isRecord,
  packageOf,
  PINNED_PACKAGES,
  stringsUnderKey,
  TYPES,
  type PinnedPackage,
} from "./support";

type Validate = (args: ResourceValidationArgs, report: ReportViolation) => void;

function rule(
  name: string,
  description: string,
  validate: Validate,
  extra: Partial<ResourceValidationPolicy> = {},
): ResourceValidationPolicy {
  return { name, description, enforcementLevel: "mandatory", validateResource: validate, ...extra };
}

// ---------------------------------------------------------------------------------------------------------------
// Machine secrets
// ---------------------------------------------------------------------------------------------------------------

/** Losing the machine secrets is losing the cluster's CA: no `pulumi destroy` or replacement may delete them. */
export const machineSecretsProtected = rule(
  "talos-machine-secrets-protected",
  "The Talos machine secrets (the cluster's CA keys and tokens) must be `protect`ed.",
  (args, report) => {
    if (args.type === TYPES.talosSecrets && args.opts.protect !== true) {
      report(
        "talos:machine/secrets:Secrets must be created with `protect: true`; deleting it loses the cluster's CA. " +
          "To tear the cluster down on purpose, `pulumi state unprotect` it first.",
      );
    }
  },
  { severity: "critical" },
);

// ---------------------------------------------------------------------------------------------------------------
// Provider versions
// ---------------------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------------------
// Talos and Kubernetes versions
// ---------------------------------------------------------------------------------------------------------------

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

/** Resource types whose `image` strings are container images that must be pinned. */
function isKubernetesWorkload(type: string): boolean {
  return type.startsWith("kubernetes:") && type !== TYPES.helmRelease && !isProviderType(type);
}

/** A value naming a moving target instead of a release. */
const FLOATING_VALUE = /^(latest|stable|edge|main|master|nightly)$/i;
/** `registry.example/repo/name[:tag][@digest]`: a registry host with a dot or port, then a path, no spaces. */
const IMAGE_LIKE = /^[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?\/[^\s]+$/i;

/**
 * No container image anywhere in what the program deploys floats: Talos config patches, Kubernetes workloads,
 * Helm values, and the talosctl commands that upgrade nodes.
 */
export const imagesPinned = rule(
  "images-pinned",
  "Container images in Talos configs, Kubernetes objects, Helm values and upgrade commands must be pinned.",
  (args, report) => {
    if (args.type === TYPES.talosConfigurationApply) {
      const sources: [string, unknown][] = [
        ["machineConfigurationInput", args.props.machineConfigurationInput],
      ];
      const patches = Array.isArray(args.props.configPatches) ? (args.props.configPatches as unknown[]) : [];
      patches.forEach((p, i) => sources.push([`configPatches[${i}]`, p]));
      for (const [where, text] of sources) {
        if (typeof text !== "string") {
          continue;
        }
        for (const doc of parseYamlDocuments(text)) {
          for (const image of stringsUnderKey(doc, "image")) {
            const verdict = imageVerdict(image.value);
            if (!verdict.pinned) {
              report(`${where}: ${image.path} ${image.value} ${verdict.reason}.`);
            }
          }
        }
      }
      return;
    }
    if (args.type === TYPES.helmRelease) {
      // Charts often split repository and tag; only a floating tag is certain to be wrong here.
      for (const tag of stringsUnderKey(args.props.values, "tag")) {
        if (imageVerdict(`x:${tag.value}`).pinned === false && tag.value !== "") {
          report(`values.${tag.path} is \`${tag.value}\`; pin a release.`);
        }
      }
      for (const image of stringsUnderKey(args.props.values, "image")) {
        if (image.value.includes(":") && !imageVerdict(image.value).pinned) {
          report(`values.${image.path} ${image.value} is not pinned.`);
        }
      }
      return;
    }
    if (args.type === TYPES.localCommand) {
      // The upgrade scripts take their target from the environment (TARGET_IMAGE, TARGET_VERSION, ...); a
      // literal `--image`/`--to` in the script text is checked too. Prose in the scripts is not.
      const environment = isRecord(args.props.environment) ? args.props.environment : {};
      for (const [key, value] of Object.entries(environment)) {
        if (typeof value !== "string") continue;
        if (FLOATING_VALUE.test(value.trim()) || (/VERSION$/.test(key) && value.trim() === "")) {
          report(`environment.${key} is \`${value}\`; upgrades must name an exact release.`);
        } else if (IMAGE_LIKE.test(value)) {
          const verdict = imageVerdict(value);
          if (!verdict.pinned) report(`environment.${key} ${value} ${verdict.reason}.`);
        }
      }
      for (const field of ["create", "update", "delete"]) {
        const script = args.props[field];
        if (typeof script !== "string") continue;
        // Shell comments describe the flags; only commands pass them.
        const code = script
          .split("\n")
          .map((line) => line.replace(/(^|\s)#.*$/, ""))
          .join("\n");
        for (const m of code.matchAll(/--(image|to)[= ]+["']?([^\s"'$]+)(?=[\s"']|$)/g)) {
          const [, flag, value] = m as unknown as [string, string, string];
          const pinned = flag === "image" ? imageVerdict(value).pinned : isExactVersion(value);
          if (!pinned) report(`${field}: --${flag} ${value} is not an exact release.`);
        }
      }
      return;
    }
    if (isKubernetesWorkload(args.type)) {
      for (const image of stringsUnderKey(args.props, "image")) {
        const verdict = imageVerdict(image.value);
        if (!verdict.pinned) {
          report(`${image.path} ${image.value} ${verdict.reason}.`);
        }
      }
    }
  },
  { severity: "medium" },
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

// ---------------------------------------------------------------------------------------------------------------
// Destructive operations
// ---------------------------------------------------------------------------------------------------------------

interface ResetConfig {
  allowResetOnDestroy?: boolean;
  allowUngracefulReset?: boolean;
}

/**
 * Removing a node from the stack must not wipe it unless the stack opted in (`homelab:resetOnDestroy: true`,
 * passed to this pack as `allowResetOnDestroy`). Even then the reset is graceful: the node leaves etcd and is
 * drained first, so a control plane reset never costs quorum by surprise.
 */
export const resetOnDestroyRequiresOptIn = rule(
  "reset-on-destroy-requires-opt-in",
  "A config apply may reset its node on destroy only when the stack opts in, and only gracefully.",
  (args, report) => {
    if (args.type !== TYPES.talosConfigurationApply) {
      return;
    }
    const onDestroy = args.props.onDestroy;
    if (!isRecord(onDestroy) || onDestroy.reset !== true) {
      return;
    }
    const config = configOf<ResetConfig>(args);
    if (config.allowResetOnDestroy !== true) {
      report(
        "onDestroy.reset is true but the stack has not opted in: set `homelab:resetOnDestroy: true` in the stack " +
          "file (the workflows pass it to the policy pack as allowResetOnDestroy).",
      );
    }
    if (onDestroy.graceful === false && config.allowUngracefulReset !== true) {
      report("onDestroy.graceful is false: the node would be wiped without leaving etcd or draining first.");
    }
  },
  {
    severity: "critical",
    configSchema: {
      properties: {
        allowResetOnDestroy: { type: "boolean", default: false },
        allowUngracefulReset: { type: "boolean", default: false },
      },
    },
  },
);

interface ApplyModeConfig {
  allowRebootApplyMode?: boolean;
}

const APPLY_MODES = new Set(["auto", "reboot", "no_reboot", "staged", "staged_if_needing_reboot"]);

/**
 * `applyMode: reboot` reboots every node on any config change, all at once: control planes together lose etcd
 * quorum. The default (`auto`) reboots only when a change needs it, and upgrades go node by node.
 */
export const applyModeNoForcedReboot = rule(
  "apply-mode-no-forced-reboot",
  "Config applies must not force a reboot of every node (applyMode `reboot`) unless explicitly allowed.",
  (args, report) => {
    if (args.type !== TYPES.talosConfigurationApply) {
      return;
    }
    const mode = args.props.applyMode;
    if (mode === undefined) {
      return;
    }
    if (typeof mode !== "string" || !APPLY_MODES.has(mode)) {
      report(`applyMode ${JSON.stringify(mode)} is not one the provider knows.`);
      return;
    }
    if (mode === "reboot" && configOf<ApplyModeConfig>(args).allowRebootApplyMode !== true) {
      report("applyMode `reboot` reboots the node on every change; use `auto` (the default) or `staged`.");
    }
  },
  {
    severity: "high",
    configSchema: { properties: { allowRebootApplyMode: { type: "boolean", default: false } } },
  },
);

function ignores(ignoreChanges: readonly string[], property: string): boolean {
  return ignoreChanges.some((p) => p === "*" || p === property || p.startsWith(`${property}.`));
}

/**
 * Talos refuses a second bootstrap of etcd, and a replaced Bootstrap resource would try one. Rotating the client
 * credentials must therefore never replace it: the program ignores changes to them.
 */
export const bootstrapNeverReplaced = rule(
  "bootstrap-never-replaced",
  "The etcd Bootstrap resource must ignore changes to its client credentials so it is never replaced.",
  (args, report) => {
    if (args.type !== TYPES.talosBootstrap) {
      return;
    }
    if (!ignores(args.opts.ignoreChanges, "clientConfiguration")) {
      report(
        "Bootstrap must set `ignoreChanges` covering clientConfiguration (or `*`): a credential rotation would " +
          "otherwise replace it and Talos would be asked to bootstrap etcd a second time.",
      );
    }
  },
  { severity: "high" },
);

// ---------------------------------------------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------------------------------------------

const SECRET_OUTPUTS: Record<string, string[]> = {
  [TYPES.talosSecrets]: ["machineSecrets", "clientConfiguration"],
  [TYPES.talosKubeconfig]: ["kubeconfigRaw", "kubernetesClientConfiguration"],
  [TYPES.talosConfigurationApply]: ["machineConfiguration"],
};

/** Outputs that hold keys must be encrypted in the state, whatever the provider reports about them. */
export const credentialsStaySecret = rule(
  "credentials-stay-secret",
  "Outputs that carry keys (machine secrets, kubeconfig, machine configs) must be marked secret.",
  (args, report) => {
    const required = SECRET_OUTPUTS[args.type];
    if (required === undefined) {
      return;
    }
    const declared = args.opts.additionalSecretOutputs ?? [];
    const missing = required.filter((output) => !declared.includes(output));
    if (missing.length > 0) {
      report(`${args.type} must list ${missing.join(", ")} in additionalSecretOutputs.`);
    }
  },
  { severity: "critical" },
);

/**
 * A Kubernetes resource on the default provider would be applied to whichever cluster the machine running Pulumi
 * has in `~/.kube/config` (on the self-hosted runner, maybe another one). Every Kubernetes resource goes through
 * the explicit provider built from this cluster's kubeconfig.
 */
export const kubernetesExplicitProvider = rule(
  "kubernetes-explicit-provider",
  "Kubernetes resources must use the explicit provider built from this cluster's kubeconfig.",
  (args, report) => {
    if (args.type === "pulumi:providers:kubernetes") {
      if (
        isDefaultProvider(args) ||
        typeof args.props.kubeconfig !== "string" ||
        args.props.kubeconfig === ""
      ) {
        report("The Kubernetes provider must be explicit and be given this cluster's kubeconfig.");
      }
      return;
    }
    if (!args.type.startsWith("kubernetes:") || args.provider === undefined) {
      return;
    }
    if (isDefaultProvider(args.provider)) {
      report(`${args.type} uses the default Kubernetes provider, i.e. the ambient ~/.kube/config.`);
    }
  },
  { severity: "critical" },
);

/** Every rule, in the order the pack reports them. */
export const policies: ResourceValidationPolicy[] = [
  machineSecretsProtected,
  providerVersionsPinned,
  versionsPinned,
  imagesPinned,
  helmChartVersionPinned,
  resetOnDestroyRequiresOptIn,
  applyModeNoForcedReboot,
  bootstrapNeverReplaced,
  credentialsStaySecret,
  kubernetesExplicitProvider,
];
