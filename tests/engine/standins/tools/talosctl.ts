/**
 * A fake `talosctl` (1.13.9) for the node lifecycle scripts (components/lifecycle/scripts), answering for the same
 * simulated nodes the talos stand-in configures (../talos/nodes.ts, ../talos/cluster.ts), so what a script does
 * to a node is what the provider and the health check see next. Subcommands it does not know go to
 * tests/fake-talosctl/talosctl (`FAKE_TALOSCTL_DELEGATE`), which the upgrade scripts use.
 *
 * A node is running (a stand-in record, not shut down), off (shut down), in maintenance mode (no record, but a
 * machine booted from the ISO: tests/fake-talosctl's `FAKE_TALOS_STATE/nodes/<address>`), or absent. Behaviour, by
 * the talosctl and machined source it follows (siderolabs/talos v1.13.9):
 * - credentials: `--talosconfig` must be a private file; a call with them to a maintenance node fails TLS
 *   verification, an `--insecure` call reaches only a maintenance node (`cmd/talosctl/cmd/talos/root.go`
 *   WithClient / WithClientMaintenance), an unreachable node fails to dial;
 * - `apply-config --file F [--dry-run]`: `cmd/talosctl/cmd/talos/apply-config.go`; the dry run prints, on stderr,
 *   the summary and `Config diff:` with `No changes.` when the documents are equal (machined `generateDiff`,
 *   `configdiff.DiffConfigs` compares the re-encoded documents, so only content counts);
 * - `get machinestatus [-o yaml|jsonpath={.spec.stage}]`: MachineStatus stage `running` or `maintenance`
 *   (`pkg/machinery/resources/runtime/machine_status.go`, non-sensitive, so readable in maintenance mode);
 * - `etcd leave`, `etcd members`, `etcd remove-member <id>`: `cmd/talosctl/cmd/talos/etcd.go`; leave and remove
 *   go through etcd's own quorum check (../talos/cluster.ts), members prints its table with the NODE column
 *   (the answer came through apid, which sets the node in the metadata);
 * - `reset [--graceful] --reboot --system-labels-to-wipe STATE --system-labels-to-wipe EPHEMERAL`: machined's
 *   Reset sequence (`v1alpha1_sequencer.go` Reset): graceful drains (a no-op here) and leaves etcd on a control
 *   plane, then wipes the partitions; with --reboot the machine comes back in maintenance mode. The Kubernetes
 *   Node object stays;
 * - `shutdown [--force]`: the Shutdown sequence: cordon and drain unless forced, then power off. The node keeps
 *   its configuration, its Node object and its etcd member.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { configureNode } from "../talos/apply";
import { leaveEtcd, memberId, NOT_ENOUGH_STARTED, readCluster, writeCluster } from "../talos/cluster";
import { readNode, readNodeConfig, resetNode, unreachable, writeNode } from "../talos/nodes";
import {
  boolFlag,
  CliError,
  flag,
  logCall,
  parseArgs,
  requirePrivateFile,
  runCli,
  type ParsedArgs,
} from "./cli";

const VALUED = new Set([
  "--talosconfig",
  "-n",
  "--nodes",
  "-e",
  "--endpoints",
  "-f",
  "--file",
  "-m",
  "--mode",
  "-o",
  "--output",
  "--timeout",
  "--system-labels-to-wipe",
  "--image",
  "--to",
]);

type NodeState = "running" | "off" | "maintenance" | "absent";

function stateOf(address: string): NodeState {
  const rec = readNode(address);
  if (rec) return rec.halted ? "off" : "running";
  const iso = process.env.FAKE_TALOS_STATE;
  return iso && fs.existsSync(path.join(iso, "nodes", address)) ? "maintenance" : "absent";
}

interface Target {
  node: string;
  insecure: boolean;
}

/** The one node a call targets, after the connection checks the real client would fail. */
function connect(p: ParsedArgs): Target {
  const node = flag(p, "-n", "--nodes");
  if (!node)
    throw new CliError(
      "nodes are not set for the command: please use `--nodes` flag or configuration file to set the nodes to run the command against",
    );
  if (node.includes(",")) throw new CliError(`fake: one node per call, got ${node}`);
  const insecure = boolFlag(p, "--insecure", false) || boolFlag(p, "-i", false);
  const state = stateOf(node);
  if (insecure) {
    // The maintenance client dials the nodes themselves, whatever -e says (talosctl
    // cmd/talosctl/pkg/talos/global/client.go WithClientMaintenance: client.WithEndpoints(c.Nodes...)).
    if (state === "running")
      throw new CliError(
        "rpc error: code = Unavailable desc = connection closed before server preface received",
      );
    if (state !== "maintenance") throw new CliError(unreachable(node));
    return { node, insecure };
  }
  const talosconfig = flag(p, "--talosconfig");
  if (!talosconfig)
    throw new CliError('failed to open config file "/root/.talos/config": no such file or directory');
  requirePrivateFile("talosconfig", talosconfig);
  if (state === "maintenance") {
    throw new CliError(
      'rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"',
    );
  }
  if (state !== "running") throw new CliError(unreachable(node));
  return { node, insecure };
}

