/**
 * Generated clusters judged twice, by the program's own checks (checkStack: the stack schema, the Talos
 * schema of every patch, the whole-config checks) and by the Talos machinery (tools/talos-check over the
 * registrations the program would make). The two must agree on every case: a stack the program accepts
 * must be accepted by every node with every stack-file value intact, and a stack it refuses must be one
 * Talos refuses or that loses a value. The structure-only schema check must agree with the machinery on
 * every single patch document too.
 */
import fc from "fast-check";
import { describe, expect, inject, it } from "vitest";
import { checkStack } from "../../components/config/load";
import { parseClusterConfig } from "../../components/config/schema";
import type { ClusterSpec } from "../../components/config/spec";
import { machineConfigProblems } from "../../components/machine/checks";
import { installerImage } from "../../components/machine/image";
import { validateTalosDocument } from "../../components/machine/talos-schema";
import { stackArb } from "./arbitraries";
import {
  describeNode,
  registrationsOf,
  runTalosCheck,
  type CheckCase,
  type CheckReport,
} from "./talos-check";

/** Cases per run; the seed keeps the set fixed, so a failure reproduces. */
const RUNS = Number(process.env.MACHINERY_RUNS ?? 300);
const SEED = Number(process.env.MACHINERY_SEED ?? 20260713);
/** A schematic id as the Image Factory would return one (the check never pulls the image). */
const SCHEMATIC = "a".repeat(64);

function structuralSpec(stack: Record<string, unknown>): ClusterSpec {
  const { spec, errors } = parseClusterConfig(stack);
  if (!spec) throw new Error(`generated stack is not structurally valid: ${errors.join("; ")}`);
  return spec;
}

const imageOf = (spec: ClusterSpec) =>
  installerImage(spec.talosVersion, spec.extensions.length > 0 ? SCHEMATIC : undefined);

/** The machinery's objections to a case, one line each. */
const objections = (report: CheckReport, i: number) =>
  report.cases[i].nodes.flatMap((n) => describeNode(report.cases[i], n));
/** Talos's warnings for a case, without duplicates. */
const talosWarnings = (report: CheckReport, i: number) => [
  ...new Set(report.cases[i].nodes.flatMap((n) => n.warnings.map((w) => w.message))),
];

describe(`${RUNS} generated clusters`, () => {
  const stacks = fc.sample(stackArb, { seed: SEED, numRuns: RUNS });
  const verdicts = stacks.map((stack) => checkStack(stack));
  const cases: CheckCase[] = stacks.map((stack, i) => {
    const spec = structuralSpec(stack);
    return registrationsOf(`case ${i}`, spec, imageOf(spec));
  });

  it("the program's checks and the Talos machinery give the same verdict on every case", async () => {
    const started = performance.now();
    const report = await runTalosCheck(inject("talosCheck"), cases);
    const seconds = (performance.now() - started) / 1000;
    const disagreements: string[] = [];
    let refused = 0;
    stacks.forEach((stack, i) => {
      const talos = objections(report, i);
      const program = verdicts[i].errors;
      if (talos.length > 0) refused++;
      if ((talos.length === 0) !== (program.length === 0)) {
        disagreements.push(
          [
            `case ${i}: ${JSON.stringify(stack)}`,
            ...program.map((e) => `  program: ${e}`),
            ...talos.map((t) => `  talos: ${t}`),
          ].join("\n"),
        );
      }
      const warned = talosWarnings(report, i);
      const predicted = verdicts[i].warnings.filter((w) => w.includes("Talos warns"));
      if (program.length === 0 && warned.length > 0 !== predicted.length > 0) {
        disagreements.push(
          `case ${i}: Talos warns ${JSON.stringify(warned)}, the program ${JSON.stringify(predicted)}`,
        );
      }
    });
    console.info(
      `machinery: ${cases.length} clusters, ${cases.reduce((n, c) => n + c.nodes.length, 0)} nodes, ${refused} refused or losing a value, checked in ${seconds.toFixed(1)} s`,
    );
    expect(disagreements).toEqual([]);
    // The generator must reach both verdicts, or the agreement says little.
    expect(refused).toBeGreaterThan(RUNS / 10);
    expect(RUNS - refused).toBeGreaterThan(RUNS / 10);
  });

  it("the structure-only schema check agrees with the machinery on every patch document", async () => {
    // Each distinct document, alone as a node patch of a one-machine cluster, for both Talos minors.
    const seen = new Map<string, { stack: Record<string, unknown>; doc: Record<string, unknown> }>();
    for (const stack of stacks) {
      const p = stack.patches as Record<string, unknown[] | undefined>;
      const nodes = stack.nodes as { patches?: unknown[] }[];
      const docs = [
        ...(p.all ?? []),
        ...(p.controlplane ?? []),
        ...(p.worker ?? []),
        ...nodes.flatMap((n) => n.patches ?? []),
      ];
      for (const version of ["v1.13.9", "v1.12.6"]) {
        for (const doc of docs as Record<string, unknown>[]) {
          const single = {
            talosVersion: version,
            kubernetesVersion: version === "v1.13.9" ? "1.36.0" : "1.35.0",
            nodes: [{ name: "cp-1", address: "192.168.1.10", role: "controlplane", patches: [doc] }],
          };
          seen.set(JSON.stringify(single), { stack: single, doc });
        }
      }
    }
    const singles = [...seen.values()];
    const report = await runTalosCheck(
      inject("talosCheck"),
      singles.map(({ stack }, i) =>
        registrationsOf(`doc ${i}`, structuralSpec(stack), imageOf(structuralSpec(stack))),
      ),
    );
    const disagreements: string[] = [];
    singles.forEach(({ stack, doc }, i) => {
      const minor = (stack.talosVersion as string).startsWith("v1.12") ? "1.12" : "1.13";
      const schema = validateTalosDocument(doc, { talosMinor: minor, where: "nodes[0].patches[0]" }).filter(
        (p) => p.severity === "error",
      );
      const talos = objections(report, i);
      // Refusals that need the whole config are the whole-config checks' to predict, not the schema's.
      const wholeConfig = talos.length > 0 && machineConfigProblems(structuralSpec(stack)).length > 0;
      if ((schema.length === 0) !== (talos.length === 0) && !(schema.length === 0 && wholeConfig)) {
        disagreements.push(
          [
            `${minor} ${JSON.stringify(doc)}`,
            ...schema.map((p) => `  schema: ${p.message}`),
            ...talos.map((t) => `  talos: ${t}`),
          ].join("\n"),
        );
      }
    });
    console.info(`machinery: ${singles.length} single-document cases`);
    expect(disagreements).toEqual([]);
  });
});
