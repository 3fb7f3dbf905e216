/**
 * Checks of the stack's addresses and ranges, on the raw input like the other relational checks: node
 * addresses and the VIP that no machine can hold, the same address written twice in different spellings,
 * pod and service ranges that overlap each other or hold a machine, and a VIP the control planes' LAN
 * cannot reach (a warning).
 */
import type { Issue } from "./checks";
import {
  canonicalIp,
  cidrContains,
  cidrsOverlap,
  formatCidr,
  formatIp,
  networkOf,
  parseCidr,
  parseIp,
  specialRange,
  type Cidr,
  type Ip,
  type IpFamily,
} from "./ip";
import type { StackPatch } from "./spec";

/**
 * What the program writes to `cluster.network` when the stack sets nothing: Talos's own IPv4 defaults
 * (siderolabs/talos pkg/machinery v1.13.9 constants/constants.go DefaultIPv4PodNet, DefaultIPv4ServiceNet).
 */
export const DEFAULT_POD_SUBNETS: readonly string[] = ["10.244.0.0/16"];
export const DEFAULT_SERVICE_SUBNETS: readonly string[] = ["10.96.0.0/12"];

/**
 * Ranges offered as a fix when a cluster range collides, first free one wins: Talos's defaults (IPv6 ones
 * from the same constants.go), then the ranges k3s uses, then two more private /16s.
 */
const CANDIDATES: Record<"pod" | "service", Record<IpFamily, string[]>> = {
  pod: { 4: ["10.244.0.0/16", "10.42.0.0/16", "172.30.0.0/16"], 6: ["fc00:db8:10::/56", "fd42::/56"] },
  service: { 4: ["10.96.0.0/12", "10.43.0.0/16", "172.31.0.0/16"], 6: ["fc00:db8:20::/112", "fd43::/112"] },
};

const UNICAST_EXAMPLE = "e.g. 192.168.1.10";

/** The value as a map, or undefined (checks.ts has the same; importing it would make the modules a cycle). */
const asRecord = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** Why a node address or the VIP cannot be one, with the fix for that field; undefined when it can. */
function specialProblem(text: string, ip: Ip, fix: string): string | undefined {
  const special = specialRange(ip);
  if (!special) return undefined;
  switch (special.kind) {
    case "unspecified":
      return `${text} is the unspecified address (${special.range}), which means "any address", not one machine — ${fix}`;
    case "multicast":
      return `${text} is a multicast address (${special.range}): it names a group of listeners, not one machine — ${fix}`;
    case "link-local":
      // siderolabs/talos v1.13.9 internal/app/machined/pkg/controllers/network/node_address.go drops
      // loopback, multicast and link-local addresses from the node addresses etcd and the kubelet use.
      return `${text} is link-local (${special.range}): Talos never uses a link-local address as a node address (etcd, kubelet), and reaching one needs an interface zone — ${fix}`;
  }
}

interface Located {
  text: string;
  ip: Ip;
  path: (string | number)[];
}

/** Node addresses and the VIP that no machine can hold, and the same address given twice. */
export function addressIssues(
  raw: Record<string, unknown>,
  nodes: (Record<string, unknown> | undefined)[],
): Issue[] {
  const issues: Issue[] = [];
  const seen = new Map<string, { index: number; text: string }>();
  nodes.forEach((n, i) => {
    if (typeof n?.address !== "string") return;
    const ip = parseIp(n.address);
    if (!ip) return; // the schema reports it
    const problem = specialProblem(
      n.address,
      ip,
      `use the IP the machine shows on its console once booted from the Talos ISO, ${UNICAST_EXAMPLE}`,
    );
    if (problem) issues.push({ path: ["nodes", i, "address"], message: problem });
    const key = formatIp(ip);
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, { index: i, text: n.address });
      return;
    }
    const spelling = first.text === n.address ? "" : `, written ${first.text}`;
    issues.push({
      path: ["nodes", i, "address"],
      message: `duplicate address ${n.address} (also nodes[${first.index}]${spelling}) — each machine has its own IP`,
    });
  });
  const vip = asRecord(raw.vip);
  if (typeof vip?.address === "string") {
    const ip = parseIp(vip.address);
    if (ip) {
      const fix = "reserve a free unicast IP in the control planes' subnet for the VIP";
      const problem = specialProblem(vip.address, ip, fix);
      if (problem) issues.push({ path: ["vip", "address"], message: problem });
      const node = seen.get(formatIp(ip));
      if (node) {
        const spelling = node.text === vip.address ? "" : `, written ${node.text}`;
        issues.push({
          path: ["vip", "address"],
          message: `${vip.address} is also nodes[${node.index}]'s address${spelling} — ${fix}`,
        });
      }
    }
  }
  if (typeof raw.endpoint === "string") {
    const host = endpointHost(raw.endpoint);
    const ip = host === undefined ? undefined : parseIp(host);
    const problem =
      ip &&
      specialProblem(
        host!,
        ip,
        "point the endpoint at the VIP or a control plane's address, e.g. https://192.168.1.10:6443",
      );
    if (problem) issues.push({ path: ["endpoint"], message: problem });
    const node = ip && seen.get(formatIp(ip));
    const role = node ? nodes[node.index]?.role : undefined;
    if (node && role === "worker") {
      issues.push({
        path: ["endpoint"],
        message:
          `${raw.endpoint} is the address of nodes[${node.index}], a worker: workers do not serve the Kubernetes ` +
          "API — point the endpoint at the VIP or a control plane's address",
      });
    }
  }
  return issues;
}

