/**
 * The talos data sources the program invokes, as terraform-provider-talos v0.11.0 answers them
 * (`pkg/talos/talos_machine_configuration_data_source.go`, `talos_client_configuration_data_source.go`,
 * `talos_cluster_health_data_source.go`). Results echo the arguments plus the computed attributes, as a
 * Terraform data source's state does; the caller marks secrets from the schema.
 */
import { isObject, revealMap, type Wire, type WireMap } from "../core/wire";
import type { CheckFailure } from "../core/provider";
import {
  applyPatches,
  DEFAULT_KUBERNETES_VERSION,
  DEFAULT_TALOS_CONTRACT,
  endpointError,
  generateDocuments,
  kubernetesSupportError,
  serialize,
  validTalosVersion,
} from "./machine-config";
import { readCluster } from "./cluster";
import { readNode, runningNode } from "./nodes";
import type { MachineSecrets } from "./pki";
import YAML from "yaml";

export const FUNCTIONS = {
  machineConfiguration: "talos:machine/getConfiguration:getConfiguration",
  clientConfiguration: "talos:client/getConfiguration:getConfiguration",
  health: "talos:cluster/getHealth:getHealth",
} as const;

const strings = (v: Wire | undefined): string[] =>
  Array.isArray(v) ? v.filter((e): e is string => typeof e === "string") : [];

/** A failure the bridge reports for a missing required argument (TF "Missing required argument"). */
function required(args: WireMap, names: string[]): CheckFailure[] {
  return names
    .filter((n) => args[n] === undefined || args[n] === null)
    .map((n) => ({
      property: n,
      reason: `Missing required argument. The argument "${n}" is required, but no definition was found.`,
    }));
}

/** talos_machine_configuration Read (+ ValidateConfig): generate, patch, id = cluster name. */
function machineConfiguration(a: WireMap): { outputs: WireMap; failures?: CheckFailure[] } {
  const failures = required(a, ["clusterName", "clusterEndpoint", "machineSecrets", "machineType"]);
  if (failures.length > 0) return { outputs: {}, failures };
  if (a.machineType !== "controlplane" && a.machineType !== "worker") {
    return {
      outputs: {},
      failures: [
        {
          property: "machineType",
          reason: `Attribute machine_type value must be one of: ["controlplane" "worker"], got: "${String(a.machineType)}"`,
        },
      ],
    };
  }
  const endpoint = String(a.clusterEndpoint);
  const kubernetesVersion =
    typeof a.kubernetesVersion === "string" ? a.kubernetesVersion : DEFAULT_KUBERNETES_VERSION;
  const talosVersion = typeof a.talosVersion === "string" ? a.talosVersion : DEFAULT_TALOS_CONTRACT;
  if (!validTalosVersion(talosVersion))
    return {
      outputs: {},
      failures: [{ property: "talosVersion", reason: `invalid talos version "${talosVersion}"` }],
    };
  const problem =
    endpointError(endpoint) ??
    (a.kubernetesVersion ? kubernetesSupportError(kubernetesVersion, talosVersion) : undefined);
  if (problem) throw new Error(problem);
  const patches = strings(a.configPatches);
  const docs = generateDocuments({
    clusterName: String(a.clusterName),
    clusterEndpoint: endpoint,
    machineType: a.machineType,
    secrets: a.machineSecrets as unknown as MachineSecrets,
    kubernetesVersion,
    talosVersion,
  });
  let rendered: string;
  try {
    rendered = serialize(applyPatches(docs, patches));
  } catch (e) {
    throw new Error(`config_patches are invalid: ${e instanceof Error ? e.message : String(e)}`);
  }
  return {
    outputs: {
      ...a,
      kubernetesVersion,
      talosVersion,
      machineConfiguration: rendered,
      id: String(a.clusterName),
    },
  };
}

/** The talosconfig machinery's client config writes (`client/config/config.go`: context, contexts.<name> with
 * endpoints, nodes, ca, crt, key; yaml.v3 indents by four). */
export function talosconfig(name: string, endpoints: string[], nodes: string[], cc: WireMap): string {
  const ctx: Record<string, unknown> = { endpoints };
  if (nodes.length > 0) ctx.nodes = nodes;
  Object.assign(ctx, { ca: cc.caCertificate, crt: cc.clientCertificate, key: cc.clientKey });
  return YAML.stringify({ context: name, contexts: { [name]: ctx } }, { indent: 4, lineWidth: 0 });
}

