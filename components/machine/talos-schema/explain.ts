/** ajv's errors turned into sentences a homelab operator can act on. */
import type { ErrorObject } from "ajv/dist/2020";
import { LEGACY_KEYS_BY_PARENT, LEGACY_RULES } from "./legacy";
import {
  describeValue,
  formatPath,
  isPlainObject,
  joinOr,
  patternOf,
  segmentsOf,
  type Reporter,
  type Segment,
} from "./report";
import { V1ALPHA1_CONFIG, type MinorState, type SchemaNode, type TalosMinor } from "./types";

export function explainErrors(
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