function sameDocuments(a: string, b: string): boolean {
  const docs = (t: string) => YAML.parseAllDocuments(t).map((d) => d.toJS() as unknown);
  return JSON.stringify(canonical(docs(a))) === JSON.stringify(canonical(docs(b)));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

function applyConfig(p: ParsedArgs): void {
  const file = flag(p, "-f", "--file");
  if (!file) throw new CliError("no filename supplied for configuration");
  if (!fs.existsSync(file))
    throw new CliError(
      `failed to read configuration from "${file}": open ${file}: no such file or directory`,
    );
  const text = fs.readFileSync(file, "utf8");
  if (text.length < 1) throw new CliError("no configuration data read");
  const { node } = connect(p);
  if (boolFlag(p, "--dry-run", false)) {
    const current = readNodeConfig(node) ?? "";
    const diff = sameDocuments(current, text) ? "No changes." : lineDiff(current, text);
    process.stderr.write(
      `Dry run summary:\nApplied configuration without a reboot (skipped in dry-run).\nConfig diff:\n\n${diff}\n`,
    );
    return;
  }
  configureNode(node, text, process.env);
  process.stderr.write("Applied configuration without a reboot\n");
}

/** A crude unified diff: enough for a reader to see that something differs (the scripts never print it). */
function lineDiff(a: string, b: string): string {
  const left = new Set(a.split("\n"));
  const right = new Set(b.split("\n"));
  const removed = [...left].filter((l) => !right.has(l)).map((l) => `-${l}`);
  const added = [...right].filter((l) => !left.has(l)).map((l) => `+${l}`);
  return ["--- a/config", "+++ b/config", "@@ @@", ...removed, ...added].join("\n");
}

function get(p: ParsedArgs): boolean {
  const type = p.words[1];
  if (type !== "machinestatus" && type !== "machinestatuses") return false;
  const { node } = connect(p);
  const stage = stateOf(node) === "running" ? "running" : "maintenance";
  const output = flag(p, "-o", "--output") ?? "table";
  if (output === "jsonpath={.spec.stage}") process.stdout.write(`${stage}\n`);
  else if (output === "yaml") {
    process.stdout.write(
      `node: ${node}\nmetadata:\n    namespace: runtime\n    type: MachineStatuses.runtime.talos.dev\n    id: machine\nspec:\n    stage: ${stage}\n    status:\n        ready: true\n`,
    );
  } else
    throw new CliError(
      `fake: get machinestatus supports -o yaml and -o jsonpath={.spec.stage}, not ${output}`,
    );
  return true;
}

function requireControlPlane(node: string): void {
  if (readNode(node)?.facts.machineType !== "controlplane") {
    // machinehelper.CheckControlplane
    throw new CliError(
      `rpc error: code = FailedPrecondition desc = etcd leave/members is only available on control plane nodes`,
    );
  }
}

function etcd(p: ParsedArgs): boolean {
  const sub = p.words[1];
  if (sub !== "leave" && sub !== "members" && sub !== "remove-member") return false;
  const { node } = connect(p);
  requireControlPlane(node);
  if (sub === "leave") {
    try {
      leaveEtcd(node);
    } catch (e) {
      throw new CliError(`rpc error: code = Unknown desc = ${e instanceof Error ? e.message : String(e)}`);
    }
    return true;
  }
  const cluster = readCluster();
  if (sub === "members") {
    const rows = [["NODE", "ID", "HOSTNAME", "PEER URLS", "CLIENT URLS", "LEARNER"]];
    for (const [peer, name] of Object.entries(cluster.etcdMembers)) {
      rows.push([node, memberId(peer), name, `https://${peer}:2380`, `https://${peer}:2379`, "false"]);
    }
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows)
      process.stdout.write(`${r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i] + 3) : c)).join("")}\n`);
    return true;
  }
  const id = p.words[2];
  if (!id) throw new CliError("accepts 1 arg(s), received 0");
  const peer = Object.keys(cluster.etcdMembers).find((a) => memberId(a) === id);
  if (!peer) throw new CliError("rpc error: code = NotFound desc = etcdserver: member not found");
  if (Object.keys(cluster.etcdMembers).length === 1)
    throw new CliError(`rpc error: code = Unknown desc = failed to remove member: ${NOT_ENOUGH_STARTED}`);
  delete cluster.etcdMembers[peer];
  writeCluster(cluster);
  return true;
}