/** talos_client_configuration Read: the talosconfig; id = cluster name. */
function clientConfiguration(a: WireMap): { outputs: WireMap; failures?: CheckFailure[] } {
  const failures = required(a, ["clusterName", "clientConfiguration"]);
  if (failures.length > 0 || !isObject(a.clientConfiguration)) return { outputs: {}, failures };
  const name = String(a.clusterName);
  const text = talosconfig(name, strings(a.endpoints), strings(a.nodes), a.clientConfiguration);
  return { outputs: { ...a, talosConfig: text, id: name } };
}

const IP = /^(\d{1,3}\.){3}\d{1,3}$|^[0-9a-fA-F:]+$/;

/**
 * talos_cluster_health Read: waits (up to timeouts.read) for Talos's boot checks, plus the Kubernetes checks unless
 * skipped. The simulated cluster passes when every listed node runs a configuration, one control plane was
 * bootstrapped, every etcd member is a listed control plane and, with the Kubernetes checks, the Node objects are
 * exactly the listed nodes; otherwise this fails at once with the error the real data source ends with after its
 * timeout (`pkg/cluster/check/etcd.go` EtcdControlPlaneNodesAssertion, `pkg/cluster/cluster.go` NodesMatch).
 */
function health(a: WireMap, env: NodeJS.ProcessEnv): { outputs: WireMap; failures?: CheckFailure[] } {
  const failures = required(a, ["clientConfiguration", "controlPlaneNodes", "endpoints"]);
  for (const key of ["controlPlaneNodes", "workerNodes"]) {
    for (const n of strings(a[key])) {
      if (!IP.test(n))
        failures.push({
          property: key,
          reason: `Attribute ${key} value must be a valid IP address, got: ${n}`,
        });
    }
  }
  if (failures.length > 0) return { outputs: {}, failures };
  if (env.STANDIN_STATE) {
    const cps = strings(a.controlPlaneNodes);
    const all = [...cps, ...strings(a.workerNodes)];
    const missing = all.find((n) => !runningNode(n, env));
    if (missing)
      throw new Error(
        `cluster health check failed: waiting for apid to be ready: ${missing}: connection refused`,
      );
    if (!cps.some((n) => readNode(n, env)?.bootstrapped)) {
      throw new Error(
        "cluster health check failed: waiting for etcd to be healthy: etcd is not bootstrapped",
      );
    }
    const cluster = readCluster(env);
    const members = Object.keys(cluster.etcdMembers).sort();
    if (members.some((m) => !cps.includes(m))) {
      throw new Error(
        `cluster health check failed: waiting for etcd members to be control plane nodes: etcd member ips ${goList(members)} are not subset of control plane node ips ${goList(cps)}`,
      );
    }
    if (a.skipKubernetesChecks !== true) {
      const problem = nodesMatch(all, Object.values(cluster.k8sNodes));
      if (problem)
        throw new Error(`cluster health check failed: waiting for all k8s nodes to report: ${problem}`);
    }
  }
  return { outputs: { ...a, id: "cluster_health" } };
}

/** Go's `%q` of a string slice: `["a" "b"]`. */
const goList = (xs: readonly string[]): string => `[${xs.map((x) => JSON.stringify(x)).join(" ")}]`;

/** `cluster.NodesMatch`: every expected node matches one Node object by IP, and no Node object is left over. */
function nodesMatch(expected: readonly string[], actual: readonly string[]): string | undefined {
  const left = [...actual];
  for (const ip of expected) {
    const i = left.indexOf(ip);
    if (i < 0) return `can't find expected node with IPs ${goList([ip])}`;
    left.splice(i, 1);
  }
  return left.length > 0 ? `unexpected nodes with IPs ${goList(left.sort())}` : undefined;
}

/** Invokes a talos function with revealed arguments. */
export function invokeFunction(
  token: string,
  args: WireMap,
  env: NodeJS.ProcessEnv,
): { outputs: WireMap; failures?: CheckFailure[] } {
  const a = revealMap(args);
  switch (token) {
    case FUNCTIONS.machineConfiguration:
      return machineConfiguration(a);
    case FUNCTIONS.clientConfiguration:
      return clientConfiguration(a);
    case FUNCTIONS.health:
      return health(a, env);
    default:
      throw new Error(
        `unknown function ${token}: the stand-in implements ${Object.values(FUNCTIONS).join(", ")}`,
      );
  }
}
