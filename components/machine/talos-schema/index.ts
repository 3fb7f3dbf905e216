/**
 * Validation of Talos machine-config documents and strategic-merge patches against the Talos JSON schema.
 *
 * The schemas are structure-only copies of the upstream Talos schemas for 1.12 and 1.13, derived by
 * `scripts/derive-talos-schema.mjs` (see the `$comment` in each generated file). Nothing here reads
 * `../shared` at run time.
 *
 * Two facts shape this module:
 * - The upstream schema leaves out fields that Talos deprecated but still accepts (`machine.network`,
 *   `machine.time`, ...). A plain "unknown key" for those would be wrong, so they become warnings naming
 *   the replacement document kind, except where they would clash with what this project generates.
 * - Patches are partial, so `required` is not enforced for them; everything else (unknown keys, types,
 *   enums, patterns) is.
 */
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { closest } from "../../config/suggest";
import schema112Json from "./talos-config-v1.12.generated.json";
import schema113Json from "./talos-config-v1.13.generated.json";

/** A Talos minor release whose config schema this module knows. */
export type TalosMinor = "1.12" | "1.13";

/** One finding about a document, worded for a homelab operator. */
export interface SchemaProblem {
  /** `error`: Talos would reject the document (or the project would break). `warning`: accepted but deprecated. */
  severity: "error" | "warning";
  /** The caller's name for the document, e.g. `nodes[1].patches[0]`. */
  where: string;
  /** Dotted key path inside the document, e.g. `machine.install.disk`; empty for the document itself. */
  path: string;
  /** The full sentence, starting with `where`, ready to print. */
  message: string;
}

/** Options for {@link validateTalosDocument}. */
export interface ValidateTalosDocumentOptions {
  /** The Talos config contract to check against. */
  talosMinor: TalosMinor;
  /** Names the document in messages, e.g. `nodes[1].patches[0]` or `generated hostname patch for cp-1`. */
  where: string;
  /**
   * The document is a strategic-merge patch (the default): `required` keys are not enforced, and
   * `$patch: delete` directives are understood. Set to `false` for a complete config document.
   */
  partial?: boolean;
}

/** The subset of JSON Schema this module reads when turning ajv errors into sentences. */
interface SchemaNode {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  oneOf?: SchemaNode[];
  anyOf?: SchemaNode[];
  [keyword: string]: unknown;
}

interface SchemaRoot extends SchemaNode {
  $id: string;
  $defs: Record<string, SchemaNode>;
}

const SOURCES: Record<TalosMinor, SchemaRoot> = {
  "1.12": schema112Json as unknown as SchemaRoot,
  "1.13": schema113Json as unknown as SchemaRoot,
};

/** The `$def` that describes a document without `kind`: the classic machine/cluster config. */
const V1ALPHA1_CONFIG = "v1alpha1.Config";

/** Keys that identify a document so a patch can find its target; a patch needs them even when partial. */
const IDENTITY_KEYS = ["apiVersion", "kind", "name"];

/** A document kind as the schema defines it. */
interface KindEntry {
  kind: string;
  apiVersions: string[];
  defName: string;
  /** Identity keys the full schema requires (`apiVersion`, `kind`, and `name` for named documents). */
  identity: string[];
}

interface MinorState {
  schema: SchemaRoot;
  kinds: Map<string, KindEntry[]>;
  ajv: Partial<Record<"full" | "partial", Ajv2020>>;
  validators: Map<string, ValidateFunction>;
}

const states = new Map<TalosMinor, MinorState>();

/** The Talos minors this module can validate against, oldest first. */
export function supportedTalosMinors(): TalosMinor[] {
  return Object.keys(SOURCES).sort() as TalosMinor[];
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
  const partial = opts.partial ?? true;
  const state = stateFor(talosMinor);
  const report = new Reporter(where);

  if (!isPlainObject(doc)) {
    report.error("", `the document must be a YAML map of Talos settings, got ${describeValue(doc)}`);
    return report.problems;
  }
  const subject = partial ? withoutPatchDeletes(doc) : doc;

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
    if (partial) {
      // Partial patches skip `required`, but Talos matches a patch document to its target by these keys.
      for (const key of entry.identity) {
        if (subject[key] === undefined) {
          report.error(
            key,
            `${key} is required: Talos finds the ${entry.kind} document a patch applies to by ${entry.identity.join(", ")}`,
          );
        }
      }
    }
  }

  const validate = validatorFor(state, defName, partial);
  if (!validate(subject)) {
    explainErrors(validate.errors ?? [], subject, defName, state, talosMinor, report);
  }
  return report.problems;
}

// ---------------------------------------------------------------------------------------------------------
// Schema loading and compilation

