/**
 * `berth stats`: one record per container from two samples of its cgroup, in docker's
 * terms plus what docker leaves out — throttling over the sample, PSI, OOM kills. Pure:
 * the samples come from stats-sample.ts.
 *
 * The numbers follow the cgroup files exactly, so they can be checked against them:
 * - CPU %: Δ cpu usage / Δ wall time × 100 (100% = one CPU busy), as podman computes it;
 * - MEM USAGE: usage − inactive_file (v1: total_inactive_file), docker's
 *   calculateMemUsageUnixNoCache and cAdvisor's working set; LIMIT: the cgroup's limit, or
 *   the host's memory when there is none (docker does the same);
 * - THROTTLED %: Δ nr_throttled / Δ nr_periods: of the CFS periods in the sample, the
 *   share in which the quota ran out ("-": no periods, i.e. no CPU limit or idle);
 * - PSI: `some avg10` of cpu/memory/io.pressure ("-" without a v2 cgroup to read it from);
 * - OOM KILLS: memory.events oom_kill (v2, counts descendants) or memory.oom_control
 *   oom_kill (v1, kills in this cgroup itself).
 */
import type { CgroupStats } from "../cgroups/stats.ts";
import { formatBytes, formatDecimalBytes } from "../cgroups/units.ts";
import type { Subject } from "./discovery.ts";

export interface Sample {
  /** milliseconds on a monotonic clock */
  at: number;
  stats: CgroupStats;
  /** bytes through the network namespace's interfaces; null when it is the host's (or unreadable) */
  net: { rx: number; tx: number } | null;
  /** processes counted in the cgroup, where pids.current cannot tell (no pids controller, a root cgroup) */
  procs?: number;
}

export interface StatsRecord {
  id: string;
  name: string;
  kind: Subject["kind"];
  /** discovery's word: the engine that named its cgroup (podman, docker…), or "berth" for berth-runtime */
  runtime?: string;
  /** the engine, when berth-runtime made the container for it */
  engine?: string;
  pid: number;
  cgroup: string;
  /** the sample window in seconds */
  window: number;
  cpu: {
    percent: number;
    usageSeconds: number;
    /** absent when the sample did not read limits (StatsOptions.limits: the table shows none) */
    limitCpus?: number | null;
    /** share of the window's CFS periods that were throttled; null without periods */
    throttledPercent: number | null;
    periods: number;
    throttledPeriods: number;
    throttledSeconds: number;
  } | null;
  memory: {
    /** docker's MEM USAGE: usage − inactive_file */
    usage: number;
    /** the limit, or the host's memory when unlimited */
    limit: number;
    limitSet: boolean;
    percent: number;
    /** memory.current / memory.usage_in_bytes as the kernel reports it */
    raw: number;
    workingSet: number;
    anon: number;
    file: number;
    inactiveFile: number;
    peak?: number;
    oomKills: number;
  } | null;
  net: { rx: number; tx: number } | null;
  block: { read: number; write: number };
  /** limit: absent when the sample did not read limits */
  pids: { current: number; limit?: number | null };
  /** PSI some avg10 (percent of the last 10 s some task stalled) */
  psi: { cpu: number | null; memory: number | null; io: number | null };
  /** the engine's container with no process: nothing was read, docker's columns show zeros */
  stopped?: true;
}

/**
 * The record of the engine's container that has no process (created, exited): docker's
 * daemon answers a stopped container's stats with an empty object, which its CLI shows as
 * zeros — `0.00%`, `0B / 0B`, `0` — so the row is there rather than an error.
 */
