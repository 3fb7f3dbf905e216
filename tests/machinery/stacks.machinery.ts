/**
 * Every shipped stack, run through the real program under the mocks, then judged by the Talos machinery:
 * what the program registers is what the pure builders produce, and no node refuses its config or loses
 * a value the stack file sets.
 */
import * as fs from "node:fs";
import { describe, expect, inject, it } from "vitest";
import { checkStack } from "../../components/config/load";
import { decodeStackConfig } from "../../components/config/schema";
import { PROJECT_ROOT, runProgram, stackConfigFromFile } from "../support/program";
import { describeNode, registrationsOf, runTalosCheck, type CheckCase } from "./talos-check";

const STACKS = fs
  .readdirSync(PROJECT_ROOT)
  .filter((f) => /^Pulumi\..+\.yaml$/.test(f))
  .sort();

const GET_CONFIGURATION = "talos:machine/getConfiguration:getConfiguration";
const CONFIGURATION_APPLY = "talos:machine/configurationApply:ConfigurationApply";

describe.each(STACKS)("%s", (file) => {
  it("registers what the builders produce, and Talos accepts every node's config as the stack file says", async () => {
    const config = stackConfigFromFile(file);
    const run = await runProgram(config);
    expect(run.error).toBeUndefined();
    const { spec, errors } = checkStack(decodeStackConfig(config));
    expect(errors).toEqual([]);
    const expected: CheckCase = registrationsOf(file, spec!, String(run.outputs.installerImage));

    for (const [role, args] of Object.entries(expected.configs)) {
      const invoke = run.mocks.invokes.find(
        (i) => i.token === GET_CONFIGURATION && i.inputs.machineType === role,
      );
      const { origins: _origins, ...registered } = args;
      expect(invoke?.inputs).toMatchObject(registered);
    }
    const applies = run.byType(CONFIGURATION_APPLY);
    expect(applies).toHaveLength(spec!.nodes.length);
    for (const node of spec!.nodes) {
      const apply = applies.find((a) => a.inputs.node === node.address);
      const want = expected.nodes.find((n) => n.name === node.name)!;
      expect(apply?.inputs.configPatches).toEqual(want.configPatches);
    }

    const report = await runTalosCheck(inject("talosCheck"), [expected]);
    const [result] = report.cases;
    expect(result.nodes.flatMap((n) => describeNode(result, n))).toEqual([]);
    expect(result.nodes.flatMap((n) => n.warnings)).toEqual([]);
  });
});
