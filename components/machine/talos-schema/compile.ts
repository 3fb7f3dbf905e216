/**
 * Loading the structure-only Talos schemas (derived by `scripts/derive-talos-schema.mjs`; see the `$comment`
 * in each generated file) and compiling one validator per document definition, lazily and once.
 */
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import schema112Json from "./talos-config-v1.12.generated.json";
import schema113Json from "./talos-config-v1.13.generated.json";
import { isPlainObject } from "./report";
import type { KindEntry, MinorState, SchemaNode, SchemaRoot, TalosMinor } from "./types";

const SOURCES: Record<TalosMinor, SchemaRoot> = {
  "1.12": schema112Json as unknown as SchemaRoot,
  "1.13": schema113Json as unknown as SchemaRoot,
};

/** Keys that identify a document so a patch can find its target; a patch needs them even when partial. */
const IDENTITY_KEYS = ["apiVersion", "kind", "name"];

const states = new Map<TalosMinor, MinorState>();

/** The Talos minors this module can validate against, oldest first. */
export function supportedTalosMinors(): TalosMinor[] {
  return Object.keys(SOURCES).sort() as TalosMinor[];
}

/** The compiled state for one minor, built on first use. */
export function stateFor(minor: TalosMinor): MinorState {
  let state = states.get(minor);
  if (state) return state;
  const source = SOURCES[minor];
  if (!source) {
    throw new Error(
      `Talos ${String(minor)} is not supported; supported: ${supportedTalosMinors().join(", ")}`,
    );
  }
  const schema = withKnownSchemaFixes(source);
  state = { schema, kinds: kindsOf(schema), validators: new Map() };
  states.set(minor, state);
  return state;
}

/**
 * Corrects upstream schema entries that contradict what Talos accepts.
 *
 * `v1alpha1.Endpoint` (`machine.logging.destinations[].endpoint`) is a URL that Talos reads from a string
 * such as `udp://127.0.0.1:12345/`, but the generator emitted an object with no properties, which would
 * reject every valid value. Only the exact broken shape is replaced, so an upstream fix wins.
 */
function withKnownSchemaFixes(source: SchemaRoot): SchemaRoot {
  const endpoint = source.$defs["v1alpha1.Endpoint"];
  const broken =
    endpoint?.type === "object" &&
    endpoint.additionalProperties === false &&
    Object.keys(endpoint.properties ?? {}).length === 0;
  if (!broken) return source;
  return { ...source, $defs: { ...source.$defs, "v1alpha1.Endpoint": { type: "string", format: "uri" } } };
}

/** Reads kind/apiVersion pairs from the schema's `enum`/`const` values, so nothing is hard-coded per minor. */
function kindsOf(schema: SchemaRoot): Map<string, KindEntry[]> {
  const kinds = new Map<string, KindEntry[]>();
  for (const [defName, def] of Object.entries(schema.$defs)) {
    const kindValues = literalValues(def.properties?.kind);
    const apiVersions = literalValues(def.properties?.apiVersion);
    if (kindValues.length === 0) continue;
    const identity = IDENTITY_KEYS.filter((key) => def.required?.includes(key));
    for (const kind of kindValues) {
      const list = kinds.get(kind) ?? [];
      list.push({ kind, apiVersions, defName, identity });
      kinds.set(kind, list);
    }
  }
  return kinds;
}

function literalValues(node: SchemaNode | undefined): string[] {
  if (!node) return [];
  if (typeof node.const === "string") return [node.const];
  return (node.enum ?? []).filter((v): v is string => typeof v === "string");
}

/** The validator for one definition, in its patch form (no `required`: a patch sets only what it changes). */
export function validatorFor(state: MinorState, defName: string): ValidateFunction {
  let validate = state.validators.get(defName);
  if (validate) return validate;
  let ajv = state.ajv;
  if (!ajv) {
    // strictTypes is off because the upstream schema puts `additionalProperties` beside `$ref`-only nodes.
    // verbose keeps each error's parent schema, which the did-you-mean suggestions read.
    // optimize: false skips ajv's pass over the generated code: a stack's few patches are validated once per
    // run, so compiling (a third faster without it: ~210 ms -> ~130 ms for v1alpha1.Config) is what counts.
    ajv = new Ajv2020({
      strict: true,
      strictTypes: false,
      allErrors: true,
      verbose: true,
      code: { optimize: false },
    });
    addFormats(ajv);
    ajv.addSchema(withoutRequired(state.schema));
    state.ajv = ajv;
  }
  // Compiling only the referenced definition keeps a HostnameConfig check from paying for v1alpha1.Config.
  validate = ajv.getSchema(`${state.schema.$id}#/$defs/${defName}`);
  if (!validate) throw new Error(`Talos schema ${state.schema.$id} has no definition ${defName}`);
  state.validators.set(defName, validate);
  return validate;
}

const SCHEMA_MAP_KEYWORDS = new Set(["$defs", "properties", "patternProperties", "dependentSchemas"]);
const SCHEMA_VALUE_KEYWORDS = new Set([
  "additionalProperties",
  "items",
  "contains",
  "not",
  "if",
  "then",
  "else",
  "propertyNames",
  "unevaluatedProperties",
  "unevaluatedItems",
]);
const SCHEMA_LIST_KEYWORDS = new Set(["oneOf", "anyOf", "allOf", "prefixItems"]);

/** The patch variant of a schema: `required` dropped at every schema position (property names untouched). */
function withoutRequired<T>(node: T): T {
  if (!isPlainObject(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "required") continue;
    if (SCHEMA_MAP_KEYWORDS.has(key) && isPlainObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, withoutRequired(sub)]));
    } else if (SCHEMA_VALUE_KEYWORDS.has(key)) {
      out[key] = withoutRequired(value);
    } else if (SCHEMA_LIST_KEYWORDS.has(key) && Array.isArray(value)) {
      out[key] = value.map((sub) => withoutRequired(sub));
    } else {
      out[key] = value;
    }
  }
  return out as T;
}
