/**
 * `events`: the container's cgroup statistics in runc's JSON shape (runc types/events.go,
 * as runc 1.1 prints it; go-runc's Stats and Events decode it), once with --stats or
 * every --interval, plus an `oom` event whenever the cgroup's OOM-kill count rises.
 * The stream ends when the container's init is gone.
 *
 * The figures come from the cgroup layer's stats (src/cgroups/stats.ts), converted to
 * runc's units: nanoseconds for CPU time, bytes for memory, and for "no limit" the
 * number the kernel itself prints (v1) or Go's MaxUint64 for v2's `max`. On v1 the CPU
 * counters are read from cpuacct directly, because runc reports them in the
 * nanoseconds the files hold and per CPU, which the layer's microsecond figures lose.
 */
import { openCgroup } from "../cgroups/open-cgroup.ts";
import type { CgroupManager } from "../cgroups/manager.ts";
import { readOptional } from "../cgroups/fs.ts";
import { placeOf } from "../cgroups/layout.ts";
import type { CgroupStats } from "../cgroups/stats.ts";
import { parseFlatKeyed } from "../cgroups/stats-parse.ts";
import { BerthError } from "../errors.ts";
import { initAlive, notExist, readState, type SavedState, type Target } from "./state.ts";

/** Go's MaxUint64: what runc reports for a v2 `max`. */
export const V2_UNLIMITED = "18446744073709551615";
/** PAGE_COUNTER_MAX in bytes with 4 KiB pages: what a v1 limit file holds when unlimited. */
export const V1_UNLIMITED = "9223372036854771712";

/** USER_HZ: cpuacct.stat counts in these ticks (runc converts with the same constant). */
const CLOCK_TICKS = 100;
const NS_PER_TICK = 1e9 / CLOCK_TICKS;

/** How often the stream looks for an OOM kill and for the init's exit between stats. */
const POLL_MS = 100;

/** A JSON number that JavaScript cannot hold exactly (uint64 limits), written as is. */
function raw(digits: string): unknown {
  return (JSON as unknown as { rawJSON(s: string): unknown }).rawJSON(digits);
}

/** Go's `omitempty` for the fields runc tags with it: drop zeros and empty lists. */
function omitEmpty(obj: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  for (const k of keys) {
    const v = obj[k];
    if (v === 0 || v === "" || v === undefined || (Array.isArray(v) && v.length === 0)) delete obj[k];
  }
  return obj;
}

/** runc's MemoryEntry: limit and failcnt always, usage and max when not zero. */
function memoryEntry(limit: unknown, usage = 0, max = 0, failcnt = 0): Record<string, unknown> {
  return omitEmpty({ limit, usage, max, failcnt }, ["usage", "max"]);
}

/** The v1 CPU files runc reads, as their text (absent files are undefined). */
export interface V1CpuFiles {
  usage?: string;
  usagePercpu?: string;
  /** cpuacct.usage_all: per CPU user and system nanoseconds */
  usageAll?: string;
  stat?: string;
  cpuStat?: string;
}

export interface RuncStatsSource {
  stats: CgroupStats;
  /** memory is a v1 hierarchy (limits print as v1's number; memsw is memory+swap) */
  memoryV1: boolean;
  /** the v1 cpu/cpuacct files, when CPU is on v1 */
  v1Cpu?: V1CpuFiles;
  /**
   * memory.stat as the kernel wrote it: v1's hierarchical_memsw_limit and friends are
   * past 2^53, and runc prints their exact digits
   */
  memoryStat?: string;
}

