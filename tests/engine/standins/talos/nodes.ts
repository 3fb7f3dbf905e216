/**
 * The Talos nodes the stand-in pretends to talk to, one JSON file per node address under
 * `$STANDIN_STATE/talos-nodes/`. They hold what a real node would remember between `pulumi up` runs and what
 * the real provider's later calls depend on: the applied configuration's facts (cluster name, endpoint,
 * Kubernetes CA certificate; never a key or token) and whether etcd was bootstrapped, since Talos refuses a second
 * bootstrap (`internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go` Bootstrap: AlreadyExists,
 * "etcd data directory is not empty"). Beside each record, 0600, the node's own copy of its configuration, which
 * is what `talosctl apply-config --dry-run` compares against (tools/talosctl.ts); like the rest of STANDIN_STATE
 * it lives in the test's temp dir only.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { stateDir } from "../core/journal";
import type { AppliedFacts } from "./machine-config";

export interface NodeRecord {
  address: string;
  facts: AppliedFacts;
  /** sha256 of the rendered configuration last applied. */
  configHash: string;
  /** How many times a configuration was applied (create or update). */
  applies: number;
  bootstrapped: boolean;
  /**
   * Set by `talosctl shutdown` (tools/talosctl.ts): the machine is off. It keeps its configuration on STATE but
   * answers nothing, as a powered-off node (the Shutdown sequence ends in a poweroff:
   * `internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_sequencer.go` Shutdown).
   */
  halted?: boolean;
}

function nodeFile(address: string, env: NodeJS.ProcessEnv): string {
  const dir = path.join(stateDir(env, "the simulated Talos nodes"), "talos-nodes");
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, `${address.replace(/[^A-Za-z0-9.-]/g, "_")}.json`);
}

/** The node's own copy of its configuration (Talos keeps it on STATE), 0600, in this test's temp dir only. */
function configFile(address: string, env: NodeJS.ProcessEnv): string {
  return nodeFile(address, env).replace(/\.json$/, ".config.yaml");
}

export function writeNodeConfig(address: string, text: string, env: NodeJS.ProcessEnv = process.env): void {
  fs.writeFileSync(configFile(address, env), text, { mode: 0o600 });
}

export function readNodeConfig(address: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const f = configFile(address, env);
  return fs.existsSync(f) ? fs.readFileSync(f, "utf8") : undefined;
}

export function readNode(address: string, env: NodeJS.ProcessEnv = process.env): NodeRecord | undefined {
  const f = nodeFile(address, env);
  return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, "utf8")) as NodeRecord) : undefined;
}

export function writeNode(rec: NodeRecord, env: NodeJS.ProcessEnv = process.env): void {
  fs.writeFileSync(nodeFile(rec.address, env), `${JSON.stringify(rec, null, 2)}\n`);
}

/** A reset wipes STATE and EPHEMERAL: the node is back in maintenance mode, as if never configured. */
export function resetNode(address: string, env: NodeJS.ProcessEnv = process.env): void {
  fs.rmSync(nodeFile(address, env), { force: true });
  fs.rmSync(configFile(address, env), { force: true });
}

/** A node that answers the Talos API with the cluster's credentials: configured and not shut down. */
export function runningNode(address: string, env: NodeJS.ProcessEnv = process.env): NodeRecord | undefined {
  const rec = readNode(address, env);
  return rec && !rec.halted ? rec : undefined;
}

/** The error a Talos API call gets from a node that does not answer (gRPC through `talosClientOp`). */
export function unreachable(address: string): string {
  return `rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp ${address}:50000: connect: connection refused"`;
}
