/**
 * Secret marking from a Pulumi package schema, the way the terraform bridge does it: every value whose
 * property spec says `secret: true` (a Terraform `Sensitive` attribute) is wrapped as a secret, at whatever depth
 * it sits (pulumi-terraform-bridge `pkg/tfbridge` MarkSchemaSecrets, used by the plugin-framework Check in
 * `pkg/pf/tfbridge/provider_check.go` and for outputs). Unknowns stay unknown.
 */
import { isObject, isSecret, isUnknown, reveal, secret, type Wire, type WireMap } from "./wire";

export interface PropertySpec {
  type?: string;
  $ref?: string;
  items?: PropertySpec;
  additionalProperties?: PropertySpec;
  secret?: boolean;
}

export interface ObjectSpec {
  properties?: Record<string, PropertySpec>;
}

export interface PackageSchema {
  types: Record<string, ObjectSpec>;
  resources: Record<
    string,
    { properties: Record<string, PropertySpec>; inputProperties?: Record<string, PropertySpec> }
  >;
  functions: Record<
    string,
    {
      inputs?: { properties?: Record<string, PropertySpec> };
      outputs?: { properties?: Record<string, PropertySpec> };
    }
  >;
}

/** The object type a `$ref` names; both spellings occur in bridged schemas (`#/types/x` and `#types/x`). */
function refType(schema: PackageSchema, ref: string | undefined): ObjectSpec | undefined {
  const m = ref ? /^#\/?types\/(.+)$/.exec(ref) : null;
  return m ? schema.types[decodeURIComponent(m[1])] : undefined;
}

function markValue(schema: PackageSchema, v: Wire, spec: PropertySpec | undefined): Wire {
  if (spec === undefined || isUnknown(v)) return v;
  const plain = isSecret(v) ? (reveal(v) as Wire) : v;
  let marked: Wire = plain;
  if (Array.isArray(plain) && spec.items) {
    marked = plain.map((e) => markValue(schema, e, spec.items));
  } else if (isObject(plain)) {
    const t = refType(schema, spec.$ref);
    if (t?.properties) marked = markMap(schema, plain, t.properties);
    else if (spec.additionalProperties) {
      marked = Object.fromEntries(
        Object.entries(plain).map(([k, e]) => [k, markValue(schema, e, spec.additionalProperties)]),
      );
    }
  }
  // A value that already was a secret stays one, as in the engine: marking only ever adds secrecy.
  return spec.secret || isSecret(v) ? secret(marked) : marked;
}

/** `props` with every schema-secret value (at any depth) wrapped as a secret. */
export function markMap(schema: PackageSchema, props: WireMap, specs: Record<string, PropertySpec>): WireMap {
  const out: WireMap = {};
  for (const [k, v] of Object.entries(props)) out[k] = markValue(schema, v, specs[k]);
  return out;
}

/** Marks a resource's outputs (its `properties`). */
export function markResourceOutputs(schema: PackageSchema, token: string, outs: WireMap): WireMap {
  const r = schema.resources[token];
  return r ? markMap(schema, outs, r.properties) : outs;
}

/** Marks a resource's checked inputs (its `inputProperties`). */
export function markResourceInputs(schema: PackageSchema, token: string, ins: WireMap): WireMap {
  const r = schema.resources[token];
  return r ? markMap(schema, ins, r.inputProperties ?? {}) : ins;
}

/** Marks a function's result (its `outputs.properties`). */
export function markFunctionOutputs(schema: PackageSchema, token: string, outs: WireMap): WireMap {
  const f = schema.functions[token];
  return f?.outputs?.properties ? markMap(schema, outs, f.outputs.properties) : outs;
}
