/**
 * The Talos provider contract the strict mocks hold every Talos registration and invoke to: the structure-only
 * contract scripts/derive-provider-contract.mjs derives from the v0.8.1 schema
 * (tests/fixtures/talos-provider-contract.json), and the checks against it: unknown input names, missing
 * required inputs, wrong types, object inputs with unknown or missing fields, plus the few value checks the
 * provider itself makes at plan time.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- inputs are untyped wire data whatever the program sends */
import YAML from "yaml";
import contractJson from "../fixtures/talos-provider-contract.json";
import { isPlainObject, isUnknownValue } from "./wire";

/** Type shape of one property, as scripts/derive-provider-contract.mjs writes it. */
export type Shape =
  | { type: "string" | "boolean" | "integer" | "number" | "any" | "provider"; secret?: boolean }
  | { type: "array"; items: Shape; secret?: boolean }
  | { type: "map"; values: Shape; secret?: boolean }
  | { type: "object"; ref: string; properties: Record<string, Shape>; required: string[]; secret?: boolean };

/** One resource or function of the contract. */
export interface ContractEntry {
  inputs: Record<string, Shape>;
  requiredInputs: string[];
  secretInputs: string[];
  outputs: Record<string, Shape>;
  requiredOutputs: string[];
  secretOutputs: string[];
}

export interface ProviderContract {
  package: {
    name: string;
    version: string;
    pluginDownloadURL: string;
    source: { repository: string; tag: string; path: string; license: string };
  };
  provider: { inputs: Record<string, Shape> };
  resources: Record<string, ContractEntry>;
  functions: Record<string, ContractEntry>;
}

/** The structure-only Talos provider contract (never the schema in ../shared). */
export const TALOS_CONTRACT = contractJson as unknown as ProviderContract;

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `${typeof v} ${JSON.stringify(v)}`;
}

/** Problems with one value against its shape; unknowns (preview) and absent values pass. */
function checkShape(shape: Shape, value: unknown, path: string, out: string[]): void {
  if (value === undefined || value === null || isUnknownValue(value)) return;
  switch (shape.type) {
    case "any":
      return;
    case "provider":
      if (typeof value !== "string")
        out.push(`${path}: expected a provider reference, got ${describe(value)}`);
      return;
    case "string":
      if (typeof value !== "string") out.push(`${path}: expected a string, got ${describe(value)}`);
      return;
    case "boolean":
      if (typeof value !== "boolean") out.push(`${path}: expected a boolean, got ${describe(value)}`);
      return;
    case "number":
      if (typeof value !== "number") out.push(`${path}: expected a number, got ${describe(value)}`);
      return;
    case "integer":
      if (typeof value !== "number" || !Number.isInteger(value)) {
        out.push(`${path}: expected an integer, got ${describe(value)}`);
      }
      return;
    case "array":
      if (!Array.isArray(value)) {
        out.push(`${path}: expected an array, got ${describe(value)}`);
        return;
      }
      value.forEach((e, i) => checkShape(shape.items, e, `${path}[${i}]`, out));
      return;
    case "map":
      if (!isPlainObject(value)) {
        out.push(`${path}: expected a map, got ${describe(value)}`);
        return;
      }
      for (const [k, e] of Object.entries(value)) checkShape(shape.values, e, `${path}.${k}`, out);
      return;
    case "object": {
      if (!isPlainObject(value)) {
        out.push(`${path}: expected an object (${shape.ref}), got ${describe(value)}`);
        return;
      }
      for (const [k, e] of Object.entries(value)) {
        const field = shape.properties[k];
        if (!field) {
          out.push(
            `${path}.${k}: unknown field of ${shape.ref} (known: ${Object.keys(shape.properties).join(", ")})`,
          );
        } else {
          checkShape(field, e, `${path}.${k}`, out);
        }
      }
      for (const k of shape.required) {
        if (value[k] === undefined || value[k] === null) {
          out.push(`${path}.${k}: missing required field of ${shape.ref}`);
        }
      }
      return;
    }
  }
}

