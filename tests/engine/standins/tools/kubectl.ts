/**
 * A fake `kubectl` for the node lifecycle scripts, over the Kubernetes Node objects of the simulated cluster
 * (../talos/cluster.ts). It knows what the scripts run (kubernetes/kubectl `pkg/cmd/delete`, `pkg/cmd/get`):
 * - `--kubeconfig F` (or KUBECONFIG), which must be a private file;
 * - `delete node NAME [--ignore-not-found] [--wait] [--timeout D]`: prints `node "NAME" deleted`; a missing Node
 *   is `Error from server (NotFound): nodes "NAME" not found` unless --ignore-not-found;
 * - `get nodes -o name` / `get node NAME -o name`: `node/NAME` per Node.
 */
import { readCluster, writeCluster } from "../talos/cluster";
import { boolFlag, CliError, flag, logCall, parseArgs, requirePrivateFile, runCli } from "./cli";

const VALUED = new Set(["--kubeconfig", "-o", "--output", "--timeout", "--request-timeout"]);

function main(argv: string[]): void {
  logCall("kubectl", argv, new Set(["--kubeconfig"]));
  const p = parseArgs(argv, VALUED);
  const kubeconfig = flag(p, "--kubeconfig") ?? process.env.KUBECONFIG;
  if (!kubeconfig)
    throw new CliError("fake kubectl: no --kubeconfig (the ambient ~/.kube/config is another cluster's)");
  requirePrivateFile("kubeconfig", kubeconfig);
  const [verb, kind, name] = p.words;
  if (kind !== "node" && kind !== "nodes" && kind !== "no") {
    throw new CliError(`fake kubectl: only nodes are implemented, got ${kind ?? "nothing"}`);
  }
  const cluster = readCluster();
  if (verb === "delete") {
    if (!name) throw new CliError("resource(s) were provided, but no name was specified");
    if (!(name in cluster.k8sNodes)) {
      if (boolFlag(p, "--ignore-not-found", false)) return;
      throw new CliError(`Error from server (NotFound): nodes "${name}" not found`);
    }
    delete cluster.k8sNodes[name];
    writeCluster(cluster);
    process.stdout.write(`node "${name}" deleted\n`);
    return;
  }
  if (verb === "get") {
    if (flag(p, "-o", "--output") !== "name") throw new CliError("fake kubectl: get supports -o name only");
    const names = name ? [name] : Object.keys(cluster.k8sNodes).sort();
    for (const n of names) {
      if (!(n in cluster.k8sNodes))
        throw new CliError(`Error from server (NotFound): nodes "${n}" not found`);
      process.stdout.write(`node/${n}\n`);
    }
    return;
  }
  throw new CliError(`fake kubectl: '${verb ?? ""}' is not implemented`);
}

runCli(() => main(process.argv.slice(2)));
