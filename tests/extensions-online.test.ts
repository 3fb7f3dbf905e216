/**
 * The online extension check (HOMELAB_CHECK_EXTENSIONS=1): the program asks Image Factory, through the
 * provider's getExtensionsVersions, which extensions it serves for the stack's Talos version. The strict mocks
 * answer it (tests/support/talos-answers.ts); nothing dials the factory.
 */
import * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it, vi } from "vitest";
import { extensionCheckRequested, unservedExtensions } from "../components/cluster/extensions-check";
import { installMocks, type InstallMocksOptions } from "./support/mocks";
import { failureOf, promiseOf, settle } from "./support/outputs";
import { encodeConfig } from "./support/program";

const GET_EXTENSIONS = "talos:imageFactory/getExtensionsVersions:getExtensionsVersions";
const SCHEMATIC = "talos:imageFactory/schematic:Schematic";

afterEach(async () => {
  // Let a cluster's last registrations reach its own mocks before the next test installs new ones.
  await settle();
  delete process.env.HOMELAB_CHECK_EXTENSIONS;
  vi.restoreAllMocks();
});

/** The program's cluster for a one-node stack with these extensions, under fresh strict mocks. */
async function cluster(extensions: string[], opts: Omit<InstallMocksOptions, "config"> = {}) {
  const warn = vi.spyOn(pulumi.log, "warn").mockResolvedValue(undefined);
  const config = encodeConfig({
    nodes: [{ name: "cp-1", address: "192.168.1.31", role: "controlplane" }],
    extensions,
  });
  const mocks = await installMocks({ ...opts, config });
  vi.resetModules();
  const { loadClusterSpec } = await import("../components/config/load");
  const { TalosCluster } = await import("../components/cluster/talos-cluster");
  const c = new TalosCluster("homelab", { spec: loadClusterSpec() });
  const invokes = () => mocks.invokes.filter((i) => i.token === GET_EXTENSIONS);
  return { c, mocks, invokes, warnings: () => warn.mock.calls.map((call) => String(call[0])) };
}

describe("the online extension check", () => {
  it("is off unless asked for: no invoke, and the verdict says how to ask", async () => {
    const { c, invokes } = await cluster(["siderolabs/iscsi-tools"]);
    expect(await promiseOf(c.extensionCheck)).toBe("not asked (set HOMELAB_CHECK_EXTENSIONS=1)");
    expect(invokes()).toEqual([]);
  });

  it("asks nothing when the stack has no extensions, even when asked to", async () => {
    process.env.HOMELAB_CHECK_EXTENSIONS = "1";
    const { c, invokes } = await cluster([]);
    expect(await promiseOf(c.extensionCheck)).toBe("no extensions");
    expect(invokes()).toEqual([]);
  });

  it("asks for the stack's Talos version and confirms served names", async () => {
    process.env.HOMELAB_CHECK_EXTENSIONS = "1";
    const { c, mocks, invokes, warnings } = await cluster(["siderolabs/iscsi-tools", "siderolabs/zfs"]);
    expect(await promiseOf(c.extensionCheck)).toBe("served by Image Factory for Talos v1.13.9");
    expect(invokes().map((i) => i.inputs.talosVersion)).toEqual(["v1.13.9"]);
    await settle();
    expect(mocks.resources.filter((r) => r.type === SCHEMATIC)).toHaveLength(1);
    expect(warnings()).toEqual([]);
  });

  it("fails the run naming each name the factory does not serve for the version, with the nearest it does", async () => {
    process.env.HOMELAB_CHECK_EXTENSIONS = "true";
    const { c } = await cluster(["siderolabs/zfs", "siderolabs/iscsi-tool"], {
      extraInvokes: {
        [GET_EXTENSIONS]: (inputs) => ({
          ...inputs,
          id: "extensions_info",
          extensionsInfos: ["siderolabs/zfs", "siderolabs/iscsi-tools"].map((name) => ({
            name,
            ref: `ghcr.io/${name}:v1.13.9`,
            digest: "sha256:0",
            author: "Sidero Labs",
            description: name,
          })),
        }),
      },
    });
    const error = await failureOf(c.extensionCheck);
    expect(error).toBeInstanceOf(pulumi.RunError);
    expect(error!.message).toBe(
      'extensions: Image Factory serves no "siderolabs/iscsi-tool" for Talos v1.13.9 (did you mean "siderolabs/iscsi-tools"?) — fix the name in homelab:extensions or remove it',
    );
  });

  it("goes on with a warning when the factory cannot be asked", async () => {
    process.env.HOMELAB_CHECK_EXTENSIONS = "1";
    const { c, warnings } = await cluster(["siderolabs/iscsi-tools"], {
      failInvoke: (token) =>
        token === GET_EXTENSIONS ? "dial tcp: lookup factory.talos.dev: no such host" : undefined,
    });
    expect(await promiseOf(c.extensionCheck)).toMatch(/^not checked: Image Factory could not be asked/);
    expect(warnings()).toEqual([
      expect.stringMatching(
        /^extensions: could not ask Image Factory which extensions it serves for Talos v1\.13\.9 \(.*no such host\); only the program's offline list was checked$/,
      ),
    ]);
  });
});

describe("unservedExtensions and the switch", () => {
  it("names each unserved extension once, with a guess only when one is close", () => {
    expect(
      unservedExtensions(
        ["siderolabs/zfs", "siderolabs/iscsi-tool", "acme/x"],
        ["siderolabs/zfs", "siderolabs/iscsi-tools"],
        "v1.12.5",
      ),
    ).toEqual([
      'extensions: Image Factory serves no "siderolabs/iscsi-tool" for Talos v1.12.5 (did you mean "siderolabs/iscsi-tools"?) — fix the name in homelab:extensions or remove it',
      'extensions: Image Factory serves no "acme/x" for Talos v1.12.5 — fix the name in homelab:extensions or remove it',
    ]);
  });

  it("reads 1 or true, nothing else", () => {
    expect(
      ["1", "true", "0", "yes", undefined].map((v) =>
        extensionCheckRequested({ HOMELAB_CHECK_EXTENSIONS: v }),
      ),
    ).toEqual([true, true, false, false, false]);
  });
});
