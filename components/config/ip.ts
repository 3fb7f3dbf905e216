/**
 * IP addresses and CIDRs as numbers, so that the stack checks compare what the network sees rather than
 * how the address was typed: `fd00::1`, `FD00:0:0::1` and `fd00:0000::0001` are one address, and
 * `10.96.0.0/12` contains `10.100.3.4` whatever either looks like.
 */
import { isIP } from "node:net";

export type IpFamily = 4 | 6;

/** An address as a number of 32 (IPv4) or 128 (IPv6) bits. */
export interface Ip {
  readonly family: IpFamily;
  readonly value: bigint;
}

/** A network: its first address (host bits cleared) and prefix length. */
export interface Cidr {
  readonly family: IpFamily;
  readonly base: bigint;
  readonly bits: number;
}

const WIDTH: Record<IpFamily, number> = { 4: 32, 6: 128 };

function parseV4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n);
}

/** The 16-bit groups of an IPv6 address without zone, or undefined. A trailing dotted quad is 2 groups. */
function groupsV6(s: string): number[] | undefined {
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (const [i, piece] of pieces.entries()) {
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseV4(piece);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) out.push(parseInt(piece, 16));
      else return undefined;
    }
    return out;
  };
  const head = groupsOf(halves[0]);
  const tail = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  return missing >= 1 ? [...head, ...Array<number>(missing).fill(0), ...tail] : undefined;
}

/**
 * An IPv4 or IPv6 address (an IPv6 zone such as `%eth0` is dropped: it names the interface, not the
 * address), or undefined when `s` is not one.
 */
export function parseIp(s: string): Ip | undefined {
  const family = isIP(s);
  if (family === 4) {
    const value = parseV4(s);
    return value === undefined ? undefined : { family: 4, value };
  }
  if (family !== 6) return undefined;
  const groups = groupsV6(s.split("%")[0]);
  if (!groups) return undefined;
  return { family: 6, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n) };
}

/**
 * The canonical text of an address (RFC 5952 for IPv6: lower case, no leading zeros, the first longest run
 * of two or more zero groups as `::`).
 */
export function formatIp(ip: Ip): string {
  if (ip.family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((ip.value >> shift) & 0xffn)).join(".");
  }
  const groups = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/** The canonical text of an address, or undefined when `s` is not one. */
export function canonicalIp(s: string): string | undefined {
  const ip = parseIp(s);
  return ip ? formatIp(ip) : undefined;
}

/** The network of `bits` leading bits that holds `ip`. */
export function networkOf(ip: Ip, bits: number): Cidr {
  const width = WIDTH[ip.family];
  const hostBits = BigInt(width - bits);
  return { family: ip.family, base: (ip.value >> hostBits) << hostBits, bits };
}

/** `10.244.0.0/16` as a network (host bits set in the text are cleared), or undefined. */
export function parseCidr(s: string): Cidr | undefined {
  const [address, bits, extra] = s.split("/");
  if (extra !== undefined || bits === undefined || !/^\d{1,3}$/.test(bits)) return undefined;
  const ip = parseIp(address);
  if (!ip || Number(bits) > WIDTH[ip.family]) return undefined;
  return networkOf(ip, Number(bits));
}

export function formatCidr(c: Cidr): string {
  return `${formatIp({ family: c.family, value: c.base })}/${c.bits}`;
}

/** Whether the network holds the address (never across families). */
export function cidrContains(c: Cidr, ip: Ip): boolean {
  return c.family === ip.family && networkOf(ip, c.bits).base === c.base;
}

/** Whether two networks share an address: then the shorter prefix holds the other's first address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const [wide, narrow] = a.bits <= b.bits ? [a, b] : [b, a];
  return cidrContains(wide, { family: narrow.family, value: narrow.base });
}

/** The ranges an address cannot be a node's or a VIP's, with why; loopback is not among them (see below). */
const SPECIAL: readonly { cidr: string; kind: "unspecified" | "multicast" | "link-local" }[] = [
  { cidr: "0.0.0.0/32", kind: "unspecified" },
  { cidr: "::/128", kind: "unspecified" },
  { cidr: "224.0.0.0/4", kind: "multicast" },
  { cidr: "ff00::/8", kind: "multicast" },
  { cidr: "169.254.0.0/16", kind: "link-local" },
  { cidr: "fe80::/10", kind: "link-local" },
];

/**
 * Which special range holds the address (`0.0.0.0/32`, `::/128`, multicast, link-local), with the range.
 * Loopback is deliberately not refused: the engine test tier moves every stack address into 127.0.0.0/8
 * (tests/engine/harness.ts `toLoopback`) so that nothing leaves the machine.
 */
export function specialRange(
  ip: Ip,
): { kind: "unspecified" | "multicast" | "link-local"; range: string } | undefined {
  for (const s of SPECIAL) {
    if (cidrContains(parseCidr(s.cidr)!, ip)) return { kind: s.kind, range: s.cidr };
  }
  return undefined;
}
