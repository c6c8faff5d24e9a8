/**
 * Human units on the command line: sizes (`2g`, `512m`, `0.5g`, `max`), CPU counts
 * (`--cpus 1.5`), cpusets (`0-3,8`), hugepage sizes (`2MB`). Pure.
 */
import { BerthError } from "../errors.ts";

const SIZE_UNITS: Record<string, number> = {
  "": 1, b: 1,
  k: 1024, kb: 1024, kib: 1024,
  m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3,
  t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4,
  p: 1024 ** 5, pb: 1024 ** 5, pib: 1024 ** 5,
};

const SIZE_FORM = "a size such as 512m, 2g, 0.5g, 1048576 or max";

/**
 * Parse a byte size the way docker's `--memory` does (binary units, case-insensitive,
 * decimals allowed). `max` (and `-1`, when `allowUnlimited`) mean unlimited → -1.
 *
 * @example parseSize("2g", "--memory") // → 2147483648
 * @example parseSize("0.5g", "--memory") // → 536870912
 * @example parseSize("max", "--memory") // → -1
 */
export function parseSize(text: string, flag: string, opts: { allowUnlimited?: boolean } = {}): number {
  const allowUnlimited = opts.allowUnlimited ?? true;
  const t = text.trim().toLowerCase();
  if (allowUnlimited && (t === "max" || t === "-1")) return -1;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(t);
  const unit = m ? SIZE_UNITS[m[2]!] : undefined;
  if (!m || unit === undefined) {
    throw new BerthError(`invalid size ${JSON.stringify(text)}; use ${allowUnlimited ? SIZE_FORM : SIZE_FORM.replace(" or max", "")}`, { field: flag });
  }
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw new BerthError(`size ${JSON.stringify(text)} is too large`, { field: flag });
  return bytes;
}

/**
 * `--cpus N`: a positive decimal number of CPUs with at most 5 decimal places
 * (a period of 100000 µs cannot express finer).
 */
export function parseCpuCount(text: string, flag = "--cpus"): number {
  const t = text.trim();
  if (!/^\d+(\.\d{1,5})?$/.test(t) || Number(t) <= 0) {
    throw new BerthError(`invalid CPU count ${JSON.stringify(text)}; use a positive number such as 0.5, 1 or 2.25`, { field: flag });
  }
  return Number(t);
}

/** A non-negative integer flag (`--pids 100`, `--cpu-shares 512`); `max` → -1 when allowed. */
export function parseCount(text: string, flag: string, opts: { allowUnlimited?: boolean; min?: number; max?: number } = {}): number {
  const t = text.trim().toLowerCase();
  if (opts.allowUnlimited && (t === "max" || t === "-1")) return -1;
  const min = opts.min ?? 0;
  const n = /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n) || n < min || (opts.max !== undefined && n > opts.max)) {
    const range = opts.max !== undefined ? `from ${min} to ${opts.max}` : `≥ ${min}`;
    throw new BerthError(`invalid value ${JSON.stringify(text)}; use a whole number ${range}${opts.allowUnlimited ? " or max" : ""}`, { field: flag });
  }
  return n;
}

/**
 * Parse a cpuset list (`0-3,8,10-11`) into sorted unique numbers.
 *
 * @example parseCpuList("0-2,5", "--cpuset-cpus") // → [0, 1, 2, 5]
 */
export function parseCpuList(text: string, field: string): number[] {
  const out = new Set<number>();
  const t = text.trim();
  if (t === "") return [];
  for (const part of t.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) {
      throw new BerthError(`invalid list ${JSON.stringify(text)}; use numbers and ranges such as 0-3,8`, { field });
    }
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

/** The inverse of parseCpuList: `[0,1,2,5]` → `0-2,5`. */
export function formatCpuList(cpus: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    parts.push(i === j ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/**
 * Hugepage size names as cgroup files spell them (`hugetlb.2MB.max`):
 * from the kernel's `hugepages-2048kB` directory names.
 *
 * @example hugepageSizeName(2048) // → "2MB"
 */
export function hugepageSizeName(kib: number): string {
  if (kib >= 1024 * 1024 && kib % (1024 * 1024) === 0) return `${kib / (1024 * 1024)}GB`;
  if (kib >= 1024 && kib % 1024 === 0) return `${kib / 1024}MB`;
  return `${kib}KB`;
}

/** go-units' CustomSize: divide by `base` while it fits, keep `digits` significant digits. */
function humanSize(n: number, base: number, units: readonly string[], digits: number): string {
  let v = n;
  let i = 0;
  while (v >= base && i < units.length - 1) {
    v /= base;
    i++;
  }
  return `${Number(v.toPrecision(digits))}${units[i]}`;
}

const BINARY_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
const DECIMAL_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

/** Bytes in binary units with 4 significant digits, as docker stats prints them (go-units BytesSize). */
export function formatBytes(n: number): string {
  return humanSize(n, 1024, BINARY_UNITS, 4);
}

/**
 * Bytes in decimal units with 3 significant digits, as docker prints NET I/O and BLOCK I/O
 * (go-units HumanSizeWithPrecision): `648B`, `12.3kB`, `1.5GB`.
 */
export function formatDecimalBytes(n: number): string {
  return humanSize(n, 1000, DECIMAL_UNITS, 3);
}
