/**
 * node-lifecycle-reset-requires-opt-in: what the membership command (components/lifecycle) may declare. The rule
 * over the real program, with and without the stack's opt-in, is in program.test.ts.
 */
import { describe, expect, it } from "vitest";
import { nodeLifecycleResetRequiresOptIn } from "../rules/policies";
import { violations } from "./fabricate";

describe("node-lifecycle-reset-requires-opt-in", () => {
  const membership = (env: Record<string, unknown>, config?: Record<string, unknown>) => ({
    type: "command:local:Command",
    name: "homelab-lifecycle-membership",
    props: {
      create: "#!/bin/bash",
      environment: {
        HOMELAB_STEP: "membership",
        RESET: "false",
        UNGRACEFUL: "last-etcd-member-at-teardown",
        ...env,
      },
    },
    config,
  });

  it("passes the step that shuts removed nodes down, and other commands whatever they hold", async () => {
    expect(await violations(nodeLifecycleResetRequiresOptIn, membership({}))).toEqual([]);
    const upgrade = { type: "command:local:Command", props: { environment: { RESET: "true" } } };
    expect(await violations(nodeLifecycleResetRequiresOptIn, upgrade)).toEqual([]);
  });

  it("passes wiping with the stack's opt-in, including the last etcd member's ungraceful reset at teardown", async () => {
    const r = membership({ RESET: "true" }, { allowResetOnDestroy: true });
    expect(await violations(nodeLifecycleResetRequiresOptIn, r)).toEqual([]);
    expect(
      await violations(
        nodeLifecycleResetRequiresOptIn,
        membership({ RESET: "true", UNGRACEFUL: "none" }, { allowResetOnDestroy: true }),
      ),
    ).toEqual([]);
  });

  it("rejects wiping without the opt-in, and any ungraceful reset but the one allowed", async () => {
    expect(await violations(nodeLifecycleResetRequiresOptIn, membership({ RESET: "true" }))).toEqual([
      expect.stringMatching(/homelab:resetOnDestroy: true/),
    ]);
    const everyone = membership({ RESET: "true", UNGRACEFUL: "all" }, { allowResetOnDestroy: true });
    expect(await violations(nodeLifecycleResetRequiresOptIn, everyone)).toEqual([
      expect.stringMatching(/only ungraceful reset allowed is the last etcd member's at teardown/),
    ]);
    const allowed = { ...everyone, config: { allowResetOnDestroy: true, allowUngracefulReset: true } };
    expect(await violations(nodeLifecycleResetRequiresOptIn, allowed)).toEqual([]);
  });

  it("declares the same exception the program's membership step uses", async () => {
    const lifecycle = await import("../../components/lifecycle");
    const rules = await import("../rules/lifecycle");
    expect(rules.UNGRACEFUL_AT_TEARDOWN).toBe(lifecycle.UNGRACEFUL_AT_TEARDOWN);
  });
});