/**
 * An explicit endpoint on an IP that is neither a control plane's address nor the VIP. Every node's config
 * points at it (cluster.controlPlane.endpoint), so when it is the address of a control plane that was removed
 * from `nodes`, the cluster loses its API endpoint with that machine. A warning, because an external load
 * balancer in front of the control planes is a valid endpoint the stack knows nothing about.
 */
export function endpointWarning(
  raw: Record<string, unknown>,
  nodes: (Record<string, unknown> | undefined)[],
): string | undefined {
  if (typeof raw.endpoint !== "string") return undefined;
  const host = endpointHost(raw.endpoint);
  const key = host === undefined ? undefined : canonicalIp(host);
  if (key === undefined) return undefined; // a DNS name, or the endpoint check above already refused it
  const canonical = (a: unknown) => (typeof a === "string" ? canonicalIp(a) : undefined);
  // The VIP, or a node: a control plane (a worker is refused above).
  if (canonical(asRecord(raw.vip)?.address) === key) return undefined;
  if (nodes.some((n) => canonical(n?.address) === key)) return undefined;
  return (
    `endpoint: ${raw.endpoint} is neither a control plane's address nor the VIP — every node's configuration ` +
    "points there, so if it was a control plane you removed from nodes, the cluster loses its API with it: point " +
    "the endpoint at the VIP or a remaining control plane first (one pulumi up), then remove the machine. An " +
    "external load balancer in front of the control planes is fine: ignore this then"
  );
}

/** The host of an endpoint URL without IPv6 brackets, or undefined when it is not a URL. */
function endpointHost(endpoint: string): string | undefined {
  try {
    return new URL(endpoint).hostname.replace(/^\[(.*)\]$/, "$1");
  } catch {
    return undefined;
  }
}

interface Range {
  kind: "pod" | "service";
  text: string;
  cidr: Cidr;
  /** `network.podSubnets[1]`, or `network.podSubnets` for the default. */
  path: (string | number)[];
  isDefault: boolean;
}

function rangesOf(raw: Record<string, unknown>, kind: "pod" | "service"): Range[] {
  const key = kind === "pod" ? "podSubnets" : "serviceSubnets";
  const given = asRecord(raw.network)?.[key];
  const list = Array.isArray(given) ? given : kind === "pod" ? DEFAULT_POD_SUBNETS : DEFAULT_SERVICE_SUBNETS;
  const out: Range[] = [];
  list.forEach((text, i) => {
    const cidr = typeof text === "string" ? parseCidr(text) : undefined;
    if (!cidr) return; // the schema reports it
    const isDefault = !Array.isArray(given);
    out.push({ kind, text, cidr, path: isDefault ? ["network", key] : ["network", key, i], isDefault });
  });
  return out;
}

const nameOf = (r: Range) =>
  r.isDefault ? `the default ${r.kind} subnet ${r.text}` : `${r.kind} subnet ${r.text} (${pathText(r.path)})`;
const pathText = (path: (string | number)[]) =>
  path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");

/** A range of `kind` and the family of `like` that overlaps none of `avoid` and holds none of `ips`. */
function freeRange(kind: "pod" | "service", like: Cidr, avoid: Cidr[], ips: Ip[]): string | undefined {
  return CANDIDATES[kind][like.family].find((text) => {
    const c = parseCidr(text)!;
    return !avoid.some((a) => cidrsOverlap(a, c)) && !ips.some((ip) => cidrContains(c, ip));
  });
}

/**
 * Pod and service ranges (the stack's, or the defaults the program writes when it sets none) that overlap
 * each other or hold a node address or the VIP: Kubernetes would route that machine's traffic into the
 * cluster network. Each is reported at the range to change, with a free range to use instead.
 */
