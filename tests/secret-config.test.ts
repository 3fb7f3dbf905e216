/**
 * A value set with `pulumi config set --secret --path ...` makes its whole top-level key secret for the program
 * (PULUMI_CONFIG_SECRET_KEYS). The real index.ts under the strict mocks: every patch built from such a key must
 * reach the provider wrapped as a secret, and every patch from a plain key must stay plain (a reviewer reads it
 * in the preview).
 */
import fc from "fast-check";
import * as YAML from "yaml";
import { describe, expect, it } from "vitest";
import { settingOf, secretSettingsOf } from "../components/config/secret-settings";
import { encodeConfig, runProgram, type ProgramRun } from "./support/program";
import { stackNodes } from "./support/spec";

const APPLY = "talos:machine/configurationApply:ConfigurationApply";
/** Proxy credentials: the kind of value a patch carries that must not be readable in state or a PR comment. */
const NODE_SECRET = "http://home:node-proxy-pass@10.0.0.200:3128";
const ALL_VALUE = "4096";
const ROLE_LABEL = "rack-7";

const stack = {
  "homelab:nodes": [
    { ...stackNodes(1, 0)[0], patches: [{ machine: { env: { https_proxy: NODE_SECRET } } }] },
    ...stackNodes(0, 1),
  ],
  "homelab:patches": { all: [{ machine: { sysctls: { "net.core.somaxconn": ALL_VALUE } } }] },
  "homelab:roles": { worker: { labels: { "example.com/rack": ROLE_LABEL } } },
};

/** Each registered patch of a node's apply: its text, and whether it reached the provider as a secret. */
function patchesOf(run: ProgramRun, node: string): { text: string; secret: boolean }[] {
  const apply = run.byType(APPLY).find((r) => r.name === `homelab-${node}`);
  if (!apply) throw new Error(`no config apply for ${node}`);
  return (apply.inputs.configPatches as string[]).map((text, i) => ({
    text,
    secret: apply.secretPaths.includes(`configPatches[${i}]`),
  }));
}

/** Whether a node's apply asks for its `configPatches` output as a secret (the provider returns it in plain). */
function outputSecret(run: ProgramRun, node: string): boolean {
  const apply = run.byType(APPLY).find((r) => r.name === `homelab-${node}`);
  return apply?.options?.additionalSecretOutputs?.includes("configPatches") ?? false;
}

/** Whether the patch holding `marker` was a secret (throws if no patch holds it). */
function secretHolding(run: ProgramRun, node: string, marker: string): boolean {
  const hits = patchesOf(run, node).filter((p) => p.text.includes(marker));
  expect(hits, `a patch of ${node} holding ${marker}`).toHaveLength(1);
  return hits[0].secret;
}

async function run(secretKeys: string[]): Promise<ProgramRun> {
  const r = await runProgram(encodeConfig(stack), { secretKeys });
  expect(r.error).toBeUndefined();
  expect(r.mocks.problems).toEqual([]);
  return r;
}

describe("patches from settings held secret", () => {
  it("a node's own patch (homelab:nodes secret) reaches the apply as a secret; stack-wide ones stay plain", async () => {
    const r = await run(["homelab:nodes"]);
    expect(secretHolding(r, "cp-1", NODE_SECRET)).toBe(true);
    // The hostname comes from `nodes` too: the rule is per setting, not per value.
    expect(secretHolding(r, "cp-1", "HostnameConfig")).toBe(true);
    expect(secretHolding(r, "cp-1", ALL_VALUE)).toBe(false);
    expect(secretHolding(r, "worker-1", ALL_VALUE)).toBe(false);
    expect(secretHolding(r, "worker-1", ROLE_LABEL)).toBe(false);
    expect(outputSecret(r, "cp-1")).toBe(true);
  });

  it("a stack-wide patch (homelab:patches secret) is a secret on every node; the nodes' own stay plain", async () => {
    const r = await run(["homelab:patches"]);
    expect(secretHolding(r, "cp-1", ALL_VALUE)).toBe(true);
    expect(secretHolding(r, "worker-1", ALL_VALUE)).toBe(true);
    expect(secretHolding(r, "cp-1", NODE_SECRET)).toBe(false);
    expect(secretHolding(r, "cp-1", "HostnameConfig")).toBe(false);
  });

  it("a role default (homelab:roles secret) makes the generated document carrying it a secret", async () => {
    const r = await run(["homelab:roles"]);
    expect(secretHolding(r, "worker-1", ROLE_LABEL)).toBe(true);
    expect(secretHolding(r, "worker-1", ALL_VALUE)).toBe(false);
    expect(secretHolding(r, "cp-1", NODE_SECRET)).toBe(false);
  });

  it("nothing held secret: every patch is plain, so the preview shows each change", async () => {
    const r = await run([]);
    for (const node of ["cp-1", "worker-1"]) {
      expect(patchesOf(r, node).filter((p) => p.secret)).toEqual([]);
      expect(outputSecret(r, node)).toBe(false);
    }
    expect(YAML.parse(patchesOf(r, "cp-1").find((p) => p.text.includes("https_proxy"))!.text)).toEqual({
      machine: { env: { https_proxy: NODE_SECRET } },
    });
  });

  it("the rendered configs are secret whatever is held secret (they carry the machine secrets)", async () => {
    const r = await run([]);
    for (const apply of r.byType(APPLY)) expect(apply.secretPaths).toContain("machineConfigurationInput");
  });
});

describe("which setting a stack-file path belongs to", () => {
  const key = fc.stringMatching(/^[a-z][A-Za-z0-9]{0,20}$/);
  it("is the leading key of a path, whatever follows it", () => {
    fc.assert(
      fc.property(key, fc.constantFrom("", ".labels.zone", "[3].patches[0]", "[0]", ".all[2]"), (k, rest) => {
        expect(settingOf(`${k}${rest}`)).toBe(k);
      }),
    );
  });
  it("is none for a program default's description", () => {
    expect(settingOf("the default install disk /dev/sda")).toBeUndefined();
    expect(settingOf("network (the pod and service subnets)")).toBeUndefined();
  });
  it("the secret settings are the homelab keys the runtime holds secret, nothing else", () => {
    const all = { "homelab:nodes": "[]", "homelab:vip": "{}", "other:nodes": "[]", "homelab:cni": "cilium" };
    const secret = new Set(["homelab:nodes", "other:nodes", "homelab:cni"]);
    expect(secretSettingsOf(all, (k) => secret.has(k))).toEqual(["cni", "nodes"]);
  });
});
