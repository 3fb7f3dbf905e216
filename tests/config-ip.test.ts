import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  canonicalIp,
  cidrContains,
  cidrsOverlap,
  formatCidr,
  formatIp,
  parseCidr,
  parseIp,
  specialRange,
  type Cidr,
  type Ip,
} from "../components/config/ip";

/** Eight 16-bit groups, zeros frequent so that runs to compress are common. */
const groupsArb = fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })), {
  minLength: 8,
  maxLength: 8,
});
const valueOf = (groups: number[]) => groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);

/** One of the many ways to write the same IPv6 address: case, leading zeros, any zero run as `::`. */
const spellingArb = groupsArb.chain((groups) =>
  fc
    .record({
      upper: fc.boolean(),
      pad: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
      compress: fc.nat(),
      dottedTail: fc.boolean(),
    })
    .map(({ upper, pad, compress, dottedTail }) => {
      const text = groups.map((g, i) => (pad[i] ? g.toString(16).padStart(4, "0") : g.toString(16)));
      const runs: [number, number][] = [];
      for (let i = 0; i < 8; i++) {
        for (let j = i + 1; j <= 8 && groups[j - 1] === 0; j++) runs.push([i, j]);
      }
      let written: string;
      if (runs.length > 0 && compress % 3 !== 0) {
        const [s, e] = runs[compress % runs.length];
        written = `${text.slice(0, s).join(":")}::${text.slice(e).join(":")}`;
      } else if (dottedTail) {
        const v4 = [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join(".");
        written = `${text.slice(0, 6).join(":")}:${v4}`;
      } else written = text.join(":");
      return { groups, written: upper ? written.toUpperCase() : written };
    }),
);

/** The WHATWG URL serializer is an independent implementation of the RFC 5952 canonical form. */
const urlCanonical = (v6: string) => new URL(`http://[${v6}]/`).hostname.slice(1, -1);

describe("IPv6 canonical form", () => {
  it("reads every spelling of an address as the same number, and writes it as the URL standard does", () => {
    fc.assert(
      fc.property(spellingArb, ({ groups, written }) => {
        const ip = parseIp(written);
        expect(ip).toEqual({ family: 6, value: valueOf(groups) });
        expect(formatIp(ip!)).toBe(urlCanonical(written));
        expect(canonicalIp(formatIp(ip!))).toBe(formatIp(ip!));
      }),
      { numRuns: 500 },
    );
  });

  it("knows the examples people write", () => {
    expect(canonicalIp("fd00:0:0::1")).toBe("fd00::1");
    expect(canonicalIp("FD00::0001")).toBe("fd00::1");
    expect(canonicalIp("1:0:0:2:0:0:0:3")).toBe("1:0:0:2::3");
    expect(canonicalIp("2001:db8:0:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1");
    expect(canonicalIp("fe80::1%eth0")).toBe("fe80::1");
    expect(canonicalIp("192.168.1.10")).toBe("192.168.1.10");
    for (const bad of ["fd00:::1", "1:2:3:4:5:6:7:8:9", "1::2::3", "300.0.0.1", "host"]) {
      expect(canonicalIp(bad)).toBeUndefined();
    }
  });
});

const v4CidrArb = fc
  .record({ value: fc.integer({ min: 0, max: 2 ** 32 - 1 }), bits: fc.integer({ min: 0, max: 32 }) })
  .map(({ value, bits }) => ({ text: `${formatIp({ family: 4, value: BigInt(value) })}/${bits}`, bits }));

/** First and last address of a network, computed with plain arithmetic (no masks). */
function span(c: Cidr): [bigint, bigint] {
  const size = 2n ** BigInt((c.family === 4 ? 32 : 128) - c.bits);
  const first = (c.base / size) * size;
  return [first, first + size - 1n];
}

describe("CIDRs", () => {
  it("hold exactly the addresses between their first and last address", () => {
    fc.assert(
      fc.property(v4CidrArb, fc.integer({ min: 0, max: 2 ** 32 - 1 }), ({ text }, n) => {
        const c = parseCidr(text)!;
        const [first, last] = span(c);
        expect(c.base).toBe(first);
        const ip: Ip = { family: 4, value: BigInt(n) };
        expect(cidrContains(c, ip)).toBe(ip.value >= first && ip.value <= last);
      }),
      { numRuns: 500 },
    );
  });

  it("overlap exactly when their address ranges intersect, whichever is named first", () => {
    fc.assert(
      fc.property(v4CidrArb, v4CidrArb, (a, b) => {
        const [ca, cb] = [parseCidr(a.text)!, parseCidr(b.text)!];
        const [[a0, a1], [b0, b1]] = [span(ca), span(cb)];
        const intersect = a0 <= b1 && b0 <= a1;
        expect(cidrsOverlap(ca, cb)).toBe(intersect);
        expect(cidrsOverlap(cb, ca)).toBe(intersect);
      }),
      { numRuns: 500 },
    );
  });

  it("never overlap across families, and clear host bits when written with them", () => {
    expect(cidrsOverlap(parseCidr("0.0.0.0/0")!, parseCidr("::/0")!)).toBe(false);
    expect(formatCidr(parseCidr("10.96.3.4/12")!)).toBe("10.96.0.0/12");
    expect(formatCidr(parseCidr("FD00:0:0::5/64")!)).toBe("fd00::/64");
    for (const bad of ["10.0.0.0/33", "10.0.0.0", "10.0.0.0/8/1", "fd00::/129", "x/8"]) {
      expect(parseCidr(bad)).toBeUndefined();
    }
  });
});

describe("special addresses", () => {
  it.each([
    ["0.0.0.0", "unspecified"],
    ["::", "unspecified"],
    ["0:0::0", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.255", "multicast"],
    ["FF02::1", "multicast"],
    ["169.254.10.1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["febf::1", "link-local"],
  ])("%s is %s", (address, kind) => {
    expect(specialRange(parseIp(address)!)?.kind).toBe(kind);
  });

  it.each(["127.168.1.10", "::1", "192.168.1.10", "223.255.255.255", "240.0.0.1", "fec0::1", "fd00::1"])(
    "%s is an ordinary unicast address (loopback included: the engine tier runs stacks on 127.168.x.y)",
    (address) => {
      expect(specialRange(parseIp(address)!)).toBeUndefined();
    },
  );
});
