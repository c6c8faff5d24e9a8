/**
 * Parsers for the cgroup files stats come from. Pure, and tested on real file samples
 * from v1 and v2 kernels. Numbers that do not fit a double exactly (v1's "unlimited"
 * 9223372036854771712) are normalised to `null` = no limit.
 */

/** v1 writes "no limit" as PAGE_COUNTER_MAX pages in bytes; anything ≥ 2^62 is that. */
const V1_UNLIMITED = 2 ** 62;

/** A limit file (`max`, or bytes/count) → number, or null for "no limit". */
export function parseLimit(text: string): number | null {
  const t = text.trim();
  if (t === "max" || t === "" || t === "-1") return null;
  const n = Number(t);
  return Number.isFinite(n) && n < V1_UNLIMITED ? n : null;
}

/** A single-number file (memory.current, pids.current, cpuacct.usage). */
export function parseNumber(text: string): number {
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : 0;
}

/**
 * Flat keyed files: `key value` per line (cpu.stat, memory.stat, memory.events,
 * pids.events, memory.oom_control, cpuacct.stat).
 *
 * @example parseFlatKeyed("nr_periods 10\nnr_throttled 2\n") // → { nr_periods: 10, nr_throttled: 2 }
 */
export function parseFlatKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const sp = line.indexOf(" ");
    if (sp <= 0) continue;
    const n = Number(line.slice(sp + 1).trim());
    if (Number.isFinite(n)) out[line.slice(0, sp)] = n;
  }
  return out;
}

/**
 * Nested keyed files: `MAJ:MIN key=value key=value` (io.stat) or `size key=value`.
 *
 * @example parseNestedKeyed("8:0 rbytes=4096 wbytes=0") // → { "8:0": { rbytes: 4096, wbytes: 0 } }
 */
export function parseNestedKeyed(text: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const line of text.split("\n")) {
    const [key, ...pairs] = line.trim().split(/\s+/);
    if (!key) continue;
    const entry: Record<string, number> = {};
    for (const pair of pairs) {
      const eq = pair.indexOf("=");
      if (eq < 0) continue;
      const v = pair.slice(eq + 1);
      entry[pair.slice(0, eq)] = v === "max" ? Infinity : Number(v);
    }
    out[key] = entry;
  }
  return out;
}

export interface PressureLine {
  avg10: number;
  avg60: number;
  avg300: number;
  /** total stall time in microseconds */
  total: number;
}

export interface Pressure {
  some: PressureLine;
  /** absent in cpu.pressure before Linux 5.13 */
  full?: PressureLine;
}

/**
 * PSI files (cpu.pressure, memory.pressure, io.pressure; /proc/pressure/*).
 *
 * @example parsePressure("some avg10=1.50 avg60=0.20 avg300=0.00 total=12345\n")
 * // → { some: { avg10: 1.5, avg60: 0.2, avg300: 0, total: 12345 } }
 */
export function parsePressure(text: string): Pressure | undefined {
  const lines = parseNestedKeyed(text);
  const line = (k: string): PressureLine | undefined => {
    const e = lines[k];
    return e ? { avg10: e.avg10 ?? 0, avg60: e.avg60 ?? 0, avg300: e.avg300 ?? 0, total: e.total ?? 0 } : undefined;
  };
  const some = line("some");
  if (!some) return undefined;
  const full = line("full");
  return full ? { some, full } : { some };
}

export interface IoDeviceStats {
  major: number;
  minor: number;
  readBytes: number;
  writeBytes: number;
  readOps: number;
  writeOps: number;
}

/** v2 io.stat → per-device counters. */
export function parseIoStat(text: string): IoDeviceStats[] {
  return Object.entries(parseNestedKeyed(text)).map(([dev, e]) => {
    const [major, minor] = dev.split(":").map(Number);
    return {
      major: major ?? 0, minor: minor ?? 0,
      readBytes: e.rbytes ?? 0, writeBytes: e.wbytes ?? 0, readOps: e.rios ?? 0, writeOps: e.wios ?? 0,
    };
  });
}

/**
 * v1 blkio.throttle.io_service_bytes(_recursive) / io_serviced(_recursive):
 * `MAJ:MIN Read N` lines (and a `Total N` line, skipped). Merges bytes and ops files.
 */
export function parseBlkioV1(bytesText: string, opsText: string): IoDeviceStats[] {
  const byDev = new Map<string, IoDeviceStats>();
  const feed = (text: string, read: keyof IoDeviceStats, write: keyof IoDeviceStats) => {
    for (const line of text.split("\n")) {
      const [dev, op, value] = line.trim().split(/\s+/);
      if (!dev || !op || value === undefined || !dev.includes(":")) continue;
      const [major, minor] = dev.split(":").map(Number);
      const e = byDev.get(dev) ?? { major: major!, minor: minor!, readBytes: 0, writeBytes: 0, readOps: 0, writeOps: 0 };
      if (op === "Read") (e[read] as number) = Number(value);
      else if (op === "Write") (e[write] as number) = Number(value);
      byDev.set(dev, e);
    }
  };
  feed(bytesText, "readBytes", "writeBytes");
  feed(opsText, "readOps", "writeOps");
  return [...byDev.values()];
}

/** `cpuacct.stat` is in USER_HZ ticks; everything berth reports is microseconds. */
/**
 * A CPU limit in CPUs from a quota and a period in microseconds: v2's cpu.max
 * ("max 100000", "50000 100000") or v1's cfs_quota_us and cfs_period_us. null when
 * unlimited (max, -1) or unreadable.
 *
 * @example cpuLimitCpus("50000 100000") // → 0.5
 */
export function cpuLimitCpus(quota: string, period?: string): number | null {
  const [q, p = period] = quota.trim().split(/\s+/);
  const n = Number(q);
  const d = Number(p?.trim());
  return q === "max" || !(n > 0) || !(d > 0) ? null : n / d;
}

export function ticksToUsec(ticks: number, hz = 100): number {
  return Math.round((ticks * 1_000_000) / hz);
}