function reset(p: ParsedArgs): void {
  const { node } = connect(p);
  const labels = p.flags.get("--system-labels-to-wipe") ?? [];
  if (labels.length > 0 && [...labels].sort().join(",") !== "EPHEMERAL,STATE") {
    throw new CliError(`fake: reset wipes STATE and EPHEMERAL only, got ${labels.join(",")}`);
  }
  if (!boolFlag(p, "--reboot", false))
    throw new CliError("fake: reset without --reboot (the machine halts) is not implemented");
  const graceful = boolFlag(p, "--graceful", true);
  process.stderr.write(`watching nodes: [${node}]\n`);
  if (graceful && readNode(node)?.facts.machineType === "controlplane") {
    try {
      leaveEtcd(node);
    } catch (e) {
      throw new CliError(
        `1 error occurred:\n\t* ${node}: task "leaveEtcd" failed: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
  resetNode(node);
  process.stderr.write(`    * ${node}: post check passed\n`);
}

function shutdown(p: ParsedArgs): void {
  const { node } = connect(p);
  const rec = readNode(node)!;
  writeNode({ ...rec, halted: true });
  process.stderr.write(`watching nodes: [${node}]\n    * ${node}: post check passed\n`);
}

/**
 * One machine, two fakes: before tests/fake-talosctl answers for a node, its mode there follows this stand-in's
 * record (configured while the talos stand-in holds its config, down once shut down), so both answer alike.
 */
function syncDelegateState(p: ParsedArgs): void {
  const node = flag(p, "-n", "--nodes");
  const iso = process.env.FAKE_TALOS_STATE;
  if (!node || node.includes(",") || !iso) return;
  const state = stateOf(node);
  const dir = path.join(iso, "nodes", node);
  if (state === "running" || state === "off") {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "mode"), state === "running" ? "configured\n" : "down\n");
  }
}

function delegate(argv: string[], p: ParsedArgs): never {
  const to = process.env.FAKE_TALOSCTL_DELEGATE;
  if (!to)
    throw new CliError(
      `fake talosctl: '${argv.join(" ")}' is not implemented here and FAKE_TALOSCTL_DELEGATE is not set`,
    );
  syncDelegateState(p);
  const r = spawnSync(to, argv, { stdio: "inherit" });
  process.exit(r.status ?? 1);
}

function main(argv: string[]): void {
  logCall("talosctl", argv, new Set(["--talosconfig"]));
  const p = parseArgs(argv, VALUED);
  switch (p.words[0]) {
    case "apply-config":
    case "apply":
      return applyConfig(p);
    case "get":
      if (get(p)) return;
      break;
    case "etcd":
      if (etcd(p)) return;
      break;
    case "reset":
      return reset(p);
    case "shutdown":
      return shutdown(p);
  }
  delegate(argv, p);
}

runCli(() => main(process.argv.slice(2)));