export function subnetIssues(
  raw: Record<string, unknown>,
  nodes: (Record<string, unknown> | undefined)[],
): Issue[] {
  const issues: Issue[] = [];
  const pods = rangesOf(raw, "pod");
  const services = rangesOf(raw, "service");
  const machines: Located[] = [];
  nodes.forEach((n, i) => {
    const ip = typeof n?.address === "string" ? parseIp(n.address) : undefined;
    if (ip) machines.push({ text: n!.address as string, ip, path: ["nodes", i, "address"] });
  });
  const vip = asRecord(raw.vip);
  const vipIp = typeof vip?.address === "string" ? parseIp(vip.address) : undefined;
  if (vipIp) machines.push({ text: vip!.address as string, ip: vipIp, path: ["vip", "address"] });
  const ips = machines.map((m) => m.ip);
  const all = [...pods, ...services];
  const suggestion = (r: Range) => {
    const free = freeRange(
      r.kind,
      r.cidr,
      all.filter((o) => o !== r).map((o) => o.cidr),
      ips,
    );
    const key = r.kind === "pod" ? "podSubnets" : "serviceSubnets";
    return free
      ? `set network.${key} to a range nothing else uses, e.g. [${free}]`
      : `set network.${key} to a private range no node, VIP or other cluster range uses`;
  };

  for (const p of pods) {
    for (const s of services) {
      if (!cidrsOverlap(p.cidr, s.cidr)) continue;
      // Point at the range the user wrote; when both are theirs, at the service range.
      const [at, other] = s.isDefault ? [p, s] : [s, p];
      issues.push({
        path: at.path,
        message: `${at.text} overlaps ${nameOf(other)}: pods and services need separate ranges — ${suggestion(at)}`,
      });
    }
  }
  for (const r of all) {
    const inside = machines.filter((m) => cidrContains(r.cidr, m.ip));
    if (inside.length === 0) continue;
    const held = inside.map((m) => `${pathText(m.path)} ${m.text}`).join(", ");
    issues.push({
      path: r.path,
      message: `${nameOf(r)} holds ${held}: the cluster would take that machine's traffic for its ${r.kind} network — ${suggestion(r)}`,
    });
  }
  return issues;
}

/** A control plane for the VIP check: where it is in the stack, its address, and the patches it receives. */
export interface ControlPlaneNetwork {
  readonly index: number;
  readonly address: string;
  readonly patches: readonly StackPatch[];
}

/** Every string in a patch document, wherever it sits. */
function stringsIn(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsIn(v, out);
  else if (value !== null && typeof value === "object")
    for (const v of Object.values(value)) stringsIn(v, out);
  return out;
}

/**
 * The prefix a node's own address carries in its patches (`LinkConfig` `addresses[].address:
 * 192.168.1.10/24`, or the legacy `machine.network.interfaces[].addresses`), if any.
 */
export function declaredPrefix(ip: Ip, patches: readonly StackPatch[]): number | undefined {
  for (const s of patches.flatMap((p) => stringsIn(p.doc))) {
    const [address, bits] = s.split("/");
    const own = bits !== undefined ? parseIp(address) : undefined;
    if (own && own.family === ip.family && own.value === ip.value) return parseCidr(s)?.bits;
  }
  return undefined;
}

/**
 * A warning when the VIP is in none of the control planes' subnets. The leader adds a Layer2 VIP as a
 * host address (/32 or /128) on the named link, announced with gratuitous ARP for IPv4 (siderolabs/talos
 * v1.13.9 internal/app/machined/pkg/controllers/network/operator/vip.go AddressSpecs); the docs
 * (networking/advanced/vip.mdx) require one shared layer-2 segment and a reserved IP. Talos checks only
 * that the VIP parses
 * (pkg/machinery config/types/network/layer2_vip.go Validate): a VIP outside the LAN's subnet is accepted
 * and then unreachable. A warning, not an error, because the prefix is often only assumed.
 */
export function vipSubnetWarning(
  vipAddress: string | undefined,
  controlPlanes: readonly ControlPlaneNetwork[],
): string | undefined {
  const vip = vipAddress === undefined ? undefined : parseIp(vipAddress);
  if (!vip || controlPlanes.length === 0) return undefined;
  const assumed = new Set<string>();
  const subnets = controlPlanes.flatMap((cp) => {
    const ip = parseIp(cp.address);
    if (!ip) return [];
    const declared = declaredPrefix(ip, cp.patches);
    const bits = declared ?? (ip.family === 4 ? 24 : 64);
    if (declared === undefined) assumed.add(`/${bits}`);
    return [{ cp, cidr: networkOf(ip, bits) }];
  });
  if (subnets.some((s) => cidrContains(s.cidr, vip))) return undefined;
  const listed = subnets.map((s) => `nodes[${s.cp.index}] ${formatCidr(s.cidr)}`).join(", ");
  const prefixNote =
    assumed.size > 0
      ? ` (prefix ${[...assumed].join(" and ")} assumed: the stack's patches give no prefix for those addresses; if your LAN's is wider, ignore this)`
      : "";
  return (
    `vip.address: ${vipAddress} is outside every control plane's subnet (${listed})${prefixNote} — ` +
    `Talos adds the VIP to the control planes' link as a single host address, found by ARP/neighbour discovery on that link only, so hosts route to it only inside that subnet: reserve a free IP in the control planes' subnet`
  );
}
