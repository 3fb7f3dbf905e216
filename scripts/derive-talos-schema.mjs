#!/usr/bin/env node
// Dev-only: derives the structure-only Talos machine-config schemas that the program ships.
//
// The upstream schemas carry three copies of every description (plain, markdown, IntelliJ HTML),
// which triples their size and adds nothing to validation, so only the structure is kept.
// The program and the tests read the generated copies; only this script reads ../shared.
//
// Usage (from the project root):
//   node scripts/derive-talos-schema.mjs            regenerate the files
//   node scripts/derive-talos-schema.mjs --check    exit 1 if a committed file is stale
//   node scripts/derive-talos-schema.mjs --source <dir>   read the upstream schemas from <dir>

import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = join(projectRoot, "components", "machine", "talos-schema");

/** The upstream files, pinned to the Talos tags their copies in ../shared/talos were taken from. */
const SOURCES = [
  { minor: "1.13", tag: "v1.13.9" },
  { minor: "1.12", tag: "v1.12.11" },
];

/** Annotation keywords: documentation only, no effect on what validates. */
const DROPPED = new Set([
  "description",
  "markdownDescription",
  "x-intellij-html-description",
  "examples",
  "title",
]);

/** Keywords whose value maps names to sub-schemas (the names are data, not keywords). */
const SCHEMA_MAPS = new Set(["$defs", "definitions", "properties", "patternProperties", "dependentSchemas"]);
/** Keywords whose value is one sub-schema. */
const SCHEMA_VALUES = new Set([
  "additionalProperties",
  "items",
  "additionalItems",
  "contains",
  "not",
  "if",
  "then",
  "else",
  "propertyNames",
  "unevaluatedProperties",
  "unevaluatedItems",
]);
/** Keywords whose value is a list of sub-schemas. */
const SCHEMA_LISTS = new Set(["oneOf", "anyOf", "allOf", "prefixItems"]);

/** Header keywords first so a reader sees where the file came from; everything else sorted. */
const HEADER_ORDER = ["$schema", "$id", "$comment"];

function compareKeys(a, b) {
  const ia = HEADER_ORDER.indexOf(a);
  const ib = HEADER_ORDER.indexOf(b);
  if (ia !== -1 || ib !== -1) return (ia === -1 ? Infinity : ia) - (ib === -1 ? Infinity : ib);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Copies a JSON value with object keys sorted, so output does not depend on upstream key order. */
function sortedCopy(value) {
  if (Array.isArray(value)) return value.map(sortedCopy);
  if (value === null || typeof value !== "object") return value;
  const out = {};
  for (const key of Object.keys(value).sort(compareKeys)) out[key] = sortedCopy(value[key]);
  return out;
}

/** Strips annotations from a schema, walking only schema positions so a property named "title" survives. */
function stripSchema(schema, where) {
  if (typeof schema === "boolean") return schema;
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) {
    throw new Error(`${where}: expected a schema object, got ${JSON.stringify(schema)}`);
  }
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DROPPED.has(key)) continue;
    if (SCHEMA_MAPS.has(key)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, stripSchema(sub, `${where}/${key}/${name}`)]),
      );
    } else if (SCHEMA_VALUES.has(key)) {
      out[key] = stripSchema(value, `${where}/${key}`);
    } else if (SCHEMA_LISTS.has(key)) {
      out[key] = value.map((sub, i) => stripSchema(sub, `${where}/${key}/${i}`));
    } else {
      // type, enum, const, required, pattern, format, $ref, min/max...: kept verbatim.
      out[key] = value;
    }
  }
  return out;
}

function derive(sourceDir, { minor, tag }) {
  const sourcePath = join(sourceDir, `talos-config-v${minor}.schema.json`);
  const upstream = JSON.parse(readFileSync(sourcePath, "utf8"));
  const expectedId = `https://talos.dev/v${minor}/schemas/config.schema.json`;
  if (upstream.$id !== expectedId) {
    throw new Error(`${sourcePath}: $id is ${upstream.$id}, expected ${expectedId}`);
  }
  const stripped = stripSchema(upstream, "#");
  stripped.$comment =
    `Derived from siderolabs/talos tag ${tag} website/content/v${minor}/schemas/config.schema.json ` +
    `(MPL-2.0, Sidero Labs). Structure only: descriptions, titles and examples removed by ` +
    `scripts/derive-talos-schema.mjs. Do not edit; regenerate.`;
  return JSON.stringify(sortedCopy(stripped), null, 2) + "\n";
}

function main(argv) {
  const check = argv.includes("--check");
  const sourceIndex = argv.indexOf("--source");
  const sourceDir =
    sourceIndex === -1 ? resolve(projectRoot, "..", "shared", "talos") : resolve(argv[sourceIndex + 1]);
  mkdirSync(outDir, { recursive: true });
  let stale = 0;
  for (const source of SOURCES) {
    const outPath = join(outDir, `talos-config-v${source.minor}.generated.json`);
    const text = derive(sourceDir, source);
    const shown = relative(projectRoot, outPath);
    if (check) {
      let current = "";
      try {
        current = readFileSync(outPath, "utf8");
      } catch {
        // A missing file is reported as stale below.
      }
      if (current !== text) {
        stale++;
        process.stderr.write(`stale: ${shown} (run node scripts/derive-talos-schema.mjs)\n`);
      }
    } else {
      writeFileSync(outPath, text);
      process.stdout.write(`wrote ${shown} (${text.length} bytes)\n`);
    }
  }
  if (stale > 0) process.exit(1);
}

main(process.argv.slice(2));
