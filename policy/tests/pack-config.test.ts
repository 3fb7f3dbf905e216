import { describe, expect, it } from "vitest";
import { packConfigFromStack } from "../pack-config";

describe("packConfigFromStack", () => {
  it("keeps reset-on-destroy forbidden when the stack says nothing", () => {
    const config = packConfigFromStack("config:\n  homelab:talosVersion: v1.13.9\n");
    expect(config["reset-on-destroy-requires-opt-in"]).toEqual({ allowResetOnDestroy: false });
    expect(config["node-lifecycle-reset-requires-opt-in"]).toEqual({ allowResetOnDestroy: false });
  });

  it("passes the stack's opt-in through, in either form the stack file may hold it", () => {
    for (const value of ["true", '"true"']) {
      const config = packConfigFromStack(`config:\n  homelab:resetOnDestroy: ${value}\n`);
      expect(config["reset-on-destroy-requires-opt-in"]).toEqual({ allowResetOnDestroy: true });
      // The same opt-in lets the node lifecycle step wipe the machines it decommissions, and nothing else.
      expect(config["node-lifecycle-reset-requires-opt-in"]).toEqual({ allowResetOnDestroy: true });
    }
  });

  it("refuses an opt-in it cannot read rather than guessing", () => {
    expect(() => packConfigFromStack("config:\n  homelab:resetOnDestroy: yes please\n")).toThrow(
      /true or false/,
    );
  });

  it("reads an empty stack file as no opt-ins", () => {
    expect(packConfigFromStack("")["reset-on-destroy-requires-opt-in"]).toEqual({
      allowResetOnDestroy: false,
    });
  });
});