function checkInputs(what: string, entry: ContractEntry, inputs: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(inputs)) {
    const shape = entry.inputs[k];
    if (!shape) {
      out.push(
        `${what}: unknown input "${k}" (the provider takes: ${Object.keys(entry.inputs).sort().join(", ")})`,
      );
    } else {
      checkShape(shape, v, `${what}.${k}`, out);
    }
  }
  for (const k of entry.requiredInputs) {
    if (inputs[k] === undefined || inputs[k] === null) out.push(`${what}: missing required input "${k}"`);
  }
  return out;
}

const APPLY_MODES = ["auto", "reboot", "no_reboot", "staged", "staged_if_needing_reboot"];
const MACHINE_TYPES = ["controlplane", "worker"];
/** A Go `time.ParseDuration` string, which is what the provider's timeouts take. */
const GO_DURATION = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;

function checkYaml(path: string, text: unknown, out: string[]): void {
  if (typeof text !== "string") return;
  for (const doc of YAML.parseAllDocuments(text)) {
    if ("errors" in doc && doc.errors.length > 0) {
      out.push(`${path}: not valid YAML: ${doc.errors[0].message.split("\n")[0]}`);
      return;
    }
  }
}

/** The checks the provider makes on values (validators, plan-time parsing), beyond the schema's types. */
function checkValues(token: string, what: string, inputs: Record<string, any>): string[] {
  const out: string[] = [];
  const patches = inputs.configPatches;
  if (Array.isArray(patches)) patches.forEach((p, i) => checkYaml(`${what}.configPatches[${i}]`, p, out));
  if (isPlainObject(inputs.timeouts)) {
    for (const [k, v] of Object.entries(inputs.timeouts)) {
      if (typeof v === "string" && !GO_DURATION.test(v)) {
        out.push(`${what}.timeouts.${k}: "${v}" is not a Go duration such as "10m"`);
      }
    }
  }
  if (token === "talos:machine/configurationApply:ConfigurationApply") {
    if (typeof inputs.applyMode === "string" && !APPLY_MODES.includes(inputs.applyMode)) {
      out.push(`${what}.applyMode: "${inputs.applyMode}" is not one of ${APPLY_MODES.join(", ")}`);
    }
    if (!("machineConfigurationInput" in inputs) && !("machineConfigurationInputWo" in inputs)) {
      out.push(`${what}: needs machineConfigurationInput (or machineConfigurationInputWo): nothing to apply`);
    }
    checkYaml(`${what}.machineConfigurationInput`, inputs.machineConfigurationInput, out);
  }
  if (token === "talos:machine/getConfiguration:getConfiguration") {
    if (typeof inputs.machineType === "string" && !MACHINE_TYPES.includes(inputs.machineType)) {
      out.push(`${what}.machineType: "${inputs.machineType}" is not one of ${MACHINE_TYPES.join(", ")}`);
    }
  }
  if (token === "talos:imageFactory/schematic:Schematic")
    checkYaml(`${what}.schematic`, inputs.schematic, out);
  return out;
}

/** Does the shape mark a secret at any depth? The SDK lifts nested secrecy to the top-level property. */
export function shapeHasSecret(shape: Shape | undefined): boolean {
  if (!shape) return false;
  if (shape.secret) return true;
  if (shape.type === "array") return shapeHasSecret(shape.items);
  if (shape.type === "map") return shapeHasSecret(shape.values);
  if (shape.type === "object") return Object.values(shape.properties).some(shapeHasSecret);
  return false;
}

/** Every way the inputs of one Talos resource or invoke break the contract (none: an empty list). */
export function contractViolations(
  token: string,
  what: string,
  entry: ContractEntry,
  inputs: Record<string, any>,
): string[] {
  return [...checkInputs(what, entry, inputs), ...checkValues(token, what, inputs)];
}
