/**
 * Checks across stack settings (duplicates, roles, the bootstrap node, the endpoint, the VIP, the version
 * matrix). They run on the raw input, beside the structural check, and tolerate what is structurally
 * wrong (reported there), so one run lists everything to fix.
 */
import { addressIssues, subnetIssues } from "./network-checks";
import { checkVersionPair, DEFAULT_KUBERNETES_VERSION, DEFAULT_TALOS_VERSION, parseSemver } from "./versions";

/** One problem with the stack config: where (a config path) and what to do. */
export interface Issue {
  path: (string | number)[];
  message: string;
}

/** The value as a map, or undefined when it is anything else. */
export function asRecord(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/**
 * An extension listed twice. The Image Factory schematic is derived from the list (sorted, duplicates kept), so a duplicate
 * gives a different schematic ID than the same extensions listed once: removing it later would look like an
 * extensions change and reinstall every node.
 */
function duplicateExtensionIssues(extensions: unknown): Issue[] {
  if (!Array.isArray(extensions)) return [];
  const first = new Map<string, number>();
  const issues: Issue[] = [];
  extensions.forEach((name, i) => {
    if (typeof name !== "string") return;
    const j = first.get(name);
    if (j === undefined) first.set(name, i);
    else
      issues.push({
        path: ["extensions", i],
        message: `"${name}" is listed twice (also extensions[${j}]) — list each extension once`,
      });
  });
  return issues;
}

/** Checks across fields, on raw input, tolerant of structural errors reported elsewhere. */
export function relationalIssues(raw: Record<string, unknown>): Issue[] {
  const issues: Issue[] = [];
  const nodes = Array.isArray(raw.nodes) ? raw.nodes.map(asRecord) : [];
  const seenNames = new Map<string, number>();
  nodes.forEach((n, i) => {
    if (!n) return;
    if (typeof n.name === "string") {
      const first = seenNames.get(n.name);
      if (first !== undefined) {
        issues.push({
          path: ["nodes", i, "name"],
          message: `duplicate node name "${n.name}" (also nodes[${first}]) — give each node its own name`,
        });
      } else seenNames.set(n.name, i);
    }
    if (n.installDisk !== undefined && n.installDiskSelector !== undefined) {
      issues.push({ path: ["nodes", i], message: "set installDisk or installDiskSelector, not both" });
    }
  });
  issues.push(...hostnameIssues(nodes), ...addressIssues(raw, nodes), ...subnetIssues(raw, nodes));
  issues.push(...duplicateExtensionIssues(raw.extensions));
  const roles = asRecord(raw.roles);
  for (const role of ["controlplane", "worker"] as const) {
    const r = asRecord(roles?.[role]);
    if (r && r.installDisk !== undefined && r.installDiskSelector !== undefined) {
      issues.push({ path: ["roles", role], message: "set installDisk or installDiskSelector, not both" });
    }
  }
  if (Array.isArray(raw.nodes) && raw.nodes.length > 0 && !nodes.some((n) => n?.role === "controlplane")) {
    issues.push({ path: ["nodes"], message: 'no control plane: give at least one node role "controlplane"' });
  }
  const controlPlaneCount = nodes.filter((n) => n?.role === "controlplane").length;
  if (controlPlaneCount === 2) {
    // etcd needs a majority of its members: with two, either one down (an upgrade reboots each in turn) stops
    // etcd and the Kubernetes API. Three tolerate one down; one is a deliberate single point of failure.
    issues.push({
      path: ["nodes"],
      message:
        "2 control planes: etcd loses quorum whenever either is down (every Talos upgrade reboots each in turn) — use 1 or 3 (add the third in the same change)",
    });
  }
  if (typeof raw.bootstrapNode === "string") {
    const target = nodes.find((n) => n?.name === raw.bootstrapNode);
    if (!target) {
      issues.push({
        path: ["bootstrapNode"],
        message: `"${raw.bootstrapNode}" is not a node name — use the name of a control plane`,
      });
    } else if (target.role !== "controlplane") {
      issues.push({
        path: ["bootstrapNode"],
        message: `"${raw.bootstrapNode}" is a ${String(target.role)}; bootstrap must run on a control plane`,
      });
    }
  }
  if (typeof raw.endpoint === "string") {
    const problem = endpointProblem(raw.endpoint);
    if (problem) issues.push({ path: ["endpoint"], message: problem });
  }
  const vip = asRecord(raw.vip);
  if (vip) {
    if ((vip.link === undefined) === (vip.linkMatch === undefined)) {
      issues.push({
        path: ["vip"],
        message:
          "name the VIP's interface with exactly one of link (e.g. eth0) or linkMatch (a CEL expression)",
      });
    }
  }
  if (typeof raw.talosVersion === "string" || typeof raw.kubernetesVersion === "string") {
    const t = typeof raw.talosVersion === "string" ? raw.talosVersion : DEFAULT_TALOS_VERSION;
    const k = typeof raw.kubernetesVersion === "string" ? raw.kubernetesVersion : DEFAULT_KUBERNETES_VERSION;
    if (parseSemver(t) && parseSemver(k)) {
      const problem = checkVersionPair(t, k);
      if (problem)
        issues.push({
          path: [typeof raw.kubernetesVersion === "string" ? "kubernetesVersion" : "talosVersion"],
          message: problem,
        });
    }
  }
  return issues;
}

/**
 * Hostnames that collide. A node's hostname is its `hostname`, else its `name` (schema.ts nodeSpecOf), and
 * it becomes the Kubernetes Node's name; names also key the node's resources and the membership table
 * (components/lifecycle), so a hostname equal to another node's name or hostname would make two machines
 * answer to one Node, or a rename/removal act on the wrong one. Duplicate names are reported above.
 */
function hostnameIssues(nodes: (Record<string, unknown> | undefined)[]): Issue[] {
  const issues: Issue[] = [];
  const names = nodes.map((n) => (typeof n?.name === "string" ? n.name : undefined));
  const hostnames = nodes.map((n) => (typeof n?.hostname === "string" ? n.hostname : undefined));
  const effective = nodes.map((_, i) => hostnames[i] ?? names[i]);
  hostnames.forEach((host, i) => {
    if (host === undefined) return;
    const fix = `give nodes[${i}] a hostname no other node uses as its name or hostname, or drop it to use its name`;
    for (let j = 0; j < nodes.length; j++) {
      if (j === i) continue;
      if (hostnames[j] === host && j < i) {
        issues.push({
          path: ["nodes", i, "hostname"],
          message: `duplicate hostname "${host}" (also nodes[${j}].hostname) — hostnames must be unique: ${fix}`,
        });
        return;
      }
      if (hostnames[j] === undefined && names[j] === host) {
        issues.push({
          path: ["nodes", i, "hostname"],
          message: `hostname "${host}" is nodes[${j}]'s name, which is also its hostname — two machines would register as one Kubernetes Node: ${fix}`,
        });
        return;
      }
      if (hostnames[j] !== undefined && names[j] === host && effective[j] !== host) {
        issues.push({
          path: ["nodes", i, "hostname"],
          message: `hostname "${host}" is nodes[${j}]'s name (its hostname is "${hostnames[j]}") — a node's name and another's hostname must differ, or rename and removal steps mistake one for the other: ${fix}`,
        });
        return;
      }
    }
  });
  return issues;
}

/** Why an endpoint is not `https://host:port`, or undefined. */
export function endpointProblem(endpoint: string): string | undefined {
  const fix = `must be https://<host>:<port>, e.g. https://192.168.1.10:6443`;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return `${JSON.stringify(endpoint)} is not a URL — ${fix}`;
  }
  if (url.protocol !== "https:")
    return `${JSON.stringify(endpoint)} uses ${url.protocol.replace(":", "")} — ${fix}`;
  if (!url.port) return `${JSON.stringify(endpoint)} has no port — ${fix}`;
  if ((url.pathname !== "/" && url.pathname !== "") || url.search || url.hash || url.username) {
    return `${JSON.stringify(endpoint)} has a path, query or credentials — ${fix}`;
  }
  if (!endpoint.endsWith(url.port))
    return `${JSON.stringify(endpoint)} has a trailing slash or path — ${fix}`;
  return undefined;
}
