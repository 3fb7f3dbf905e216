/**
 * Engine tier: every shipped stack file, as the real Pulumi CLI reads it, previews; `up` then `up` again
 * changes nothing; the protected machine secrets stop `destroy`; no key reaches the state file in clear.
 * The first cases are the ones the fake engine could not see: the CLI validates each stack file against
 * Pulumi.yaml's `config:` block before the program runs (pulumi/pulumi pkg/workspace/config.go mergeConfig).
 */
import { afterEach, describe, expect, it } from "vitest";
import { EngineProject, shippedStackFile, type Step } from "./harness";

const projects: EngineProject[] = [];
afterEach(() => {
  for (const p of projects.splice(0)) p.dispose();
});

async function project(stack: string, stackFile = shippedStackFile(stack)): Promise<EngineProject> {
  const p = await EngineProject.create({ stack, stackFile });
  projects.push(p);
  return p;
}

const changed = (steps: Step[]) => steps.filter((s) => s.op !== "same");

describe("every shipped stack under the real engine", () => {
  for (const stack of ["home", "example-ha", "example-single"]) {
    it(`previews ${stack}: the CLI accepts the stack file and plans only creates`, async () => {
      const preview = await (await project(stack)).preview();
      expect([...new Set(preview.steps.map((s) => s.op))]).toEqual(["create"]);
      expect(preview.steps.map((s) => s.type)).toEqual(
        expect.arrayContaining([
          "talos:machine/secrets:Secrets",
          "talos:machine/configurationApply:ConfigurationApply",
          "talos:machine/bootstrap:Bootstrap",
          "pulumi:providers:kubernetes",
        ]),
      );
    });
  }
});

describe("the home stack, provisioned", () => {
  it("converges: up, then up again with no change to the stack file, changes nothing", async () => {
    const p = await project("home");
    const first = await p.up();
    expect(changed(first.steps).filter((s) => s.op !== "create")).toEqual([]);
    expect(first.steps.filter((s) => s.type === "talos:machine/bootstrap:Bootstrap")).toHaveLength(1);
    expect(changed((await p.up()).steps)).toEqual([]);
  });

  it("provisions 3 control planes and 2 workers from maintenance mode: every apply, one bootstrap, no OS upgrade, no reboot", async () => {
    const p = await project("example-ha");
    const up = await p.up();
    const creates = (type: string) => up.steps.filter((s) => s.op === "create" && s.type === type);
    expect(creates("talos:machine/configurationApply:ConfigurationApply")).toHaveLength(5);
    expect(creates("talos:machine/bootstrap:Bootstrap")).toHaveLength(1);
    const calls = p.talosctlCalls();
    // Every rollout step found its node in maintenance mode and left it to its apply: no admin call was made
    // (the calls tests/fake-talosctl answered; the lifecycle stand-in answers only reader calls here).
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.filter((c) => / (upgrade|upgrade-k8s|etcd snapshot|reboot) /.test(`${c} `))).toEqual([]);
    // Every apply resolved to "auto" (a node in maintenance mode needs no reboot), so no reboot command rebooted.
    expect(
      up.steps.filter((s) => s.op === "create" && s.name.startsWith("homelab-reboots-reboot-")),
    ).toHaveLength(5);
  });

  it("keeps every key out of the state file in clear, and the outputs secret", async () => {
    const p = await project("home");
    await p.up();
    const state = p.stateText();
    const outputs = await p.stack.outputs();
    expect(outputs.kubeconfig.secret).toBe(true);
    expect(outputs.talosconfig.secret).toBe(true);
    for (const name of ["kubeconfig", "talosconfig"]) {
      const value = String(outputs[name].value);
      expect(value.length).toBeGreaterThan(100);
      expect(state.includes(value), `${name} in clear in the state`).toBe(false);
    }
    // PEM armour, raw or base64-encoded as Talos stores certificates and keys: none may be readable.
    for (const marker of ["-----BEGIN", "LS0tLS1CRUdJTi", "PRIVATE KEY"]) {
      expect(state.includes(marker), `${marker} in the state`).toBe(false);
    }
  });

  it("refuses to destroy the protected machine secrets", async () => {
    const p = await project("home");
    await p.up();
    await expect(p.destroy()).rejects.toThrow(/protected/);
    expect(p.stateText()).toContain("talos:machine/secrets:Secrets");
  });
});
