/**
 * Stand-in for `pulumi-resource-talos` v0.8.1 (pulumiverse/pulumi-talos: terraform-provider-talos v0.11.0 behind
 * the pulumi-terraform-bridge plugin-framework shim). It serves the provider's own schema (copied beside this
 * file, see README.md) and answers as the bridge does:
 * - Check validates and marks every schema-secret input as a secret (`pkg/pf/tfbridge/provider_check.go`);
 * - Diff plans the change and reports the top-level keys whose planned value differs from the prior state, with
 *   replaces only for RequiresReplace attributes that changed (`provider_diff.go`; plan.ts);
 * - Create/Update in a preview return the planned state, unknowns included; outside a preview they apply
 *   (apply.ts) and return the new state with its Terraform `id` (`provider_create.go`, `provider_update.go`);
 * - every output whose schema property is secret comes back wrapped as a secret, at any depth.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CheckFailure, StandinProvider } from "../core/provider";
import {
  markFunctionOutputs,
  markResourceInputs,
  markResourceOutputs,
  type PackageSchema,
} from "../core/schema-secrets";
import { isUnknown, revealMap, type Wire, type WireMap } from "../core/wire";
import { applyResource, deleteResource } from "./apply";
import { invokeFunction } from "./functions";
import { validTalosVersion } from "./machine-config";
import { unreachable } from "./nodes";
import { ATTRIBUTES, plan, plannedChanges, TOKENS } from "./plan";

export const TALOS_SCHEMA_FILE = path.join(__dirname, "pulumiverse-talos-v0.8.1.schema.json");

const APPLY_MODES = ["auto", "reboot", "no_reboot", "staged", "staged_if_needing_reboot"];

const isSet = (v: Wire | undefined): boolean => v !== undefined && v !== null;

/** ValidateConfig and attribute validators of the resource (only what the bridge turns into check failures or
 * errors for the inputs a program can send). */
function validate(token: string, c: WireMap): CheckFailure[] {
  const failures: CheckFailure[] = [];
  const need = (names: string[]) => {
    for (const n of names) {
      if (!isSet(c[n]))
        failures.push({
          property: n,
          reason: `Missing required argument. The argument "${n}" is required, but no definition was found.`,
        });
    }
  };
  if (token === TOKENS.secrets && typeof c.talosVersion === "string" && !validTalosVersion(c.talosVersion)) {
    failures.push({ property: "talosVersion", reason: `invalid talos version "${c.talosVersion}"` });
  }
  if (token === TOKENS.configurationApply || token === TOKENS.bootstrap) need(["node"]);
  if (token === TOKENS.kubeconfig) need(["node", "clientConfiguration"]);
  if (
    token === TOKENS.configurationApply &&
    typeof c.applyMode === "string" &&
    !APPLY_MODES.includes(c.applyMode)
  ) {
    failures.push({
      property: "applyMode",
      reason: `Attribute apply_mode value must be one of: ["auto" "reboot" "no_reboot" "staged" "staged_if_needing_reboot"], got: "${c.applyMode}"`,
    });
  }
  return failures;
}

/** talos_machine_configuration_apply and _bootstrap ValidateConfig: exactly one of each input pair. These are
 * diagnostics without an attribute path, which the bridge returns as an error. */
function validateExclusive(token: string, c: WireMap): void {
  const pairs: [string, string, string][] = [];
  if (token === TOKENS.configurationApply)
    pairs.push(["machineConfigurationInput", "machineConfigurationInputWo", "machine configuration input"]);
  if (token === TOKENS.configurationApply || token === TOKENS.bootstrap)
    pairs.push(["clientConfiguration", "clientConfigurationWo", "client configuration"]);
  for (const [a, b, what] of pairs) {
    if (!isSet(c[a]) && !isSet(c[b]))
      throw new Error(`Missing ${what}: Exactly one of ${snake(a)} or ${snake(b)} must be set`);
    if (isSet(c[a]) && isSet(c[b]))
      throw new Error(`Conflicting ${what}: Only one of ${snake(a)} or ${snake(b)} can be set, not both`);
  }
}

const snake = (s: string) => s.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`);

export function createTalosProvider(env: NodeJS.ProcessEnv = process.env): StandinProvider {
  let schemaText: string | undefined;
  let schema: PackageSchema | undefined;
  const loadSchema = (): PackageSchema => {
    schemaText ??= fs.readFileSync(TALOS_SCHEMA_FILE, "utf8");
    schema ??= JSON.parse(schemaText) as PackageSchema;
    return schema;
  };
  const known = (token: string) => {
    if (!ATTRIBUTES[token])
      throw new Error(
        `unknown resource type ${token}: the stand-in implements ${Object.keys(ATTRIBUTES).join(", ")}`,
      );
  };
  const outputs = (token: string, state: WireMap) => markResourceOutputs(loadSchema(), token, state);

  return {
    name: "talos",
    version: "0.8.1",
    schema: () => {
      loadSchema();
      return schemaText!;
    },
    check: ({ type, news }) => {
      known(type);
      const c = revealMap(news);
      const failures = validate(type, c);
      if (failures.length === 0) validateExclusive(type, c);
      return { inputs: markResourceInputs(loadSchema(), type, news), failures };
    },
    diff: ({ type, olds, news }) => {
      known(type);
      const prior = revealMap(olds);
      const { planned, requiresReplace } = plan(type, prior, revealMap(news));
      const diffs = plannedChanges(prior, planned);
      return { changes: diffs.length > 0, diffs, replaces: requiresReplace.filter((k) => diffs.includes(k)) };
    },
    create: ({ type, news, preview }) => {
      known(type);
      const { planned } = plan(type, undefined, revealMap(news));
      if (preview) return { id: "", outs: outputs(type, planned) };
      const state = applyResource(type, planned, undefined, env);
      return { id: String(state.id), outs: outputs(type, state) };
    },
    update: ({ type, olds, news, preview }) => {
      known(type);
      const prior = revealMap(olds);
      const { planned } = plan(type, prior, revealMap(news));
      return outputs(type, preview ? planned : applyResource(type, planned, prior, env));
    },
    delete: ({ type, olds }) => deleteResource(type, revealMap(olds), env),
    invoke: ({ token, args }) => {
      const r = invokeFunction(token, args, env);
      return { outputs: markFunctionOutputs(loadSchema(), token, r.outputs), failures: r.failures };
    },
    injectedFailure: (type, news) => {
      const node = revealMap(news).node;
      const addr = typeof node === "string" && !isUnknown(node) ? node : "node";
      switch (type) {
        case TOKENS.configurationApply:
          return `Error applying configuration: ${unreachable(addr)}`;
        case TOKENS.bootstrap:
          return `Error bootstrapping node: ${unreachable(addr)}`;
        case TOKENS.kubeconfig:
          return `failed to retrieve kubeconfig: ${unreachable(addr)}`;
        case TOKENS.schematic:
          return 'failed to create schematic: Post "https://factory.talos.dev/schematics": dial tcp: lookup factory.talos.dev: no such host';
        default:
          return "failed to generate secrets bundle: entropy source unavailable";
      }
    },
  };
}
