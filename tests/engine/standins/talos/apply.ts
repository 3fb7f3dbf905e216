/**
 * What each talos resource does when applied (Create/Update) or deleted, against the simulated nodes of
 * nodes.ts. Each function names the terraform-provider-talos v0.11.0 method it imitates; they take the planned
 * state (fully known outside previews) and return the new state.
 */
import * as crypto from "node:crypto";
import YAML from "yaml";
import { isObject, sha256Hex, type Wire, type WireMap } from "../core/wire";
import { factsOf } from "./machine-config";
import { joinCluster, leaveEtcd } from "./cluster";
import { readNode, resetNode, runningNode, unreachable, writeNode, writeNodeConfig } from "./nodes";
import { fakePem, newClientConfiguration, newMachineSecrets } from "./pki";
import { TOKENS } from "./plan";

const str = (v: Wire | undefined): string => (typeof v === "string" ? v : "");

/** talos_machine_secrets Create: a new bundle and admin client credentials; id "machine_secrets". */
function createSecrets(p: WireMap): WireMap {
  const machineSecrets = newMachineSecrets();
  return {
    ...p,
    id: "machine_secrets",
    machineSecrets: machineSecrets as unknown as Wire,
    clientConfiguration: newClientConfiguration(machineSecrets) as unknown as Wire,
  };
}

/**
 * ApplyConfiguration on a node, whoever calls it: the node keeps the configuration and joins the cluster
 * (cluster.ts). A node never configured is in maintenance mode and accepts it too; a node that was shut down
 * answers nothing.
 */
export function configureNode(node: string, config: string, env: NodeJS.ProcessEnv): void {
  const before = readNode(node, env);
  if (before?.halted) throw new Error(unreachable(node));
  const facts = factsOf(config);
  writeNodeConfig(node, config, env);
  joinCluster(node, facts, env);
  writeNode(
    {
      address: node,
      facts,
      configHash: sha256Hex(config),
      applies: (before?.applies ?? 0) + 1,
      bootstrapped: before?.bootstrapped ?? false,
    },
    env,
  );
}

/** talos_machine_configuration_apply Create/Update: ApplyConfiguration on the node; id
 * "machine_configuration_apply". */
