/**
 * What the simulated cluster remembers beyond each node (`$STANDIN_STATE/talos-cluster.json`): the Kubernetes
 * Node objects and the etcd members. Both outlive the machines they describe, as on a real cluster: a node that is
 * reset or switched off leaves its Node object and (unless it left gracefully) its etcd member behind, and the
 * health check then fails on them (functions.ts). No key or token is kept here.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { stateDir } from "../core/journal";
import type { AppliedFacts } from "./machine-config";

export interface ClusterRecord {
  /** Kubernetes Node objects: node name -> InternalIP. */
  k8sNodes: Record<string, string>;
  /** etcd members: peer address -> member name (the control plane's hostname). */
  etcdMembers: Record<string, string>;
}

function clusterFile(env: NodeJS.ProcessEnv): string {
  return path.join(stateDir(env, "the simulated cluster"), "talos-cluster.json");
}

export function readCluster(env: NodeJS.ProcessEnv = process.env): ClusterRecord {
  const f = clusterFile(env);
  if (!fs.existsSync(f)) return { k8sNodes: {}, etcdMembers: {} };
  return JSON.parse(fs.readFileSync(f, "utf8")) as ClusterRecord;
}

export function writeCluster(c: ClusterRecord, env: NodeJS.ProcessEnv = process.env): void {
  fs.writeFileSync(clusterFile(env), `${JSON.stringify(c, null, 2)}\n`);
}

/**
 * The name a node goes by: its static hostname, or the stable one Talos derives when the config asks for
 * `auto: stable` (`pkg/machinery/config/generate/network.go` HostnameConfig; the real name comes from the
 * machine's identity, imitated here from its address).
 */
export function hostnameOf(address: string, facts: AppliedFacts): string {
  if (facts.hostname) return facts.hostname;
  const h = crypto.createHash("sha256").update(address).digest("hex");
  return `talos-${h.slice(0, 3)}-${h.slice(3, 6)}`;
}

/** The etcd member ID of a peer, printed as `etcdresource.FormatMemberID` does (`%016x`). */
export function memberId(address: string): string {
  return crypto.createHash("sha256").update(`etcd:${address}`).digest("hex").slice(0, 16);
}

/**
 * A configured node joins the cluster: its kubelet registers a Node named after the node's hostname with the
 * node's address as InternalIP (Talos's nodename is the hostname: `internal/app/machined/pkg/controllers/k8s/
 * nodename.go`), and a control plane's etcd joins as a member named after the hostname, after removing a member
 * of the same name left by an earlier install (`internal/app/machined/pkg/system/services/etcd.go` addMember).
 * A node whose hostname changed registers a second Node: nothing deletes the old one.
 */
export function joinCluster(
  address: string,
  facts: AppliedFacts,
  env: NodeJS.ProcessEnv = process.env,
): void {
  const c = readCluster(env);
  const name = hostnameOf(address, facts);
  c.k8sNodes[name] = address;
  if (facts.machineType === "controlplane") {
    for (const [peer, member] of Object.entries(c.etcdMembers)) {
      if (member === name && peer !== address) delete c.etcdMembers[peer];
    }
    c.etcdMembers[address] = name;
  }
  writeCluster(c, env);
}

/** etcd refuses to remove a voting member when the others would not make a quorum of started members
 * (etcd `server/etcdserver/api/membership/cluster.go` IsReadyToRemoveVotingMember); for the last member that is
 * always the case. The error is `rpctypes.ErrGRPCMemberNotEnoughStarted`. */
export const NOT_ENOUGH_STARTED = "etcdserver: re-configuration failed due to not enough started members";

/** Removes `address`'s etcd member, as `etcd leave` (Talos `internal/pkg/etcd/etcd.go` LeaveCluster) does. */
export function leaveEtcd(address: string, env: NodeJS.ProcessEnv = process.env): void {
  const c = readCluster(env);
  if (!(address in c.etcdMembers)) return;
  if (Object.keys(c.etcdMembers).length === 1)
    throw new Error(`failed to leave cluster: ${NOT_ENOUGH_STARTED}`);
  delete c.etcdMembers[address];
  writeCluster(c, env);
}
