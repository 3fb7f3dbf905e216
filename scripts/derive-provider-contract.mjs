#!/usr/bin/env node
// Dev-only: derives the structure-only contract of the pulumiverse Talos provider that the tests check the
// generated SDK (sdks/talos, provider-contract.test.ts) and the strict mocks against.
//
// The upstream Pulumi schema is mostly prose (descriptions in six languages' spellings); the tests only need
// which tokens exist, which properties each takes and returns, their type shapes, which are required and which
// are secret. Object types are resolved inline so a reader of the contract never has to chase `$ref`s.
// The program and the tests read the generated contract; only this script reads ../shared.
//
// Usage (from the project root):
//   node scripts/derive-provider-contract.mjs            regenerate tests/fixtures/talos-provider-contract.json
//   node scripts/derive-provider-contract.mjs --check    exit 1 if the committed contract is stale
//   node scripts/derive-provider-contract.mjs --source <dir>   read the upstream schema from <dir>

import console from "node:console";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outFile = join(projectRoot, "tests", "fixtures", "talos-provider-contract.json");

/** The provider release the bindings pin; the schema file in ../shared/talos was taken from its tag. */
const PROVIDER_VERSION = "0.8.1";
const SCHEMA_FILE = `pulumiverse-talos-provider-v${PROVIDER_VERSION}.schema.json`;
const EXPECTED_DOWNLOAD_URL = "github://api.github.com/pulumiverse";

function parseArgs(argv) {
  const args = { check: false, source: resolve(projectRoot, "..", "shared", "talos") };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--check") args.check = true;
    else if (argv[i] === "--source") args.source = resolve(argv[++i] ?? "");
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return args;
}

/** `#/types/x`, and the `#types/x` spelling the generated MachineSecrets types use upstream. */
function refName(ref) {
  const m = /^#\/?types\/(.+)$/.exec(ref);
  if (!m) throw new Error(`unsupported $ref ${ref}`);
  return m[1];
}

/**
 * The type shape of one property: `{type: string|boolean|integer|number|any|provider}`,
 * `{type: array, items}`, `{type: map, values}` or `{type: object, ref, properties, required}`; `secret: true`
 * when the schema marks the property secret. Throws on anything it does not understand, so a schema change
 * surfaces here rather than as a silently weaker contract.
 */
function shapeOf(schema, prop, seen) {
  let shape;
  if (prop.$ref !== undefined && prop.type !== "ref") {
    if (prop.$ref === "pulumi.json#/Any") {
      shape = { type: "any" };
    } else {
      const name = refName(prop.$ref);
      const type = schema.types[name];
      if (!type) throw new Error(`dangling $ref ${prop.$ref}`);
      if (type.type !== "object")
        throw new Error(`type ${name} is ${type.type}, only object types are supported`);
      if (seen.includes(name)) throw new Error(`recursive type ${name}`);
      shape = objectShape(schema, name, type, [...seen, name]);
    }
  } else if (prop.type === "ref" && prop.$ref === "#/provider") {
    shape = { type: "provider" };
  } else if (prop.type === "array") {
    shape = { type: "array", items: shapeOf(schema, prop.items, seen) };
  } else if (prop.type === "object") {
    shape = prop.additionalProperties
      ? { type: "map", values: shapeOf(schema, prop.additionalProperties, seen) }
      : { type: "map", values: { type: "any" } };
  } else if (["string", "boolean", "integer", "number"].includes(prop.type)) {
    shape = { type: prop.type };
  } else {
    throw new Error(`unsupported property ${JSON.stringify(prop).slice(0, 200)}`);
  }
  if (prop.secret === true) shape.secret = true;
  return shape;
}

function objectShape(schema, name, type, seen) {
  const properties = {};
  for (const [key, prop] of Object.entries(type.properties ?? {}))
    properties[key] = shapeOf(schema, prop, seen);
  return { type: "object", ref: name, properties, required: [...(type.required ?? [])].sort() };
}

function propertiesOf(schema, props) {
  const out = {};
  for (const [key, prop] of Object.entries(props ?? {})) out[key] = shapeOf(schema, prop, []);
  return out;
}

function secretNames(props) {
  return Object.keys(props)
    .filter((k) => props[k].secret === true)
    .sort();
}

function deriveResource(schema, res) {
  const inputs = propertiesOf(schema, res.inputProperties);
  const outputs = propertiesOf(schema, res.properties);
  return {
    inputs,
    requiredInputs: [...(res.requiredInputs ?? [])].sort(),
    secretInputs: secretNames(inputs),
    outputs,
    requiredOutputs: [...(res.required ?? [])].sort(),
    secretOutputs: secretNames(outputs),
  };
}

function deriveFunction(schema, fn) {
  const inputs = propertiesOf(schema, fn.inputs?.properties);
  const outputs = propertiesOf(schema, fn.outputs?.properties);
  return {
    inputs,
    requiredInputs: [...(fn.inputs?.required ?? [])].sort(),
    secretInputs: secretNames(inputs),
    outputs,
    requiredOutputs: [...(fn.outputs?.required ?? [])].sort(),
    secretOutputs: secretNames(outputs),
  };
}

/** Recursively sorts object keys so the output does not depend on the upstream file's key order. */
function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    const out = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]);
    return out;
  }
  return value;
}

function derive(schema) {
  if (schema.name !== "talos") throw new Error(`expected the talos schema, got ${schema.name}`);
  if (schema.pluginDownloadURL !== EXPECTED_DOWNLOAD_URL) {
    throw new Error(`schema pluginDownloadURL ${schema.pluginDownloadURL} != ${EXPECTED_DOWNLOAD_URL}`);
  }
  const resources = {};
  for (const [token, res] of Object.entries(schema.resources)) resources[token] = deriveResource(schema, res);
  const functions = {};
  for (const [token, fn] of Object.entries(schema.functions)) functions[token] = deriveFunction(schema, fn);
  return {
    $comment:
      "Structure-only contract of the pulumiverse Talos provider, derived by scripts/derive-provider-contract.mjs " +
      `from pulumiverse/pulumi-talos tag v${PROVIDER_VERSION}, provider/cmd/pulumi-resource-talos/schema.json ` +
      "(MPL-2.0). Only token, property and type names, type shapes, required and secret flags are kept; no " +
      "descriptions. Do not edit by hand: regenerate.",
    package: {
      name: schema.name,
      version: PROVIDER_VERSION,
      pluginDownloadURL: schema.pluginDownloadURL,
      source: {
        repository: "pulumiverse/pulumi-talos",
        tag: `v${PROVIDER_VERSION}`,
        path: "provider/cmd/pulumi-resource-talos/schema.json",
        license: "MPL-2.0",
      },
    },
    provider: { inputs: propertiesOf(schema, schema.provider?.inputProperties) },
    resources: sortKeys(resources),
    functions: sortKeys(functions),
  };
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const schemaPath = join(args.source, SCHEMA_FILE);
  const schema = JSON.parse(readFileSync(schemaPath, "utf8"));
  const text = JSON.stringify(derive(schema), null, 2) + "\n";
  const shown = relative(projectRoot, outFile);
  if (args.check) {
    let current = "";
    try {
      current = readFileSync(outFile, "utf8");
    } catch {
      // missing counts as stale
    }
    if (current !== text) {
      console.error(`${shown} is stale: run node scripts/derive-provider-contract.mjs`);
      process.exit(1);
    }
    console.log(`${shown} is up to date`);
    return;
  }
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, text);
  console.log(`wrote ${shown} from ${schemaPath}`);
}

main();
