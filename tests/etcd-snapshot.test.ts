/**
 * The pre-upgrade etcd snapshot (components/upgrade/scripts/etcd-snapshot.sh) as its Command runs it, against
 * tests/fake-talosctl: where the file goes when the stack names no folder (outside the checkout, per stack), its
 * permissions (it holds every secret of the cluster), and which older snapshots it removes (only this cluster's,
 * beyond the newest `keepSnapshots`). Each test has its own fake cluster and folder (the `fc` fixture); HOME and
 * XDG_STATE_HOME point into it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect } from "vitest";
import type { ClusterSpec } from "../components/config/spec";
import { snapshotEnvironment } from "../components/upgrade";
import { testSpec } from "./support/spec";
import { FakeCluster, installer, it } from "./fake-talosctl/harness";

const FROM = "v1.12.6";
const TO = "v1.13.9";
const SCOPE = "homelab/home";
const NEW_NAME = /^home-\d{8}T\d{6}Z-pre-v1\.13\.9\.db$/;

/** Three control planes on FROM (configured), bound for TO: the snapshot is due. */
function dueSnapshot(fc: FakeCluster, upgrade: Partial<ClusterSpec["upgrade"]>): ClusterSpec {
  const base = testSpec({ talosVersion: TO, kubernetesVersion: "1.36.0", workers: 0 });
  const spec: ClusterSpec = {
    ...base,
    endpoint: fc.kubeEndpoint,
    upgrade: { workerBatchSize: 1, nodeTimeout: "30m", keepSnapshots: 5, ...upgrade },
  };
  fc.cluster({
    talos: FROM,
    k8s: "1.35.0",
    client: TO,
    controlPlanes: spec.controlPlanes.map((n) => n.address),
    workers: [],
  });
  return spec;
}

function snapshot(fc: FakeCluster, spec: ClusterSpec, env: Record<string, string> = {}) {
  return fc.run("etcd-snapshot", { ...snapshotEnvironment(spec, installer(TO), SCOPE), ...env });
}

const mode = (p: string) => fs.statSync(p).mode & 0o777;
const list = (dir: string) => fs.readdirSync(dir).sort();

