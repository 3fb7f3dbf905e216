/**
 * Engine tier: drift detection as the nightly job runs it (`pulumi preview` with HOMELAB_CHECK_DRIFT=1), against
 * nodes changed behind Pulumi's back with the fake talosctl: a config applied by hand, and a node wiped back to
 * maintenance mode. The preview must fail naming the node and the one command that reconverges it; that command
 * (`pulumi up --replace <the node's config apply>`) must reconverge it, and the next check must pass. A plain
 * `pulumi refresh`/`up` sees nothing (the provider never reads a node back), which is why the check exists.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readNode, readNodeConfig } from "./standins/talos/nodes";
import { EngineProject, shippedStackFile, type Step } from "./harness";

let p: EngineProject;
const WORKER = "127.168.1.11";
const changed = (steps: Step[]) => steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`);

beforeAll(async () => {
  p = await EngineProject.create({ stack: "home", stackFile: shippedStackFile("home") });
  await p.up();
});
afterAll(() => p.dispose());
afterEach(() => {
  delete process.env.HOMELAB_CHECK_DRIFT;
});

/** The nightly job's preview; the inline program reads the variable from this process. */
async function checkDrift(): Promise<string> {
  process.env.HOMELAB_CHECK_DRIFT = "1";
  try {
    const r = await p.preview();
    expect(changed(r.steps)).toEqual([]);
    return "no drift";
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    delete process.env.HOMELAB_CHECK_DRIFT;
  }
}

/** A talosconfig file as an operator would have one; the fakes only check it is private. */
function talosconfig(): string {
  const f = path.join(p.dir, "talosconfig");
  fs.writeFileSync(f, "context: home\n", { mode: 0o600 });
  return f;
}

const RECONVERGE = /pulumi up --stack home --replace '(urn:pulumi:home::homelab::[^']*::homelab-worker-1)'/;

describe("the drift check", () => {
  it("passes on a converged cluster, and plain previews do not ask the nodes", async () => {
    expect(await checkDrift()).toBe("no drift");
    const before = p.calls().filter((c) => c.method === "invoke" && c.token === "command:local:run").length;
    expect(before).toBe(2);
    await p.preview();
    expect(p.calls().filter((c) => c.method === "invoke" && c.token === "command:local:run")).toHaveLength(
      before,
    );
  });

  it("names a node whose config was changed by hand, and the command that puts the stack's back", async () => {
    const edited = path.join(p.dir, "edited.yaml");
    const running = readNodeConfig(WORKER, p.standinEnv)!;
    expect(running).toContain("debug: false");
    fs.writeFileSync(edited, running.replace("debug: false", "debug: true"));
    const apply = p.tool("talosctl", [
      "--talosconfig",
      talosconfig(),
      "-e",
      WORKER,
      "-n",
      WORKER,
      "apply-config",
      "--file",
      edited,
    ]);
    expect(apply.status, apply.stderr).toBe(0);
    expect(changed((await p.preview()).steps)).toEqual([]); // the provider alone sees nothing
    const message = await checkDrift();
    expect(message).toMatch(
      /node worker-1 \(127\.168\.1\.11\) runs a configuration that differs from what the stack renders/,
    );
    expect(message).not.toMatch(/node control-plane-1/);
    const urn = RECONVERGE.exec(message)![1];
    await p.up({ replace: [urn] });
    expect(await checkDrift()).toBe("no drift");
  });

  it("names a node back in maintenance mode, and the same command configures it again", async () => {
    const reset = p.tool("talosctl", [
      "--talosconfig",
      talosconfig(),
      "-e",
      WORKER,
      "-n",
      WORKER,
      "reset",
      "--graceful=false",
      "--reboot",
    ]);
    expect(reset.status, reset.stderr).toBe(0);
    expect(readNode(WORKER, p.standinEnv)).toBeUndefined();
    expect(changed((await p.preview()).steps)).toEqual([]); // nor does it see a wiped node
    const message = await checkDrift();
    // The run's own error, message only: not an "unhandled exception" with a stack.
    expect(message).toContain("error: Drift: 1 node(s) do not run what Pulumi.home.yaml renders");
    expect(message).not.toContain("unhandled exception");
    expect(message).toMatch(/node worker-1 \(127\.168\.1\.11\) is in maintenance mode/);
    const urn = RECONVERGE.exec(message)![1];
    const up = await p.up({ replace: [urn] });
    expect(changed(up.steps)).toEqual(
      expect.arrayContaining(["create-replacement homelab-worker-1", "delete-replaced homelab-worker-1"]),
    );
    expect(readNode(WORKER, p.standinEnv)?.halted).toBeFalsy();
    expect(await checkDrift()).toBe("no drift");
  });
});
