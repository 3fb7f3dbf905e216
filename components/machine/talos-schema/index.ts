/**
 * Validation of Talos machine-config documents and strategic-merge patches against the Talos JSON schema.
 *
 * The schemas are structure-only copies of the upstream Talos schemas for 1.12 and 1.13, derived by
 * `scripts/derive-talos-schema.mjs` (see the `$comment` in each generated file). Nothing here reads
 * `../shared` at run time.
 *
 * It is the fast first check, with did-you-mean messages; the judge is the Talos machinery itself, which
 * tools/talos-check runs in the tests over the same documents (a document this check passes and Talos
 * refuses is a bug here). Three facts shape this module:
 * - The upstream schema leaves out fields that Talos deprecated but still reads (`machine.network`,
 *   `machine.time`, ...). A plain "unknown key" for those would be wrong; they are accepted as Talos
 *   accepts them, with Talos's own warning or refusal where it gives one (legacy.ts).
 * - Some values fit the schema but every node refuses them (refusals.ts).
 * - Patches are partial, so `required` is not enforced for them; everything else (unknown keys, types,
 *   enums, patterns) is.
 */
import { explainErrors } from "./explain";
import { reportRefusedValues } from "./refusals";
import { stateFor, supportedTalosMinors, validatorFor } from "./compile";
import { closest } from "../../config/suggest";
import { describeValue, isPlainObject, Reporter } from "./report";
import {
  V1ALPHA1_CONFIG,
  type KindEntry,
  type MinorState,
  type SchemaProblem,
  type TalosMinor,
} from "./types";

export type { SchemaProblem, TalosMinor } from "./types";
export { supportedTalosMinors } from "./compile";

/** Options for {@link validateTalosDocument}. */
export interface ValidateTalosDocumentOptions {
  /** The Talos config contract to check against. */
  talosMinor: TalosMinor;
  /** Names the document in messages, e.g. `nodes[1].patches[0]` or `generated hostname patch for cp-1`. */
  where: string;
}

/**
 * Validates one strategic-merge patch or config document (already parsed from YAML) against the Talos
 * schema of `opts.talosMinor`.
 *
 * A document with `kind` is checked against that kind's definition (e.g. `HostnameConfig`); one without is
 * a `v1alpha1` machine/cluster config. Returns an empty list when the document is fine.
 */
export function validateTalosDocument(doc: unknown, opts: ValidateTalosDocumentOptions): SchemaProblem[] {
  const { talosMinor, where } = opts;
  const state = stateFor(talosMinor);
  const report = new Reporter(where);

  if (!isPlainObject(doc)) {
    report.error("", `the document must be a YAML map of Talos settings, got ${describeValue(doc)}`);
    return report.problems;
  }
  const subject = withoutPatchDeletes(doc);

  let defName = V1ALPHA1_CONFIG;
  if (!("kind" in subject) && "apiVersion" in subject) {
    // Without kind Talos would read this as the v1alpha1 config, where apiVersion means nothing.
    report.error(
      "kind",
      `kind is missing: a document with apiVersion also needs kind (e.g. kind: HostnameConfig)`,
    );
    return report.problems;
  }
  if ("kind" in subject) {
    const entry = resolveKind(state, talosMinor, subject, report);
    if (!entry) return report.problems;
    defName = entry.defName;
    // Patches skip `required`, but Talos matches a patch document to its target by these keys.
    for (const key of entry.identity) {
      if (subject[key] === undefined) {
        report.error(
          key,
          `${key} is required: Talos finds the ${entry.kind} document a patch applies to by ${entry.identity.join(", ")}`,
        );
      }
    }
  }

  const validate = validatorFor(state, defName);
  if (!validate(subject)) {
    explainErrors(validate.errors ?? [], subject, defName, state, talosMinor, report);
  }
  reportRefusedValues(subject, defName, report);
  return report.problems;
}

// ---------------------------------------------------------------------------------------------------------
// Document kind

function resolveKind(
  state: MinorState,
  minor: TalosMinor,
  doc: Record<string, unknown>,
  report: Reporter,
): KindEntry | undefined {
  const kind = doc.kind;
  if (typeof kind !== "string") {
    report.error("kind", `kind must be a string naming a Talos document kind, got ${describeValue(kind)}`);
    return undefined;
  }
  const entries = state.kinds.get(kind);
  if (!entries) {
    const known = [...state.kinds.keys()].sort();
    const guess = closest(kind, known);
    const elsewhere = supportedTalosMinors().filter((m) => m !== minor && stateFor(m).kinds.has(kind));
    const hint =
      elsewhere.length > 0
        ? ` (it exists in Talos ${elsewhere.join(", ")}).`
        : guess
          ? ` — did you mean ${guess}?`
          : ".";
    report.error(
      "kind",
      `kind ${kind} is not a Talos ${minor} document kind${hint} Known kinds: ${known.join(", ")}`,
    );
    return undefined;
  }
  const apiVersion = doc.apiVersion;
  // Kinds are unique per apiVersion; an unknown apiVersion is left to the schema's own enum check.
  return entries.find((e) => e.apiVersions.includes(apiVersion as string)) ?? entries[0];
}

// ---------------------------------------------------------------------------------------------------------
// Strategic-merge directives

/**
 * Removes Talos's `$patch: delete` directives so the rest of a patch can be checked against the schema.
 * A map entry that is only `{$patch: delete}` deletes that key, so it is dropped; in a list item or a
 * document the directive sits beside the keys that identify what to delete, so only the directive goes.
 * Any other `$patch` value is left in place and reported as an unknown key.
 */
function withoutPatchDeletes(doc: Record<string, unknown>): Record<string, unknown> {
  const strip = (value: unknown, inMap: boolean): unknown => {
    if (Array.isArray(value)) return value.map((item) => strip(item, false));
    if (!isPlainObject(value)) return value;
    const isDelete = value.$patch === "delete";
    if (isDelete && inMap && Object.keys(value).length === 1) return DELETED;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      if (isDelete && key === "$patch") continue;
      const stripped = strip(child, true);
      if (stripped !== DELETED) out[key] = stripped;
    }
    return out;
  };
  return strip(doc, false) as Record<string, unknown>;
}

const DELETED = Symbol("deleted by $patch");