function applyConfiguration(p: WireMap, env: NodeJS.ProcessEnv): WireMap {
  try {
    configureNode(str(p.node), str(p.machineConfiguration), env);
  } catch (e) {
    throw new Error(`Error applying configuration: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { ...p, id: "machine_configuration_apply" };
}

/** talos_machine_bootstrap Create: Bootstrap on a configured control plane; Talos refuses a second one. */
function bootstrap(p: WireMap, env: NodeJS.ProcessEnv): WireMap {
  const node = str(p.node);
  const rec = readNode(node, env);
  if (!rec) throw new Error(`Error bootstrapping node: ${unreachable(node)}`);
  if (rec.facts.machineType !== "controlplane") {
    throw new Error(
      "Error bootstrapping node: rpc error: code = FailedPrecondition desc = bootstrap is not available on worker nodes",
    );
  }
  if (rec.bootstrapped) {
    throw new Error(
      "Error bootstrapping node: rpc error: code = AlreadyExists desc = etcd data directory is not empty",
    );
  }
  writeNode({ ...rec, bootstrapped: true }, env);
  return { ...p, id: "machine_bootstrap" };
}

/** The admin kubeconfig Talos serves (machined's `Kubeconfig` API): cluster named after the cluster, context and
 * user `admin@<cluster>`, server = the control-plane endpoint, CA = the cluster's Kubernetes CA. */
export function adminKubeconfig(
  clusterName: string,
  server: string,
  ca: string,
  crt: string,
  key: string,
): string {
  const user = `admin@${clusterName}`;
  return YAML.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: clusterName, cluster: { server, "certificate-authority-data": ca } }],
      users: [{ name: user, user: { "client-certificate-data": crt, "client-key-data": key } }],
      contexts: [{ context: { cluster: clusterName, namespace: "default", user }, name: user }],
      "current-context": user,
    },
    { lineWidth: 0 },
  );
}

/** talos_cluster_kubeconfig Create: fetch the kubeconfig from the node; id = the kubeconfig's cluster name. */
function fetchKubeconfig(p: WireMap, env: NodeJS.ProcessEnv): WireMap {
  const node = str(p.node);
  const rec = readNode(node, env);
  if (!rec || rec.facts.machineType !== "controlplane") {
    throw new Error(`failed to retrieve kubeconfig: ${unreachable(node)}`);
  }
  const { clusterName, endpoint, kubernetesCA } = rec.facts;
  const crt = fakePem("CERTIFICATE", 300);
  const key = fakePem("EC PRIVATE KEY", 120);
  return {
    ...p,
    id: clusterName,
    endpoint: p.endpoint ?? node,
    kubeconfigRaw: adminKubeconfig(clusterName, endpoint, kubernetesCA, crt, key),
    kubernetesClientConfiguration: {
      host: endpoint,
      caCertificate: kubernetesCA,
      clientCertificate: crt,
      clientKey: key,
    },
  };
}

/** The Image Factory's schematic id: sha256 of the schematic marshalled by Go yaml (4-space indent, struct field
 * order, empty fields omitted, `customization` always present); `customization: {}` is the vanilla schematic,
 * 376567988ad3…. Only the fields the program can send are supported; an unknown one is refused as the factory
 * refuses it (its decoder sets KnownFields). */
export function schematicId(text: string): string {
  const s = (YAML.parse(text === "" ? "{}" : text) ?? {}) as Record<string, unknown>;
  const known = (obj: unknown, keys: string[], where: string) => {
    if (obj === undefined) return {} as Record<string, unknown>;
    if (!isObject(obj)) throw new Error(`failed to unmarshal schematic: ${where} is not a mapping`);
    for (const k of Object.keys(obj))
      if (!keys.includes(k))
        throw new Error(`failed to unmarshal schematic: field ${k} not found in type ${where}`);
    return obj as Record<string, unknown>;
  };
  const top = known(s, ["customization"], "schematic.Schematic");
  const c = known(top.customization, ["extraKernelArgs", "systemExtensions"], "schematic.Customization");
  const ext = known(c.systemExtensions, ["officialExtensions"], "schematic.SystemExtensions");
  const lines: string[] = [];
  const args = (c.extraKernelArgs as string[] | undefined) ?? [];
  const official = (ext.officialExtensions as string[] | undefined) ?? [];
  if (args.length > 0) lines.push("    extraKernelArgs:", ...args.map((a) => `        - ${a}`));
  if (official.length > 0)
    lines.push(
      "    systemExtensions:",
      "        officialExtensions:",
      ...official.map((e) => `            - ${e}`),
    );
  const body = lines.length > 0 ? `customization:\n${lines.join("\n")}\n` : "customization: {}\n";
  return crypto.createHash("sha256").update(body).digest("hex");
}

/** Create (and Update, where the provider re-runs the same operation) for a talos resource. */
export function applyResource(
  token: string,
  p: WireMap,
  prior: WireMap | undefined,
  env: NodeJS.ProcessEnv,
): WireMap {
  switch (token) {
    case TOKENS.secrets:
      // Update only stores the new talos_version (and renews an expiring client certificate: not imitated).
      return prior
        ? { ...p, machineSecrets: prior.machineSecrets, clientConfiguration: prior.clientConfiguration }
        : createSecrets(p);
    case TOKENS.configurationApply:
      return applyConfiguration(p, env);
    case TOKENS.bootstrap:
      // Update stores the plan: a changed node or endpoint does not bootstrap again.
      return prior ? { ...p, id: prior.id ?? "machine_bootstrap" } : bootstrap(p, env);
    case TOKENS.kubeconfig:
      // Update keeps the kubeconfig (UseStateForUnknown) unless its certificate expires soon: not imitated.
      return prior ? { ...p, id: prior.id ?? p.id ?? null } : fetchKubeconfig(p, env);
    case TOKENS.schematic:
      // Create and Update both POST the schematic and store the returned id.
      return { ...p, id: schematicId(str(p.schematic)) };
    default:
      throw new Error(`unknown resource type ${token}`);
  }
}

/** Delete: a no-op for every talos resource except a configuration apply with `onDestroy.reset` in its state,
 * which resets the node (talos_machine_configuration_apply Delete → Reset with STATE and EPHEMERAL wiped). A
 * graceful reset of a control plane first leaves etcd (machined's Reset sequence runs LeaveEtcd when graceful:
 * `v1alpha1_sequencer.go` Reset), which etcd refuses for the last member (cluster.ts leaveEtcd); the Node object
 * stays. */
export function deleteResource(token: string, state: WireMap, env: NodeJS.ProcessEnv): void {
  if (token !== TOKENS.configurationApply) return;
  const onDestroy = state.onDestroy;
  if (!isObject(onDestroy) || onDestroy.reset !== true) return;
  const node = str(state.node);
  const rec = runningNode(node, env);
  if (!rec) throw new Error(`Error resetting machine: ${unreachable(node)}`);
  if (onDestroy.graceful !== false && rec.facts.machineType === "controlplane") {
    try {
      leaveEtcd(node, env);
    } catch (e) {
      throw new Error(`Error resetting machine: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  resetNode(node, env);
}
