/**
 * One stats shape for v1, v2 and hybrid, in the units operators think in: bytes,
 * microseconds, counts. `null` means "no limit"; a missing section means the host has no
 * such controller (or, for PSI, the kernel has pressure accounting off).
 */
import type { IoDeviceStats, Pressure } from "./stats-parse.ts";

export interface CpuStats {
  usageUsec: number;
  /** absent on v1 when StatsOptions.breakdown is false (two more files there) */
  userUsec?: number;
  systemUsec?: number;
  nrPeriods: number;
  nrThrottled: number;
  throttledUsec: number;
  nrBursts?: number;
  burstUsec?: number;
  /** the configured limit in CPUs (quota/period), null when unlimited; absent when StatsOptions.limits is false */
  limitCpus?: number | null;
}

/** memory.events on v2. v1 has no such file: only oom_kill from memory.oom_control. */
export interface MemoryEvents {
  low: number;
  high: number;
  max: number;
  oom: number;
  oom_kill: number;
  oom_group_kill: number;
}

export interface MemoryLevel {
  /** cgroup path of this level (the container, then each ancestor up to the root) */
  path: string;
  limit: number | null;
  usage: number;
  peak?: number;
  /** v2: memory.events of the level (hierarchical: kills below are counted too) */
  events?: MemoryEvents;
  /** v1: memory.oom_control's oom_kill — counts only kills whose victim sat in this very cgroup */
  oomKill?: number;
}

export interface MemoryStats {
  usage: number;
  limit: number | null;
  /** memory.peak (v2, Linux 5.19+) / memory.max_usage_in_bytes (v1); absent when StatsOptions.limits is false */
  peak?: number;
  swapUsage?: number;
  swapLimit?: number | null;
  /** memory.high (v2) / memory.soft_limit_in_bytes (v1) */
  high?: number | null;
  anon: number;
  file: number;
  inactiveFile: number;
  /** usage − inactive_file, floored at 0: what the kubelet and docker stats call "used" */
  workingSet: number;
  /** every memory.stat field as the kernel names it */
  stat: Record<string, number>;
  events?: MemoryEvents;
  /** v1: failcnt of the memory limit */
  failcnt?: number;
  oomKill: number;
  /** this cgroup and its ancestors, innermost first, to tell which limit was hit (empty when not asked for) */
  levels: MemoryLevel[];
}

export interface PidsStats {
  current: number;
  /** pids.max, null when unlimited; absent when StatsOptions.limits is false */
  limit?: number | null;
  /** times fork/clone failed because pids.max was reached (absent when StatsOptions.breakdown is false) */
  eventsMax?: number;
}

export interface HugetlbStats {
  usage: number;
  limit: number | null;
  /** allocations that failed against the limit (v2 events max / v1 failcnt) */
  failcnt: number;
}

export interface CgroupStats {
  cpu?: CpuStats;
  memory?: MemoryStats;
  pids?: PidsStats;
  io?: IoDeviceStats[];
  hugetlb?: Record<string, HugetlbStats>;
  psi?: { cpu?: Pressure; memory?: Pressure; io?: Pressure };
}

/** What stats() reads beyond the figures a stats table shows; all default to true. */
export interface StatsOptions {
  /**
   * The figures no stats table shows, one file each: the user/system CPU split (v1),
   * swap, memory.high (v2) / soft limit (v1), failcnt (v1), pids.events, I/O operation
   * counts (v1). Without them v1 reads 16 files per container instead of 24.
   */
  breakdown?: boolean;
  /** MemoryStats.levels: every ancestor's limit, usage and OOM kills (4 files per level), to name the limit an OOM kill hit */
  levels?: boolean;
  /** hugetlb usage, limit and failures per page size (3 files per size) */
  hugetlb?: boolean;
  /**
   * The limits and peaks a stats table does not show, one file each: the CPU quota and
   * period (cpu.max on v2), memory.peak / max_usage_in_bytes, pids.max. The memory
   * limit is always read (MEM USAGE / LIMIT shows it).
   */
  limits?: boolean;
}

/** usage − inactive_file, floored at 0 (cAdvisor's working set; docker's "MEM USAGE"). */
export function workingSet(usage: number, inactiveFile: number): number {
  return Math.max(0, usage - inactiveFile);
}

export function emptyMemoryEvents(): MemoryEvents {
  return { low: 0, high: 0, max: 0, oom: 0, oom_kill: 0, oom_group_kill: 0 };
}

export function memoryEventsFrom(flat: Record<string, number>): MemoryEvents {
  const e = emptyMemoryEvents();
  for (const k of Object.keys(e) as (keyof MemoryEvents)[]) e[k] = flat[k] ?? 0;
  return e;
}
