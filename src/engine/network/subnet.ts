/**
 * IPv4 subnets for `network create`: parsing, overlap, and the choice of a default
 * network's subnet that clashes with no other engine's default and no route already on
 * the host (/proc/net/route). Pure.
 */
import { BerthError } from "../../errors.ts";

export interface Subnet {
  /** network address as a 32-bit number */
  base: number;
  prefix: number;
}

/** Other engines' default networks, never chosen automatically: docker's, podman's, nerdctl's. */
export const OTHER_ENGINES_DEFAULTS = ["172.17.0.0/16", "10.88.0.0/16", "10.4.0.0/24"];

export function parseIpv4(text: string, flag: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  const parts = m ? m.slice(1).map(Number) : [];
  if (!m || parts.some((p) => p > 255)) throw new BerthError(`invalid IPv4 address ${JSON.stringify(text)}; use a dotted quad such as 10.90.0.1`, { field: flag });
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

const mask = (prefix: number) => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

/** `A.B.C.D/N` with no host bits set. */
export function parseSubnet(text: string, flag: string): Subnet {
  const [addr = "", len, extra] = text.split("/");
  const prefix = Number(len);
  if (extra !== undefined || len === undefined || !/^\d{1,2}$/.test(len) || prefix > 32) throw new BerthError(`invalid subnet ${JSON.stringify(text)}; use CIDR notation such as 10.90.0.0/24`, { field: flag });
  const ip = parseIpv4(addr, flag);
  const base = (ip & mask(prefix)) >>> 0;
  if (base !== ip) throw new BerthError(`invalid subnet ${JSON.stringify(text)}: host bits are set; use ${formatIpv4(base)}/${prefix}`, { field: flag });
  if (prefix > 30) throw new BerthError(`subnet ${text} is too small for a gateway and a container; use /30 or larger`, { field: flag });
  return { base, prefix };
}

export function formatSubnet(s: Subnet): string {
  return `${formatIpv4(s.base)}/${s.prefix}`;
}

export function contains(s: Subnet, ip: number): boolean {
  return ((ip & mask(s.prefix)) >>> 0) === s.base;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return ((a.base & mask(p)) >>> 0) === ((b.base & mask(p)) >>> 0);
}

/** The host's IPv4 routes other than the default route, from /proc/net/route's text (little-endian hex). */
export function parseProcNetRoute(text: string): { iface: string; subnet: Subnet }[] {
  const out: { iface: string; subnet: Subnet }[] = [];
  const le = (hex: string) => {
    const n = Number.parseInt(hex, 16) >>> 0;
    return (((n & 255) << 24) | (((n >>> 8) & 255) << 16) | (((n >>> 16) & 255) << 8) | (n >>> 24)) >>> 0;
  };
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const dst = le(f[1]!);
    const m = le(f[7]!);
    if (m === 0) continue;
    const prefix = Math.clz32(~m >>> 0);
    out.push({ iface: f[0]!, subnet: { base: (dst & mask(prefix)) >>> 0, prefix } });
  }
  return out;
}

/** The first gateway of a subnet (.1). */
export function firstHost(s: Subnet): number {
  return s.base + 1;
}

/**
 * The default network's subnet: the first /24 of 10.90.0.0/16 … 10.99.255.0/24 (`start`
 * picks where to begin, so that separate engine roots spread out) that overlaps none of
 * `taken` — other engines' defaults, the host's routes, this engine's other networks.
 */
export function chooseSubnet(taken: Subnet[], start = 0): Subnet {
  const first = parseIpv4("10.90.0.0", "subnet");
  const count = 10 * 256;
  for (let i = 0; i < count; i++) {
    const candidate = { base: (first + ((start + i) % count) * 256) >>> 0, prefix: 24 };
    if (!taken.some((t) => overlaps(t, candidate))) return candidate;
  }
  throw new BerthError("no free subnet in 10.90.0.0 … 10.99.255.0 for the default network; give one with network create --subnet");
}