function stateFor(minor: TalosMinor): MinorState {
  let state = states.get(minor);
  if (state) return state;
  const source = SOURCES[minor];
  if (!source) {
    throw new Error(
      `Talos ${String(minor)} is not supported; supported: ${supportedTalosMinors().join(", ")}`,
    );
  }
  const schema = withKnownSchemaFixes(source);
  state = { schema, kinds: kindsOf(schema), ajv: {}, validators: new Map() };
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

function validatorFor(state: MinorState, defName: string, partial: boolean): ValidateFunction {
  const variant = partial ? "partial" : "full";
  const cacheKey = `${variant}:${defName}`;
  let validate = state.validators.get(cacheKey);
  if (validate) return validate;
  let ajv = state.ajv[variant];
  if (!ajv) {
    // strictTypes is off because the upstream schema puts `additionalProperties` beside `$ref`-only nodes.
    // verbose keeps each error's parent schema, which the did-you-mean suggestions read.
    ajv = new Ajv2020({ strict: true, strictTypes: false, allErrors: true, verbose: true });
    addFormats(ajv);
    ajv.addSchema(partial ? withoutRequired(state.schema) : state.schema);
    state.ajv[variant] = ajv;
  }
  // Compiling only the referenced definition keeps a HostnameConfig check from paying for v1alpha1.Config.
  validate = ajv.getSchema(`${state.schema.$id}#/$defs/${defName}`);
  if (!validate) throw new Error(`Talos schema ${state.schema.$id} has no definition ${defName}`);
  state.validators.set(cacheKey, validate);
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

// ---------------------------------------------------------------------------------------------------------
// Deprecated settings the schema leaves out

/** Replacement kinds are named only if the minor's schema has them. */
type LegacyRule = (ctx: LegacyContext) => void;

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

const LEGACY_RULES: Record<string, LegacyRule> = {
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
const LEGACY_KEYS_BY_PARENT = new Map<string, string[]>();
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

// ---------------------------------------------------------------------------------------------------------
// ajv errors to sentences

function explainErrors(
  errors: ErrorObject[],
  doc: Record<string, unknown>,
  defName: string,
  state: MinorState,
  minor: TalosMinor,
  report: Reporter,
): void {
  // ajv reports every failed oneOf branch next to the oneOf itself; one sentence for the oneOf is enough.
  const alternatives = errors.filter((e) => e.keyword === "oneOf" || e.keyword === "anyOf");
  const isBranchNoise = (e: ErrorObject) =>
    alternatives.some(
      (alt) =>
        alt !== e &&
        e.instancePath.startsWith(alt.instancePath) &&
        e.schemaPath.startsWith(`${alt.schemaPath}/`),
    );

  // Legacy keys only exist in the v1alpha1 config; a `persist` key in a HostnameConfig is just unknown.
  const legacy = defName === V1ALPHA1_CONFIG;

  for (const e of errors) {
    if (isBranchNoise(e)) continue;
    const path = segmentsOf(doc, e.instancePath);
    const value: unknown = e.data;
    const at = formatPath(path);
    const subject = at === "" ? "the document" : at;
    switch (e.keyword) {
      case "additionalProperties": {
        const key = String((e.params as { additionalProperty: string }).additionalProperty);
        const full = [...path, key];
        const rule = legacy ? LEGACY_RULES[patternOf(full)] : undefined;
        if (rule) {
          rule({
            path: full,
            value: isPlainObject(value) ? value[key] : undefined,
            minor,
            kinds: state.kinds,
            report,
          });
        } else if (key === "$patch") {
          report.error(
            full,
            `${formatPath(full)} is a patch directive: Talos only understands $patch: delete, and only in patches`,
          );
        } else {
          const parent = e.parentSchema as SchemaNode | undefined;
          const allowed = [
            ...Object.keys(parent?.properties ?? {}),
            ...((legacy && LEGACY_KEYS_BY_PARENT.get(patternOf(path))) || []),
          ];
          report.unknownKey(full, allowed, legacy && path.length === 0 ? sectionHome(state, key) : undefined);
        }
        break;
      }
      case "required": {
        const key = (e.params as { missingProperty: string }).missingProperty;
        const full = [...path, key];
        report.error(full, `${formatPath(full)} is required`);
        break;
      }
      case "type": {
        const expected = (e.params as { type: string | string[] }).type;
        const types = Array.isArray(expected) ? expected : expected.split(",");
        report.error(
          path,
          `${subject} must be ${types.map(describeType).join(" or ")}, got ${describeValue(value)}${yamlHint(value, types)}`,
        );
        break;
      }
      case "enum":
      case "const": {
        const allowed =
          e.keyword === "enum"
            ? (e.params as { allowedValues: unknown[] }).allowedValues
            : [(e.params as { allowedValue: unknown }).allowedValue];
        const list = allowed.map((v) => JSON.stringify(v)).join(", ");
        const hint = yamlHint(
          value,
          allowed.map((v) => typeof v),
        );
        report.error(
          path,
          allowed.length === 1
            ? `${subject} must be ${list}, got ${describeValue(value)}${hint}`
            : `${subject} must be one of ${list}, got ${describeValue(value)}${hint}`,
        );
        break;
      }
      case "pattern": {
        const pattern = (e.params as { pattern: string }).pattern;
        report.error(path, `${subject} ${describePattern(pattern)}, got ${describeValue(value)}`);
        break;
      }
      case "format": {
        const format = (e.params as { format: string }).format;
        report.error(path, `${subject} must be a valid ${format.toUpperCase()}, got ${describeValue(value)}`);
        break;
      }
      case "oneOf":
      case "anyOf": {
        const branches = ((e.schema as SchemaNode[] | undefined) ?? []).map(describeSchema);
        report.error(path, `${subject} must be ${joinOr(branches)}, got ${describeValue(value)}`);
        break;
      }
      default:
        report.error(path, `${subject} ${e.message ?? `fails the ${e.keyword} check`}`);
    }
  }
}

/**
 * Where a top-level key of a v1alpha1 config probably belongs: a patch that forgot its `machine:` or
 * `cluster:` wrapper is a common slip.
 */
function sectionHome(state: MinorState, key: string): Segment[] | undefined {
  const sections: [string, string][] = [
    ["machine", "v1alpha1.MachineConfig"],
    ["cluster", "v1alpha1.ClusterConfig"],
  ];
  for (const [section, defName] of sections) {
    if (state.schema.$defs[defName]?.properties?.[key]) return [section, key];
  }
  return undefined;
}

function describeType(type: string): string {
  switch (type) {
    case "string":
      return "a string";
    case "boolean":
      return "true or false";
    case "integer":
      return "a whole number";
    case "number":
      return "a number";
    case "array":
      return "a list";
    case "object":
      return "a map";
    case "null":
      return "empty";
    default:
      return type;
  }
}

function describeSchema(node: SchemaNode): string {
  if (node.type === "array" && node.items && typeof node.items.type === "string") {
    return `a list of ${describeType(node.items.type).replace(/^an? /, "")}s`;
  }
  if (typeof node.type === "string") return describeType(node.type);
  if (node.enum) return `one of ${node.enum.map((v) => JSON.stringify(v)).join(", ")}`;
  return "a value of another shape";
}

function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  if (typeof value === "string")
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}

/** Talos's Go-duration pattern, recognised so the message can show examples instead of a regex. */
const DURATION_PATTERN_MARK = "([nuµm]?s|m|h)";

function describePattern(pattern: string): string {
  if (pattern.includes(DURATION_PATTERN_MARK)) return "must be a duration such as 30s, 5m or 1h30m";
  if (pattern === "^https://") return "must start with https://";
  return `must match the pattern ${pattern}`;
}

/** YAML 1.1 tools read bare `off`/`no`/`on`/`yes` as booleans; say so when a boolean shows up for a string. */
function yamlHint(value: unknown, expectedTypes: string[]): string {
  if (typeof value === "boolean" && expectedTypes.includes("string")) {
    return ` (a bare on/off/yes/no becomes a boolean in some YAML parsers; quote it, e.g. "off")`;
  }
  return "";
}

// ---------------------------------------------------------------------------------------------------------
// Paths, suggestions, reporting

type Segment = string | number;

/** JSON pointer to segments, telling list indices from map keys by walking the document. */
function segmentsOf(doc: unknown, pointer: string): Segment[] {
  if (pointer === "") return [];
  const segments: Segment[] = [];
  let node: unknown = doc;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(node)) {
      const index = Number(key);
      segments.push(index);
      node = node[index];
    } else {
      segments.push(key);
      node = isPlainObject(node) ? node[key] : undefined;
    }
  }
  return segments;
}

