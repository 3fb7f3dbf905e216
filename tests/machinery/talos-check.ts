/**
 * Builds and runs tools/talos-check (the Talos machinery judge) and turns the program's registrations
 * into its input. Types mirror tools/talos-check/input.go.
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { canonicalYaml } from "../../components/machine/canonical";
import { nodePatchLayers, rolePatchLayers, type LayeredPatch } from "../../components/machine/patches";
import type { ClusterSpec, NodeRole, SettingOrigin } from "../../components/config/spec";

const ROOT = path.resolve(__dirname, "..", "..");
const TOOL = path.join(ROOT, "tools", "talos-check");

export interface ConfigArgs {
  clusterName: string;
  clusterEndpoint: string;
  machineType: string;
  talosVersion: string;
  kubernetesVersion: string;
  configPatches: string[];
  docs: boolean;
  examples: boolean;
  origins: SettingOrigin[];
}

export interface CheckNode {
  name: string;
  config: string;
  configPatches: string[];
  origins: SettingOrigin[];
}

export interface CheckCase {
  name: string;
  configs: Record<string, ConfigArgs>;
  nodes: CheckNode[];
}

export interface Finding {
  machinery: string;
  step: string;
  message: string;
}

export interface Override {
  document: string;
  path: string;
  value: unknown;
  setBy: SettingOrigin;
  overriddenBy: SettingOrigin;
  now?: unknown;
  reason?: string;
}

export interface NodeReport {
  name: string;
  refusals: Finding[];
  warnings: Finding[];
  overrides: Override[];
  config?: string;
}

export interface CheckReport {
  machinery: string;
  cases: { name: string; nodes: NodeReport[] }[];
}

export interface TalosCheckBinaries {
  /** Built with machinery v1.13.0 (the provider's); checks. */
  check: string;
  /** Built with machinery v1.12.0; validates Talos 1.12 targets too. */
  v112: string;
}

/**
 * Builds both binaries into bin/talos-check/<source hash>/, unless that build exists. Modules come from
 * the Go module proxy only, go.mod/go.sum are read-only, and the build runs niced on two threads.
 */
export function buildTalosCheck(): TalosCheckBinaries {
  const sources = fs
    .readdirSync(TOOL)
    .filter((f) => /\.(go|mod|sum)$/.test(f))
    .sort();
  const hash = createHash("sha256");
  for (const f of sources) hash.update(f).update(fs.readFileSync(path.join(TOOL, f)));
  const out = path.join(ROOT, "bin", "talos-check", hash.digest("hex").slice(0, 16));
  const bins = { check: path.join(out, "talos-check"), v112: path.join(out, "talos-check-1.12") };
  if (fs.existsSync(bins.check) && fs.existsSync(bins.v112)) return bins;
  // Modules come from the Go module proxy the environment names (go env GOPROXY); go.sum pins them.
  const env = {
    ...process.env,
    GOFLAGS: `${process.env.GOFLAGS ?? ""} -mod=readonly`.trim(),
  };
  const build = (modfile: string, target: string) => {
    try {
      execFileSync(
        "nice",
        ["go", "build", "-p", "2", "-trimpath", `-modfile=${modfile}`, "-o", `${target}.tmp`, "."],
        { cwd: TOOL, env, stdio: ["ignore", "ignore", "pipe"] },
      );
    } catch (e) {
      const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? String(e);
      throw new Error(`building tools/talos-check (${modfile}) needs Go ≥ 1.26 on PATH:\n${stderr}`);
    }
    fs.renameSync(`${target}.tmp`, target);
  };
  fs.mkdirSync(out, { recursive: true });
  build("go.mod", bins.check);
  build("go.1.12.mod", bins.v112);
  return bins;
}

/**
 * Runs `talos-check check` over the cases (Talos 1.12 targets also through the 1.12 binary). Asynchronous,
 * so the test worker keeps answering vitest while the tool works.
 */
export function runTalosCheck(
  bins: TalosCheckBinaries,
  cases: CheckCase[],
  opts: { configs?: boolean } = {},
): Promise<CheckReport> {
  const args = ["check", "-machinery-1.12", bins.v112, ...(opts.configs ? ["-configs"] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(bins.check, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`talos-check failed (${code}): ${Buffer.concat(err).toString()}`));
      else resolve(JSON.parse(Buffer.concat(out).toString()) as CheckReport);
    });
    child.stdin.end(JSON.stringify({ cases }));
  });
}

const texts = (layers: LayeredPatch[]) => layers.map((l) => canonicalYaml(l.doc));
const origins = (layers: LayeredPatch[]) => layers.map((l) => l.origin);

/**
 * What the program registers for a spec, built by the same pure builders its components call
 * (components/machine/configs.ts, components/cluster/talos-cluster.ts); `registrationsFromRun` checks
 * the two agree on every shipped stack.
 */
export function registrationsOf(name: string, spec: ClusterSpec, image: string): CheckCase {
  const config = (role: NodeRole): ConfigArgs => {
    const layers = rolePatchLayers(spec, role, image);
    return {
      clusterName: spec.clusterName,
      clusterEndpoint: spec.endpoint,
      machineType: role,
      talosVersion: spec.talosVersion,
      kubernetesVersion: spec.kubernetesVersion,
      configPatches: texts(layers),
      docs: false,
      examples: false,
      origins: origins(layers),
    };
  };
  return {
    name,
    configs: { controlplane: config("controlplane"), worker: config("worker") },
    nodes: spec.nodes.map((node) => {
      const layers = nodePatchLayers(spec, node);
      return { name: node.name, config: node.role, configPatches: texts(layers), origins: origins(layers) };
    }),
  };
}

/** One node's verdict in words, for assertion messages. */
export function describeNode(c: { name: string }, n: NodeReport): string[] {
  return [
    ...n.refusals.map((f) => `${c.name}/${n.name}: refused (${f.machinery} ${f.step}): ${f.message}`),
    ...n.overrides.map(
      (o) =>
        `${c.name}/${n.name}: ${o.document} ${o.path} = ${JSON.stringify(o.value)} from ${o.setBy.source} lost to ${o.overriddenBy.source}${o.reason ? ` (${o.reason})` : ""}`,
    ),
  ];
}
