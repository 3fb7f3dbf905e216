/** Types shared by the Talos schema validator's parts. */
import type Ajv2020 from "ajv/dist/2020";
import type { ValidateFunction } from "ajv/dist/2020";

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

/** The subset of JSON Schema this module reads when turning ajv errors into sentences. */
export interface SchemaNode {
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

export interface SchemaRoot extends SchemaNode {
  $id: string;
  $defs: Record<string, SchemaNode>;
}

/** The `$def` that describes a document without `kind`: the classic machine/cluster config. */
export const V1ALPHA1_CONFIG = "v1alpha1.Config";

/** A document kind as the schema defines it. */
export interface KindEntry {
  kind: string;
  apiVersions: string[];
  defName: string;
  /** Identity keys the full schema requires (`apiVersion`, `kind`, and `name` for named documents). */
  identity: string[];
}

export interface MinorState {
  schema: SchemaRoot;
  kinds: Map<string, KindEntry[]>;
  /** Compiled on first use, with `required` dropped (patches are partial). */
  ajv?: Ajv2020;
  validators: Map<string, ValidateFunction>;
}