/** `machine.nodeLabels["node.kubernetes.io/role"]`, `machine.network.interfaces[0].vip`. */
function formatPath(path: Segment[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** The dotted path with list indices erased, as the legacy rules are keyed. */
function patternOf(path: Segment[]): string {
  return path.filter((s): s is string => typeof s === "string").join(".");
}

/** Closest candidate by edit distance, if close enough to be a plausible typo. */
function joinOr(items: string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

class Reporter {
  readonly problems: SchemaProblem[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly where: string) {}

  error(path: Segment[] | string, text: string): void {
    this.add("error", path, text);
  }

  warning(path: Segment[] | string, text: string): void {
    this.add("warning", path, text);
  }

  /** `fallback` is offered when no allowed name is close, e.g. `machine.install` for a top-level `install`. */
  unknownKey(path: Segment[], allowed: string[], fallback?: Segment[]): void {
    const key = String(path[path.length - 1]);
    const suggestion = closest(key, allowed);
    const hint = suggestion
      ? ` — did you mean ${formatPath([...path.slice(0, -1), suggestion])}?`
      : fallback
        ? ` — did you mean ${formatPath(fallback)}?`
        : "";
    this.error(path, `${formatPath(path)} is not a Talos setting${hint}`);
  }

  private add(severity: SchemaProblem["severity"], path: Segment[] | string, text: string): void {
    const dotted = typeof path === "string" ? path : formatPath(path);
    const message = `${this.where}: ${text}`;
    if (this.seen.has(message)) return;
    this.seen.add(message);
    this.problems.push({ severity, where: this.where, path: dotted, message });
  }
}
