/**
 * Terraform planning for the five talos resources, the way the bridged provider computes it: Diff, and Create
 * and Update in previews, all call PlanResourceChange and work from the planned state
 * (pulumi-terraform-bridge `pkg/pf/tfbridge/provider_diff.go`, `provider_create.go`, `provider_update.go`).
 *
 * The plan follows terraform-plugin-framework: the proposed state takes the config, and the prior value for a
 * computed attribute left null; defaults fill optional+computed attributes; when the resource changes at all,
 * computed attributes left null in the config become unknown (MarkComputedNilsAsUnknown); attribute plan
 * modifiers then run (UseStateForUnknown restores the prior value), then the resource's ModifyPlan. Each
 * attribute's flags and modifiers are those of terraform-provider-talos v0.11.0 `pkg/talos/*_resource.go`.
 * Replacement: the only RequiresReplace among these resources is talos_machine_secrets' talos_version when
 * the planned version is lower than the stored one (talosMachineFeaturesVersionPlanModifier); the bridge
 * reports a replace key only where prior and planned values differ (`checkRequiresReplace`).
 */
import { applyPatches, DEFAULT_TALOS_CONTRACT, parseDocuments, serialize } from "./machine-config";
import { isObject, isUnknown, sameValue, sha256Hex, UNKNOWN, type Wire, type WireMap } from "../core/wire";

interface Attr {
  computed?: boolean;
  /** stringplanmodifier.UseStateForUnknown / objectplanmodifier.UseStateForUnknown. */
  useState?: boolean;
  default?: Wire;
  /** Write-only: used by the provider, never planned or stored. */
  writeOnly?: boolean;
}

export const TOKENS = {
  secrets: "talos:machine/secrets:Secrets",
  configurationApply: "talos:machine/configurationApply:ConfigurationApply",
  bootstrap: "talos:machine/bootstrap:Bootstrap",
  kubeconfig: "talos:cluster/kubeconfig:Kubeconfig",
  schematic: "talos:imageFactory/schematic:Schematic",
} as const;

const id: Attr = { computed: true, useState: true };

/** Attributes by resource (Pulumi names; the Terraform names are their snake_case). */
export const ATTRIBUTES: Record<string, Record<string, Attr>> = {
  // talos_machine_secrets_resource.go
  [TOKENS.secrets]: {
    id,
    talosVersion: { computed: true },
    machineSecrets: { computed: true },
    clientConfiguration: { computed: true },
  },
  // talos_machine_configuration_apply_resource.go
  [TOKENS.configurationApply]: {
    id,
    applyMode: { computed: true, default: "auto" },
    resolvedApplyMode: { computed: true },
    node: {},
    endpoint: { computed: true },
    clientConfiguration: {},
    clientConfigurationWo: { writeOnly: true },
    machineConfigurationInput: {},
    machineConfigurationInputWo: { writeOnly: true },
    onDestroy: {},
    machineConfiguration: { computed: true, useState: true },
    machineConfigurationHash: { computed: true, useState: true },
    configPatches: {},
    timeouts: {},
  },
  // talos_machine_bootstrap_resource.go
  [TOKENS.bootstrap]: {
    id,
    endpoint: { computed: true },
    node: {},
    clientConfiguration: {},
    clientConfigurationWo: { writeOnly: true },
    timeouts: {},
  },
  // talos_cluster_kubeconfig_resource.go
  [TOKENS.kubeconfig]: {
    id,
    node: {},
    endpoint: { computed: true },
    clientConfiguration: {},
    kubeconfigRaw: { computed: true, useState: true },
    kubernetesClientConfiguration: { computed: true, useState: true },
    certificateRenewalDuration: { computed: true, default: "720h" },
    timeouts: {},
  },
  // talos_image_factory_schematic_resource.go: `id` has no plan modifier, so any change makes it unknown.
  [TOKENS.schematic]: { id: { computed: true }, schematic: {} },
};

export interface Plan {
  planned: WireMap;
  /** Top-level attributes whose change forces a replacement. */
  requiresReplace: string[];
}

const isNull = (v: Wire | undefined): boolean => v === undefined || v === null;