export function stoppedStatsRecord(s: Subject): StatsRecord {
  return {
    id: s.id, name: s.name, kind: s.kind, ...(s.runtime && { runtime: s.runtime }), ...(s.engine && { engine: s.engine }), pid: 0, cgroup: s.cgroup, window: 0,
    cpu: null, memory: null, net: null, block: { read: 0, write: 0 }, pids: { current: 0 }, psi: { cpu: null, memory: null, io: null }, stopped: true,
  };
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * @example statsRecord(subject, before, after, { hostMemory: 8 * 2 ** 30 }).cpu.percent // → 12.5
 */
export function statsRecord(s: Subject, before: Sample, after: Sample, host: { hostMemory: number }): StatsRecord {
  const window = Math.max(0, after.at - before.at) / 1000;
  const c = after.stats.cpu;
  const p = before.stats.cpu;
  let cpu: StatsRecord["cpu"] = null;
  if (c) {
    const periods = Math.max(0, c.nrPeriods - (p?.nrPeriods ?? 0));
    const throttled = Math.max(0, c.nrThrottled - (p?.nrThrottled ?? 0));
    const used = Math.max(0, c.usageUsec - (p?.usageUsec ?? 0));
    cpu = {
      percent: window > 0 ? round((used / 1e6 / window) * 100) : 0,
      usageSeconds: c.usageUsec / 1e6,
      ...(c.limitCpus !== undefined && { limitCpus: c.limitCpus }),
      throttledPercent: periods > 0 ? round((throttled / periods) * 100) : null,
      periods,
      throttledPeriods: throttled,
      throttledSeconds: Math.max(0, c.throttledUsec - (p?.throttledUsec ?? 0)) / 1e6,
    };
  }
  const m = after.stats.memory;
  const limit = m?.limit ?? host.hostMemory;
  const memory: StatsRecord["memory"] = m
    ? {
        usage: m.workingSet, limit, limitSet: m.limit !== null, percent: limit > 0 ? round((m.workingSet / limit) * 100) : 0,
        raw: m.usage, workingSet: m.workingSet, anon: m.anon, file: m.file, inactiveFile: m.inactiveFile,
        ...(m.peak !== undefined && { peak: m.peak }),
        oomKills: m.oomKill,
      }
    : null;
  const io = after.stats.io ?? [];
  const psi = after.stats.psi;
  // no pids controller: no limit (null); a pids controller whose limit was not read: absent
  const pidsLimit = after.stats.pids ? after.stats.pids.limit : null;
  return {
    id: s.id, name: s.name, kind: s.kind, ...(s.runtime && { runtime: s.runtime }), ...(s.engine && { engine: s.engine }), pid: s.pid, cgroup: s.cgroup, window,
    cpu, memory, net: after.net,
    block: { read: io.reduce((n, d) => n + d.readBytes, 0), write: io.reduce((n, d) => n + d.writeBytes, 0) },
    pids: { current: after.procs ?? after.stats.pids?.current ?? 0, ...(pidsLimit !== undefined && { limit: pidsLimit }) },
    psi: { cpu: psi?.cpu?.some.avg10 ?? null, memory: psi?.memory?.some.avg10 ?? null, io: psi?.io?.some.avg10 ?? null },
  };
}

/** Template fields of `berth stats --format` and the heading each has in a table (docker's where docker has one). */
export const STATS_HEADINGS: Record<string, string> = {
  ID: "CONTAINER ID", Name: "NAME", Container: "CONTAINER", Engine: "ENGINE", Runtime: "RUNTIME", PID: "PID", Cgroup: "CGROUP",
  CPUPerc: "CPU %", MemUsage: "MEM USAGE / LIMIT", MemPerc: "MEM %", NetIO: "NET I/O", BlockIO: "BLOCK I/O", PIDs: "PIDS",
  ThrottledPerc: "THROTTLED %", PSICPU: "PSI CPU", PSIMem: "PSI MEM", PSIIO: "PSI IO", OOMKills: "OOM KILLS",
};

/** docker's columns: they fit 100 columns, as docker's table does */
export const DEFAULT_STATS_FORMAT =
  "table {{.ID}}\\t{{.Name}}\\t{{.CPUPerc}}\\t{{.MemUsage}}\\t{{.MemPerc}}\\t{{.NetIO}}\\t{{.BlockIO}}\\t{{.PIDs}}";

/** `--format wide`: docker's columns, then berth's — throttling, pressure, OOM kills (~150 columns) */
export const WIDE_STATS_FORMAT = `${DEFAULT_STATS_FORMAT}\\t{{.ThrottledPerc}}\\t{{.PSICPU}}\\t{{.PSIMem}}\\t{{.PSIIO}}\\t{{.OOMKills}}`;

const pct = (n: number | null | undefined) => (n === null || n === undefined ? "-" : `${n.toFixed(2)}%`);
const avg = (n: number | null) => (n === null ? "-" : n.toFixed(2));

/** A record as the text each template field shows. `noTrunc`: full ids. */
export function statsFields(r: StatsRecord, opts: { noTrunc?: boolean } = {}): Record<string, string> {
  const m = r.memory;
  // docker's CLI over the empty stats of a stopped container: zeros in its columns
  const zeros = r.stopped ? { CPUPerc: "0.00%", MemUsage: "0B / 0B", MemPerc: "0.00%", NetIO: "0B / 0B" } : {};
  return {
    ID: r.kind === "container" && !opts.noTrunc ? r.id.slice(0, 12) : r.id,
    Name: r.name,
    Container: r.kind === "container" ? r.name : r.id,
    // each what it is: podman is an engine, berth-runtime an OCI runtime (podman --runtime berth-runtime is both)
    Engine: r.runtime === "berth" ? r.engine ?? "-" : r.runtime ?? "-",
    Runtime: r.runtime === "berth" ? "berth-runtime" : "-",
    PID: r.pid > 0 ? String(r.pid) : "-",
    Cgroup: r.cgroup,
    CPUPerc: pct(r.cpu?.percent),
    MemUsage: m ? `${formatBytes(m.usage)} / ${formatBytes(m.limit)}` : "-",
    MemPerc: pct(m?.percent),
    NetIO: r.net ? `${formatDecimalBytes(r.net.rx)} / ${formatDecimalBytes(r.net.tx)}` : "-",
    BlockIO: `${formatDecimalBytes(r.block.read)} / ${formatDecimalBytes(r.block.write)}`,
    PIDs: String(r.pids.current),
    ThrottledPerc: pct(r.cpu?.throttledPercent),
    PSICPU: avg(r.psi.cpu),
    PSIMem: avg(r.psi.memory),
    PSIIO: avg(r.psi.io),
    OOMKills: m ? String(m.oomKills) : "-",
    ...zeros,
  };
}
