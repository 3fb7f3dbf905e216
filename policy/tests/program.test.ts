/**
 * The policy pack against what the real program registers: every resource of `index.ts`, run under the
 * project's strict mocks for the committed stack files, is handed to every rule the way the engine would hand
 * it (inputs, options, the provider with its version). The program as written must pass; a stack that turns on
 * reset-on-destroy must pass only with the opt-in the workflows derive from its stack file.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { describe, expect, it } from "vitest";
import type { RecordedResource } from "../../tests/support/mocks";
import { encodeConfig, runProgram, stackConfigFromFile, type ProgramRun } from "../../tests/support/program";
import { packConfigFromStack } from "../pack-config";
import { policies } from "../rules/policies";
import { violations, type Fabricated } from "./fabricate";

const root = path.resolve(__dirname, "..", "..");

/** The provider the engine would report for a recorded resource. */
function providerOf(run: ProgramRun, r: RecordedResource): Fabricated["provider"] {
  if (!r.custom || r.type.startsWith("pulumi:providers:")) return undefined;
  const pkg = r.type.split(":")[0] ?? "";
  if (r.provider === undefined) {
    const version = r.options?.version;
    return {
      type: `pulumi:providers:${pkg}`,
      name: `default_${(version ?? "").replace(/\./g, "_")}`,
      props: version === undefined ? {} : { version },
    };
  }
  const urn = r.provider.slice(0, r.provider.lastIndexOf("::"));
  const explicit = run.resources.find((p) => p.urn === urn);
  if (explicit === undefined) throw new Error(`${r.type} ${r.name}: provider ${urn} was not registered`);
  return {
    type: explicit.type,
    name: explicit.name,
    props: {
      ...explicit.inputs,
      ...(explicit.options?.version ? { version: explicit.options.version } : {}),
    },
  };
}

function asFabricated(run: ProgramRun, r: RecordedResource, config: Record<string, unknown>): Fabricated {
  const isProvider = r.type.startsWith("pulumi:providers:");
  return {
    type: r.type,
    name: r.name,
    props: isProvider && r.options?.version ? { ...r.inputs, version: r.options.version } : r.inputs,
    opts: {
      protect: r.options?.protect ?? false,
      ignoreChanges: r.options?.ignoreChanges ?? [],
      additionalSecretOutputs: r.options?.additionalSecretOutputs ?? [],
    },
    provider: providerOf(run, r),
    config,
  };
}

/** Every violation of every rule over a program run, as `rule: type name: message`. */
async function allViolations(run: ProgramRun, packConfig: Record<string, Record<string, unknown>> = {}) {
  const found: string[] = [];
  for (const r of run.resources) {
    if (r.read) continue;
    for (const policy of policies as ResourceValidationPolicy[]) {
      for (const message of await violations(policy, asFabricated(run, r, packConfig[policy.name] ?? {}))) {
        found.push(`${policy.name}: ${r.type} ${r.name}: ${message}`);
      }
    }
  }
  return found;
}

const stackFiles = fs.readdirSync(root).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f));

describe.each(stackFiles)("the program for %s", (file) => {
  it("passes every rule, with the pack config derived from the stack file", async () => {
    const run = await runProgram(stackConfigFromFile(file));
    expect(run.error).toBeUndefined();
    expect(run.resources.some((r) => r.type === "talos:machine/secrets:Secrets")).toBe(true);
    const packConfig = packConfigFromStack(fs.readFileSync(path.join(root, file), "utf8"));
    expect(await allViolations(run, packConfig)).toEqual([]);
  });
});

describe("a stack that resets nodes on destroy", () => {
  const stack = YAML.parse(fs.readFileSync(path.join(root, "Pulumi.home.yaml"), "utf8")) as {
    config: Record<string, unknown>;
  };
  const config = { ...stack.config, "homelab:resetOnDestroy": true };

  it("is refused without the stack's opt-in reaching the pack, and allowed with it", async () => {
    const run = await runProgram(encodeConfig(config));
    expect(run.error).toBeUndefined();
    // The config applies never reset (the provider would read it from the old state); the membership step does.
    const applies = run.resources.filter(
      (r) => r.type === "talos:machine/configurationApply:ConfigurationApply",
    );
    expect(applies.length).toBeGreaterThan(0);
    expect(applies.every((a) => a.inputs.onDestroy?.reset === false)).toBe(true);

    const refused = await allViolations(run);
    expect(refused).toEqual([
      expect.stringMatching(
        /^node-lifecycle-reset-requires-opt-in: command:local:Command homelab-lifecycle-membership: RESET is "true"/,
      ),
    ]);

    const packConfig = packConfigFromStack(YAML.stringify({ config }));
    expect(await allViolations(run, packConfig)).toEqual([]);
  });
});

describe("the harness", () => {
  it("hands the rules what the engine would, so a change to the program would be caught", async () => {
    const run = await runProgram(stackConfigFromFile("Pulumi.home.yaml"));
    const secrets = run.resources.find((r) => r.type === "talos:machine/secrets:Secrets")!;
    const release = run.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release")!;
    const [protectedRule, versionRule, providerRule] = [
      "talos-machine-secrets-protected",
      "provider-versions-pinned",
    ]
      .concat("kubernetes-explicit-provider")
      .map((n) => policies.find((p) => p.name === n)!);

    const unprotected = { ...asFabricated(run, secrets, {}), opts: { protect: false } };
    expect(await violations(protectedRule, unprotected)).toHaveLength(1);

    const fabricatedRelease = asFabricated(run, release, {});
    expect(fabricatedRelease.provider?.props?.version).toBe(release.options?.version);
    const onOldPlugin = {
      ...fabricatedRelease,
      provider: {
        ...fabricatedRelease.provider!,
        props: { ...fabricatedRelease.provider!.props, version: "4.0.0" },
      },
    };
    expect(await violations(versionRule, onOldPlugin)).toHaveLength(1);
    const onDefault = {
      ...fabricatedRelease,
      provider: { ...fabricatedRelease.provider!, name: "default_4_34_2" },
    };
    expect(await violations(providerRule, onDefault)).toHaveLength(1);
  });
});
