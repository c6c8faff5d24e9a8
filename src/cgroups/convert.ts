/**
 * The value conversions the container ecosystem agrees on, between docker/OCI numbers
 * (cgroup v1 heritage) and cgroup v2 files. Pure, and each one matches what runc/crun
 * write so that a container limited by berth reads the same as one limited by them.
 */
import { BerthError } from "../errors.ts";

/** The default CFS period, 100 ms, that docker and Kubernetes use. */
export const DEFAULT_CPU_PERIOD = 100_000;

/**
 * cpu.shares (2…262144, default 1024) → cpu.weight (1…10000, default 100), crun's
 * quadratic fit (also runc ≥ 1.3.2): it maps min→min, max→max and the default 1024→100,
 * where the older linear formula sent 1024 to 39. 0 means "unset".
 *
 * @example sharesToWeight(1024) // → 100
 */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  return Math.ceil(10 ** ((l * l + 125 * l) / 612 - 7 / 34));
}

/**
 * blkio.weight (10…1000) → io.weight (1…10000), linear as runc and crun convert it.
 * (io.bfq.weight takes the blkio value unchanged: it has the same 1…1000 range.)
 *
 * @example blkioWeightToIoWeight(500) // → 4950
 */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * OCI/docker `swap` is memory+swap together (v1's memsw); v2's memory.swap.max is swap
 * alone. Returns the memory.swap.max content, or undefined when nothing is to be written.
 *
 * @example memorySwapToV2(2 * GiB, 1 * GiB) // → "1073741824"
 * @example memorySwapToV2(-1, 1 * GiB) // → "max"
 */
export function memorySwapToV2(swap: number | undefined, limit: number | undefined, field = "linux.resources.memory.swap"): string | undefined {
  if (swap === undefined || swap === 0) return undefined;
  if (swap === -1) return "max";
  if (swap < -1) throw new BerthError(`invalid ${swap}; use bytes of memory+swap, or -1 for unlimited`, { field });
  if (limit === undefined || limit === 0 || limit === -1) {
    throw new BerthError("a memory+swap limit needs a memory limit too (linux.resources.memory.limit / --memory)", { field });
  }
  if (swap < limit) {
    throw new BerthError(`memory+swap (${swap}) must be at least the memory limit (${limit}); it is the total of both`, { field });
  }
  return String(swap - limit);
}

/** A v2 byte limit: -1 (OCI "unlimited") is written as `max`. */
export function v2Bytes(n: number): string {
  return n < 0 ? "max" : String(n);
}

/**
 * `--cpus N` → quota and period, as docker converts NanoCPUs.
 *
 * @example cpusToQuota(2) // → { quota: 200000, period: 100000 }
 */
export function cpusToQuota(cpus: number, period = DEFAULT_CPU_PERIOD): { quota: number; period: number } {
  return { quota: Math.round(cpus * period), period };
}

/**
 * cpu.max content from OCI quota/period. A quota ≤ 0 is "no limit" (`max`).
 *
 * @example cpuMax(200000, 100000) // → "200000 100000"
 */
export function cpuMax(quota: number | undefined, period: number | undefined): string {
  const q = quota === undefined || quota <= 0 ? "max" : String(quota);
  return `${q} ${period ?? DEFAULT_CPU_PERIOD}`;
}

/** pids.max content: OCI limit ≤ 0 means unlimited (docker used 0, the spec -1). */
export function pidsMax(limit: number): string {
  return limit > 0 ? String(limit) : "max";
}