/** memory.stat → runc's `raw` map, keys sorted, numbers beyond 2^53 kept digit for digit. */
function rawMemoryStat(text: string): Record<string, unknown> {
  const out: [string, unknown][] = [];
  for (const line of text.split("\n")) {
    const [key, value] = line.trim().split(/\s+/);
    if (!key || value === undefined || !/^\d+$/.test(value)) continue;
    out.push([key, Number.isSafeInteger(Number(value)) ? Number(value) : raw(value)]);
  }
  return Object.fromEntries(out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function cpuSection(src: RuncStatsSource): Record<string, unknown> {
  const f = src.v1Cpu;
  if (f) {
    const ticks = parseFlatKeyed(f.stat ?? "");
    const cpuStat = parseFlatKeyed(f.cpuStat ?? "");
    // usage_all: a "cpu user system" header, then one line per CPU
    const perCpu = (f.usageAll ?? "").trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/).map(Number)).filter((r) => r.length >= 3);
    return {
      usage: omitEmpty({
        total: Number((f.usage ?? "0").trim()),
        percpu: (f.usagePercpu ?? "").trim().split(/\s+/).filter(Boolean).map(Number),
        percpu_kernel: perCpu.map((r) => r[2]!),
        percpu_user: perCpu.map((r) => r[1]!),
        kernel: Math.floor((ticks.system ?? 0) * NS_PER_TICK),
        user: Math.floor((ticks.user ?? 0) * NS_PER_TICK),
      }, ["total", "percpu", "percpu_kernel", "percpu_user"]),
      throttling: omitEmpty({
        periods: cpuStat.nr_periods ?? 0,
        throttledPeriods: cpuStat.nr_throttled ?? 0,
        throttledTime: cpuStat.throttled_time ?? 0,
      }, ["periods", "throttledPeriods", "throttledTime"]),
    };
  }
  const c = src.stats.cpu;
  return {
    usage: omitEmpty({ total: (c?.usageUsec ?? 0) * 1000, kernel: (c?.systemUsec ?? 0) * 1000, user: (c?.userUsec ?? 0) * 1000 }, ["total"]),
    throttling: omitEmpty({
      periods: c?.nrPeriods ?? 0,
      throttledPeriods: c?.nrThrottled ?? 0,
      throttledTime: (c?.throttledUsec ?? 0) * 1000,
    }, ["periods", "throttledPeriods", "throttledTime"]),
  };
}

function memorySection(src: RuncStatsSource): Record<string, unknown> {
  const m = src.stats.memory;
  const unlimited = raw(src.memoryV1 ? V1_UNLIMITED : V2_UNLIMITED);
  const limitOf = (n: number | null | undefined) => (n === null || n === undefined ? unlimited : n);
  if (!m) return { usage: memoryEntry(0), swap: memoryEntry(0), kernel: memoryEntry(0), kernelTCP: memoryEntry(0) };
  // runc reports swap as memory+swap on both versions (v1's memsw; on v2 it adds them
  // up). Without swap accounting v1 has no memsw files (zeros); v2 adds a zero swap.
  const swap = m.swapUsage !== undefined
    ? memoryEntry(m.swapLimit === null || m.limit === null ? unlimited : (m.swapLimit ?? 0) + m.limit, m.swapUsage + m.usage)
    : src.memoryV1 ? memoryEntry(0) : memoryEntry(limitOf(m.limit), m.usage);
  const raw_ = src.memoryStat !== undefined ? rawMemoryStat(src.memoryStat) : Object.fromEntries(Object.keys(m.stat).sort().map((k) => [k, m.stat[k]!]));
  return omitEmpty({
    cache: src.memoryV1 ? (m.stat.cache ?? 0) : (m.stat.file ?? 0),
    usage: memoryEntry(limitOf(m.limit), m.usage, m.peak ?? 0, m.failcnt ?? 0),
    swap,
    kernel: memoryEntry(0),
    kernelTCP: memoryEntry(0),
    raw: Object.keys(raw_).length > 0 ? raw_ : undefined,
  }, ["cache", "raw"]);
}

function blkioSection(stats: CgroupStats): Record<string, unknown> {
  const entries = (read: "readBytes" | "readOps", write: "writeBytes" | "writeOps") =>
    (stats.io ?? []).flatMap((d) => [
      omitEmpty({ major: d.major, minor: d.minor, op: "Read", value: d[read] }, ["major", "minor", "value"]),
      omitEmpty({ major: d.major, minor: d.minor, op: "Write", value: d[write] }, ["major", "minor", "value"]),
    ]);
  return omitEmpty({
    ioServiceBytesRecursive: entries("readBytes", "writeBytes"),
    ioServicedRecursive: entries("readOps", "writeOps"),
  }, ["ioServiceBytesRecursive", "ioServicedRecursive"]);
}

/**
 * The cgroup layer's stats → runc's `types.Stats` (the `data` of a stats event). Pure.
 * Keys in runc's order; Go's map keys (memory.raw, hugetlb) sorted, as encoding/json does.
 */
