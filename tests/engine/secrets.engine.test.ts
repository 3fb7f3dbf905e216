/**
 * Engine tier: a patch written with `pulumi config set --secret --path 'nodes[0].patches[0]'` (the real CLI
 * encrypts that one value and hands the program `homelab:nodes` as a secret key). The value must appear neither
 * in the preview or `up` output (the text a CI job posts as a PR comment) nor in plain in the state, and the
 * provider must receive it as a secret; a patch from a plain key stays readable, so reviewers see it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EngineProject, shippedStackFile } from "./harness";

/** Proxy credentials in a node patch: the kind of value that must never be readable outside the stack's secrets. */
const PASSWORD = "engine-tier-proxy-password-5f1c";
const SECRET_PATCH = `machine:\n  env:\n    https_proxy: http://home:${PASSWORD}@127.0.0.200:3128\n`;
const PLAIN_VALUE = "4099";
const PLAIN_PATCH = `machine:\n  sysctls:\n    net.core.somaxconn: "${PLAIN_VALUE}"\n`;
const APPLY = "talos:machine/configurationApply:ConfigurationApply";

/** The JSON paths (resource URNs named) of every string holding `needle`. */
function pathsHolding(v: unknown, needle: string, at = ""): string[] {
  if (typeof v === "string") return v.includes(needle) ? [at] : [];
  if (Array.isArray(v)) return v.flatMap((e, i) => pathsHolding(e, needle, `${at}[${i}]`));
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    const here = typeof o.urn === "string" ? `${at}<${o.urn.slice(o.urn.lastIndexOf("::") + 2)}>` : at;
    return Object.entries(o).flatMap(([k, e]) => pathsHolding(e, needle, `${here}.${k}`));
  }
  return [];
}

let p: EngineProject;
const outputs: string[] = [];

beforeAll(async () => {
  p = await EngineProject.create({ stack: "home", stackFile: shippedStackFile("home") });
  for (const args of [
    ["config", "set", "--secret", "--path", "nodes[0].patches[0]", SECRET_PATCH],
    ["config", "set", "--path", "patches.all[0]", PLAIN_PATCH],
  ]) {
    const r = p.cli(args);
    expect(r.status, r.stderr).toBe(0);
  }
});
afterAll(() => p.dispose());

describe("a patch set with pulumi config set --secret --path", () => {
  it("is encrypted in the stack file by the CLI", () => {
    const file = fs.readFileSync(path.join(p.dir, "project", "Pulumi.home.yaml"), "utf8");
    expect(file.includes(PASSWORD)).toBe(false);
    expect(file).toMatch(/secure: v1:/);
  });

  it("is masked in the preview, while the plain patch is readable there", async () => {
    const preview = await p.preview();
    outputs.push(preview.stdout);
    expect(preview.stdout.includes(PASSWORD)).toBe(false);
    expect(preview.stdout).toContain(`net.core.somaxconn: "${PLAIN_VALUE}"`);
    expect(preview.stdout).toContain("[secret]");
  });

  it("reaches the provider as a secret, and the other patches as text", async () => {
    const up = await p.up();
    outputs.push(up.stdout);
    const creates = p.calls().filter((c) => c.token === APPLY && c.method === "create" && !c.preview);
    const patchesOf = (node: string) =>
      creates.find((c) => c.urn?.endsWith(`::homelab-${node}`))?.inputs as { configPatches: unknown[] };
    const controlPlane = patchesOf("control-plane-1").configPatches;
    expect(controlPlane).toContain("[secret]");
    expect(controlPlane.filter((x) => typeof x === "string" && x.includes(PLAIN_VALUE))).toHaveLength(1);
    // The stack-wide patch comes from a plain setting: readable on every node.
    const worker = patchesOf("worker-1").configPatches;
    expect(worker.filter((x) => typeof x === "string" && x.includes(PLAIN_VALUE))).toHaveLength(1);
  });

  it("a later change shows the plain patch's diff and nothing of the secret; no change, no diff", async () => {
    const same = await p.preview();
    expect(same.steps.filter((st) => st.op !== "same")).toEqual([]);
    const r = p.cli(["config", "set", "--path", "patches.all[0]", PLAIN_PATCH.replace(PLAIN_VALUE, "4100")]);
    expect(r.status, r.stderr).toBe(0);
    const change = await p.preview();
    outputs.push(change.stdout);
    expect(change.stdout).toContain("4100");
    expect(change.stdout.includes(PASSWORD)).toBe(false);
  });

  it("never appears in the up output, and the state holds it only as ciphertext", () => {
    // Booleans and paths only: a failing assertion must not print the state it searched.
    expect(outputs.map((text) => text.includes(PASSWORD))).toEqual([false, false, false]);
    expect(pathsHolding(JSON.parse(p.stateText()), PASSWORD)).toEqual([]);
    const exported = p.cli(["stack", "export"]);
    expect(exported.status, exported.stderr).toBe(0);
    expect(pathsHolding(JSON.parse(exported.stdout), PASSWORD)).toEqual([]);
    const state = JSON.parse(exported.stdout) as {
      deployment: { resources: { type: string; urn: string; inputs?: { configPatches?: unknown[] } }[] };
    };
    const apply = state.deployment.resources.find(
      (r) => r.type === APPLY && r.urn.endsWith("::homelab-control-plane-1"),
    );
    expect(JSON.stringify(apply?.inputs?.configPatches)).toContain("ciphertext");
  });
});