/** Compares Talos versions as Go's `semver.Compare` does on `"v" + value` (an invalid version sorts lowest). */
function compareContract(a: string, b: string): number {
  const parse = (s: string) => /^v(\d+)\.(\d+)(?:\.(\d+))?$/.exec(`v${s.replace(/^v/, "")}`);
  const x = parse(a);
  const y = parse(b);
  if (!x || !y) return x ? 1 : y ? -1 : 0;
  for (let i = 1; i <= 3; i++) {
    const d = Number(x[i] ?? 0) - Number(y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The rendered machine configuration (input + patches), as ModifyPlan computes it. */
export function renderConfiguration(input: string, patches: readonly string[]): string {
  return serialize(applyPatches(parseDocuments(input), patches));
}

/**
 * Plans `token` from `prior` state (undefined on create) and `config` (the checked inputs, revealed: no secret
 * wrappers; unknowns as {@link UNKNOWN}). Throws the provider's diagnostic when ModifyPlan fails.
 */
export function plan(token: string, prior: WireMap | undefined, config: WireMap): Plan {
  const attrs = ATTRIBUTES[token];
  if (!attrs) throw new Error(`unknown resource type ${token}`);
  const p: WireMap = {};
  for (const [name, a] of Object.entries(attrs)) {
    const c = config[name];
    if (a.writeOnly) continue;
    if (!isNull(c)) p[name] = c!;
    else if (a.default !== undefined) p[name] = a.default;
    else if (a.computed && prior && !isNull(prior[name])) p[name] = prior[name]!;
  }
  if (token === TOKENS.configurationApply && isObject(p.onDestroy)) {
    // on_destroy's nested booldefaults: reset false, graceful true, reboot false.
    p.onDestroy = { reset: false, graceful: true, reboot: false, ...stripNulls(p.onDestroy) };
  }
  const changing = prior === undefined || Object.keys(attrs).some((k) => !sameValue(prior[k], p[k]));
  if (changing) {
    for (const [name, a] of Object.entries(attrs)) {
      if (a.computed && isNull(config[name]) && a.default === undefined) p[name] = UNKNOWN;
    }
  }
  for (const [name, a] of Object.entries(attrs)) {
    if (a.useState && isUnknown(p[name]) && prior && !isNull(prior[name]) && !isUnknown(config[name])) {
      p[name] = prior[name]!;
    }
  }
  const requiresReplace: string[] = [];
  if (token === TOKENS.secrets) planSecrets(prior, config, p, requiresReplace);
  if (token === TOKENS.configurationApply) planConfigurationApply(config, p);
  if (token === TOKENS.bootstrap || token === TOKENS.kubeconfig) endpointFromNode(config, p);
  for (const k of Object.keys(p)) if (p[k] === null) delete p[k];
  return { planned: p, requiresReplace };
}

function stripNulls(m: WireMap): WireMap {
  return Object.fromEntries(Object.entries(m).filter(([, v]) => v !== null));
}

/** talosMachineFeaturesVersionPlanModifier: default to the machinery's contract; replace on a downgrade. */
function planSecrets(prior: WireMap | undefined, config: WireMap, p: WireMap, replace: string[]): void {
  if (isUnknown(config.talosVersion)) return;
  if (isNull(p.talosVersion) || isUnknown(p.talosVersion)) {
    p.talosVersion = DEFAULT_TALOS_CONTRACT;
    return;
  }
  const stored = prior?.talosVersion;
  if (typeof stored === "string" && compareContract(String(p.talosVersion), stored) < 0)
    replace.push("talosVersion");
}

/** Endpoint defaults to the node (ModifyPlan of the bootstrap, kubeconfig and configuration-apply resources). */
function endpointFromNode(config: WireMap, p: WireMap): boolean {
  if (isUnknown(config.endpoint) || isUnknown(config.node)) return false;
  if (isNull(p.endpoint) || isUnknown(p.endpoint)) p.endpoint = config.node ?? null;
  return true;
}

function planConfigurationApply(config: WireMap, p: WireMap): void {
  if (!endpointFromNode(config, p)) return;
  const input = config.machineConfigurationInputWo ?? config.machineConfigurationInput;
  const patches = config.configPatches;
  if (isUnknown(input) || isUnknown(patches)) {
    p.machineConfigurationHash = UNKNOWN;
    p.machineConfiguration = UNKNOWN;
    return;
  }
  if (typeof input !== "string") return;
  const list = Array.isArray(patches) ? patches : [];
  // An unknown element makes configPatchesAsStrings fail, and ModifyPlan bails out leaving the plan as is.
  if (list.some((e) => isUnknown(e))) return;
  let rendered: string;
  try {
    rendered = renderConfiguration(
      input,
      list.filter((e): e is string => typeof e === "string"),
    );
  } catch (e) {
    throw new Error(`Error applying config patches: ${e instanceof Error ? e.message : String(e)}`);
  }
  p.machineConfigurationHash = sha256Hex(rendered);
  // With the write-only input the rendered config is kept out of state.
  p.machineConfiguration = isNull(config.machineConfigurationInputWo) ? rendered : null;
  const mode = typeof p.applyMode === "string" ? p.applyMode.toLowerCase() : "auto";
  // staged_if_needing_reboot asks the node in a dry run; an unreachable node or unknown inputs resolve to auto.
  p.resolvedApplyMode = mode === "staged_if_needing_reboot" ? "auto" : mode;
}

/** Top-level keys that differ between the prior state and the plan (unknown counts as a change). */
export function plannedChanges(prior: WireMap, planned: WireMap): string[] {
  const keys = new Set([...Object.keys(prior), ...Object.keys(planned)]);
  return [...keys].filter((k) => !k.startsWith("__") && !sameValue(prior[k], planned[k])).sort();
}
