/**
 * The snapshot settings of the stack file: `upgrade.snapshotDir` (never the root folder; a warning inside the
 * project folder) and `upgrade.keepSnapshots` (at least 1, default 5), refused with the path and the fix before
 * anything is registered; and what the snapshot command is told when the stack names no folder.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseClusterConfig } from "../components/config/schema";
import { snapshotDirWarning, validatePatchAgainstTalosSchema } from "../components/config/load";
import { snapshotEnvironment } from "../components/upgrade";

const nodes = [{ name: "cp-1", address: "192.168.1.10", role: "controlplane" }];
const parse = (upgrade: Record<string, unknown> | undefined) =>
  parseClusterConfig({ nodes, ...(upgrade ? { upgrade } : {}) }, validatePatchAgainstTalosSchema);

describe("upgrade.keepSnapshots", () => {
  it("defaults to 5, and no snapshot folder is set (the command picks the default one)", () => {
    const { spec, errors } = parse(undefined);
    expect(errors).toEqual([]);
    expect(spec!.upgrade.keepSnapshots).toBe(5);
    expect(spec!.upgrade.snapshotDir).toBeUndefined();
  });

  it("takes a whole number of at least 1, written as a number or as text", () => {
    expect(parse({ keepSnapshots: 1 }).spec!.upgrade.keepSnapshots).toBe(1);
    expect(parse({ keepSnapshots: "12" }).spec!.upgrade.keepSnapshots).toBe(12);
  });

  it("refuses 0, negatives, fractions and words, naming the setting", () => {
    for (const bad of [0, -1, 2.5, "some"]) {
      const { spec, errors } = parse({ keepSnapshots: bad });
      expect(spec).toBeUndefined();
      expect(errors.join("\n")).toMatch(
        /^upgrade\.keepSnapshots: (must be at least 1|must be a whole number)/m,
      );
    }
  });
});

describe("upgrade.snapshotDir", () => {
  it("refuses the root folder however it is written, with the fix", () => {
    for (const root of ["/", "//", "/.", "/./", "/..", "///.//"]) {
      const { spec, errors } = parse({ snapshotDir: root });
      expect(spec, root).toBeUndefined();
      expect(errors.join("\n")).toContain(
        `upgrade.snapshotDir: ${JSON.stringify(root)} is the root folder: the snapshots (every secret of the cluster) need a folder of their own`,
      );
    }
  });

  it("refuses every path that normalizes to the root folder, and no other absolute path", () => {
    const segment = fc.constantFrom("", ".", "..", "backups", "etcd");
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 6 }), (segments) => {
        const dir = `/${segments.join("/")}`;
        const refused = parse({ snapshotDir: dir }).spec === undefined;
        const named = segments.reduce<string[]>(
          (stack, s) => (s === ".." ? stack.slice(0, -1) : s === "" || s === "." ? stack : [...stack, s]),
          [],
        );
        expect(refused).toBe(named.length === 0);
      }),
    );
  });

  it("keeps a folder of its own as written", () => {
    expect(parse({ snapshotDir: "/var/lib/homelab/etcd-snapshots" }).spec!.upgrade.snapshotDir).toBe(
      "/var/lib/homelab/etcd-snapshots",
    );
  });

  it("warns when the folder is inside the project folder, relative or absolute", () => {
    const checkout = "/home/me/homelab";
    for (const inside of ["etcd-snapshots", "./backups/etcd", "/home/me/homelab/etcd", "."]) {
      expect(snapshotDirWarning(inside, checkout)).toMatch(
        /^upgrade\.snapshotDir: .* is inside the project folder \(\/home\/me\/homelab\).*leave the setting out/,
      );
    }
    for (const outside of [undefined, "../homelab-snapshots", "/var/lib/homelab", "/home/me/homelab-2/x"]) {
      expect(snapshotDirWarning(outside, checkout)).toBeUndefined();
    }
  });

  it("unset: the command gets an empty folder, the stack it belongs to and how many to keep", () => {
    const { spec } = parse({ keepSnapshots: 3 });
    const env = snapshotEnvironment(spec!, "ghcr.io/siderolabs/installer:v1.13.9", "homelab/home");
    expect(env).toMatchObject({ SNAPSHOT_DIR: "", SNAPSHOT_SCOPE: "homelab/home", KEEP_SNAPSHOTS: "3" });
  });
});