describe("where the snapshot goes", () => {
  it("by default under $HOME/.local/state, per project and stack: outside the checkout", async ({ fc }) => {
    const home = path.join(fc.work, "home-dir");
    const r = await snapshot(fc, dueSnapshot(fc, {}), { HOME: home });
    expect(r.code, r.stderr).toBe(0);
    const dir = path.join(home, ".local/state/homelab/etcd-snapshots/homelab/home");
    const files = list(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(NEW_NAME);
    expect({ dir: mode(dir), file: mode(path.join(dir, files[0])) }).toEqual({ dir: 0o700, file: 0o600 });
    expect(r.stdout).toContain(`etcd snapshot kept at ${dir}/`);
    // Nothing in the folder pulumi runs in (the checkout).
    expect(fs.existsSync(path.join(fc.work, "etcd-snapshots"))).toBe(false);
  });

  it("under XDG_STATE_HOME when it is set", async ({ fc }) => {
    const xdg = path.join(fc.work, "xdg-state");
    const r = await snapshot(fc, dueSnapshot(fc, {}), { HOME: path.join(fc.work, "h"), XDG_STATE_HOME: xdg });
    expect(r.code, r.stderr).toBe(0);
    expect(list(path.join(xdg, "homelab/etcd-snapshots/homelab/home"))).toHaveLength(1);
    expect(fs.existsSync(path.join(fc.work, "h"))).toBe(false);
  });

  it("with neither HOME nor XDG_STATE_HOME and no folder set, fails naming the setting, before any snapshot", async ({
    fc,
  }) => {
    const r = await snapshot(fc, dueSnapshot(fc, {}));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("set homelab:upgrade.snapshotDir to an absolute path");
    expect(fc.calls().filter((c) => c.includes("etcd snapshot"))).toEqual([]);
  });

  it("refuses the root folder however it is written", async ({ fc }) => {
    for (const root of ["/", "//", "/.", "/./"]) {
      const r = await snapshot(fc, dueSnapshot(fc, { snapshotDir: root }));
      expect(r.code, root).toBe(1);
      expect(r.stderr).toContain("refusing to write snapshots into the root folder");
    }
    expect(fc.calls().filter((c) => c.includes("etcd snapshot"))).toEqual([]);
  });

  it("a folder the stack names is made private (0700) even when it existed wider, the file 0600", async ({
    fc,
  }) => {
    const dir = path.join(fc.work, "backups");
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.chmodSync(dir, 0o755);
    const r = await snapshot(fc, dueSnapshot(fc, { snapshotDir: dir }), { HOME: path.join(fc.work, "h") });
    expect(r.code, r.stderr).toBe(0);
    const [file] = list(dir);
    expect({ dir: mode(dir), file: mode(path.join(dir, file)) }).toEqual({ dir: 0o700, file: 0o600 });
  });
});

describe("which snapshots are kept", () => {
  it("the newest keepSnapshots of this cluster; other clusters' snapshots and other files stay", async ({
    fc,
  }) => {
    const dir = path.join(fc.work, "snapshots");
    fs.mkdirSync(dir, { mode: 0o700 });
    const ours = [
      "home-20240101T000000Z-pre-v1.10.0.db",
      "home-20250101T000000Z-pre-v1.11.0.db",
      "home-20250601T120000Z-pre-v1.12.0.db",
      "home-20251201T235959Z-pre-v1.12.6.db",
    ];
    const others = [
      // Another cluster whose name starts like this one's, a partial download, notes: never ours to delete.
      "homelab-20200101T000000Z-pre-v1.9.0.db",
      "home-2-20200101T000000Z-pre-v1.9.0.db",
      "home-20200101T000000Z-pre-v1.9.0.db.part",
      "home-notes.txt",
    ];
    for (const f of [...ours, ...others]) fs.writeFileSync(path.join(dir, f), "x", { mode: 0o600 });
    // A link and a folder named like one of ours are not snapshot files this script wrote.
    const target = path.join(fc.work, "elsewhere.db");
    fs.writeFileSync(target, "keep me");
    fs.symlinkSync(target, path.join(dir, "home-20190101T000000Z-pre-v1.8.0.db"));
    fs.mkdirSync(path.join(dir, "home-20180101T000000Z-pre-v1.7.0.db"));

    const r = await snapshot(fc, dueSnapshot(fc, { snapshotDir: dir, keepSnapshots: 3 }));
    expect(r.code, r.stderr).toBe(0);

    const after = list(dir);
    const made = after.filter((f) => NEW_NAME.test(f));
    expect(made).toHaveLength(1);
    expect(after).toEqual(
      [
        ...made,
        ...ours.slice(2), // the two newest older ones, with the new one: 3
        ...others,
        "home-20190101T000000Z-pre-v1.8.0.db",
        "home-20180101T000000Z-pre-v1.7.0.db",
      ].sort(),
    );
    expect(fs.readFileSync(target, "utf8")).toBe("keep me");
    expect(r.stdout).toContain("removed the older etcd snapshot home-20240101T000000Z-pre-v1.10.0.db");
  });

  it("keepSnapshots 1 keeps only the snapshot just taken", async ({ fc }) => {
    const dir = path.join(fc.work, "snapshots");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "home-20250101T000000Z-pre-v1.12.6.db"), "old");
    const r = await snapshot(fc, dueSnapshot(fc, { snapshotDir: dir, keepSnapshots: 1 }));
    expect(r.code, r.stderr).toBe(0);
    expect(list(dir)).toEqual([expect.stringMatching(NEW_NAME)]);
  });

  it("removes nothing when no snapshot is due (no control plane to upgrade)", async ({ fc }) => {
    const dir = path.join(fc.work, "snapshots");
    fs.mkdirSync(dir);
    const old = ["home-20240101T000000Z-pre-v1.13.0.db", "home-20250101T000000Z-pre-v1.13.9.db"];
    for (const f of old) fs.writeFileSync(path.join(dir, f), "x");
    const spec = dueSnapshot(fc, { snapshotDir: dir, keepSnapshots: 1 });
    fc.cluster({
      talos: TO,
      k8s: "1.36.0",
      controlPlanes: spec.controlPlanes.map((n) => n.address),
      workers: [],
    });
    const r = await snapshot(fc, spec);
    expect(r.code, r.stderr).toBe(0);
    expect(list(dir)).toEqual(old);
  });
});
