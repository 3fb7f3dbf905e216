/**
 * Engine tier: runs that stop half way. A targeted `up` on a new stack (the engine always includes explicit
 * providers in a targeted run and refuses to create one whose dependencies it skips: pulumi/pulumi
 * pkg/resource/deploy/step_generator.go), and a step that fails and succeeds on the next `up`.
 */
import { afterEach, describe, expect, it } from "vitest";
import { EngineProject, shippedStackFile, type Step } from "./harness";

const projects: EngineProject[] = [];
afterEach(() => {
  for (const p of projects.splice(0)) p.dispose();
});

const created = (steps: Step[]) => steps.filter((s) => s.op === "create").map((s) => s.name);
const changed = (steps: Step[]) => steps.filter((s) => s.op !== "same");
const CLUSTER = "urn:pulumi:home::homelab::homelab:cluster:TalosCluster::homelab";
const SECRETS =
  "urn:pulumi:home::homelab::homelab:cluster:TalosCluster$talos:machine/secrets:Secrets::homelab-secrets";

describe("a targeted up on a new stack", () => {
  it("creates only the machine secrets (and what the engine always includes), then a full up converges", async () => {
    const p = await EngineProject.create({ stack: "home", stackFile: shippedStackFile("home") });
    projects.push(p);
    const targeted = await p.up({ target: [CLUSTER, SECRETS] });
    const talos = targeted.steps.filter((s) => s.type.startsWith("talos:") && s.op === "create");
    expect(talos.map((s) => s.name)).toEqual(["homelab-secrets"]);
    // Nothing but the secrets reached a provider's Create: no node was touched.
    const creates = p.calls().filter((c) => c.method === "create" && !c.preview);
    expect(creates.map((c) => c.urn)).toEqual([expect.stringMatching(/::homelab-secrets$/)]);

    const full = await p.up();
    expect(created(full.steps)).toEqual(
      expect.arrayContaining(["homelab-control-plane-1", "homelab-bootstrap"]),
    );
    expect(created(full.steps)).not.toContain("homelab-secrets");
    expect(changed((await p.up()).steps)).toEqual([]);
  });
});

describe("a step that fails", () => {
  it("fails the up where it failed, and the next up finishes the rest without redoing what succeeded", async () => {
    const p = await EngineProject.create({
      stack: "home",
      stackFile: shippedStackFile("home"),
      env: { STANDIN_FAIL_ONCE: "homelab-worker-1" },
    });
    projects.push(p);
    await expect(p.up()).rejects.toThrow(/homelab-worker-1/);
    const second = await p.up();
    const redone = changed(second.steps).map((s) => s.name);
    expect(redone).toContain("homelab-worker-1");
    expect(redone).not.toContain("homelab-secrets");
    expect(redone).not.toContain("homelab-control-plane-1");
    expect(changed((await p.up()).steps)).toEqual([]);
  });
});