export function runcStats(src: RuncStatsSource): Record<string, unknown> {
  const { stats } = src;
  const hugetlb: Record<string, unknown> = {};
  for (const size of Object.keys(stats.hugetlb ?? {}).sort()) {
    const h = stats.hugetlb![size]!;
    hugetlb[size] = omitEmpty({ usage: h.usage, failcnt: h.failcnt }, ["usage"]);
  }
  return {
    cpu: cpuSection(src),
    memory: memorySection(src),
    pids: omitEmpty({ current: stats.pids?.current ?? 0, limit: stats.pids?.limit ?? 0 }, ["current", "limit"]),
    blkio: blkioSection(stats),
    hugetlb,
  };
}

/** The v1 hierarchy directory of `controller`, if it is on v1 here. */
function v1Dir(cg: CgroupManager, controller: string): string | undefined {
  return Object.entries(cg.dirs()).find(([key]) => key !== "unified" && key.split(",").includes(controller))?.[1];
}

/** Read the container's statistics now, in runc's shape. */
export function readRuncStats(cg: CgroupManager): Record<string, unknown> {
  const acct = v1Dir(cg, "cpuacct");
  const cpu = v1Dir(cg, "cpu");
  const v1Cpu = acct || cpu ? {
    usage: acct && readOptional(acct, "cpuacct.usage"),
    usagePercpu: acct && readOptional(acct, "cpuacct.usage_percpu"),
    usageAll: acct && readOptional(acct, "cpuacct.usage_all"),
    stat: acct && readOptional(acct, "cpuacct.stat"),
    cpuStat: cpu && readOptional(cpu, "cpu.stat"),
  } : undefined;
  const memoryDir = v1Dir(cg, "memory") ?? cg.dirs().unified;
  return runcStats({
    stats: cg.stats(), memoryV1: placeOf(cg.layout, "memory") !== "unified", v1Cpu,
    memoryStat: memoryDir === undefined ? undefined : readOptional(memoryDir, "memory.stat"),
  });
}

/** How many processes the kernel's OOM killer has killed in the container's cgroup. */
export function oomKills(cg: CgroupManager): number {
  const v1 = v1Dir(cg, "memory");
  if (v1) return parseFlatKeyed(readOptional(v1, "memory.oom_control") ?? "").oom_kill ?? 0;
  const unified = cg.dirs().unified;
  return unified ? parseFlatKeyed(readOptional(unified, "memory.events") ?? "").oom_kill ?? 0 : 0;
}

/** One event line as runc's json.Encoder writes it: compact, newline-terminated. */
export function eventLine(type: "stats" | "oom", id: string, data?: unknown): string {
  return JSON.stringify(data === undefined ? { type, id } : { type, id, data }) + "\n";
}

/** The container's state and cgroup, refusing a stopped container with runc's words. */
export function openRunning(t: Target): { state: SavedState; cg: CgroupManager } {
  const state = readState(t.root, t.id);
  if (!state) throw notExist(t.id);
  if (!initAlive(state)) throw new BerthError(`container with id ${t.id} is not running`);
  return { state, cg: openCgroup(state.cgroupsPath, { systemd: state.systemdCgroup }) };
}

export interface StreamOptions {
  intervalMs: number;
  write(line: string): void;
  /** a stats read that failed; the stream goes on, as runc's does */
  onError(err: unknown): void;
}

/**
 * Stats every `intervalMs` (the first after one interval, as runc's ticker) and an `oom`
 * event whenever the OOM-kill count rises, until the container's init is gone.
 */
export async function streamEvents(t: Target, opts: StreamOptions): Promise<void> {
  const { state, cg } = openRunning(t);
  let seen = oomKills(cg);
  let next = Date.now() + opts.intervalMs;
  for (;;) {
    // Liveness first, then the count: a kill that ends the container is still reported.
    const alive = initAlive(state);
    const kills = oomKills(cg);
    if (kills > seen) {
      opts.write(eventLine("oom", t.id));
      seen = kills;
    }
    if (!alive) return;
    if (Date.now() >= next) {
      try {
        opts.write(eventLine("stats", t.id, readRuncStats(cg)));
      } catch (err) {
        if ((err as { code?: string }).code === "EPIPE") throw err;
        opts.onError(err);
      }
      next = Math.max(next + opts.intervalMs, Date.now());
    }
    await Bun.sleep(Math.max(1, Math.min(POLL_MS, next - Date.now())));
  }
}
