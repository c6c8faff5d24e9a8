/**
 * Reading what `berth stats` shows: the subject's cgroup stats (through the cgroup
 * layer, v1, v2 and hybrid alike) and its network namespace's counters, read from
 * /proc/<init>/net/dev — the file shows the namespace of the process it belongs to, so
 * no setns is needed to see inside.
 */
import { memTotalBytes } from "../sys/host-facts.ts";
import type { CgroupManager } from "../cgroups/manager.ts";
import type { StatsOptions } from "../cgroups/stats.ts";
import { openCgroup } from "../cgroups/open-cgroup.ts";
import { parseNsLink } from "../runtime/process-namespaces.ts";
import { readLink, readText } from "../sys/libc.ts";
import { openProcessCgroups } from "../cgroups/process-cgroup.ts";
import type { Subject } from "./discovery.ts";
import { readProcStat } from "./host-scan.ts";
import { hostNamespaces } from "./namespaces.ts";
import { netTotals, parseNetDev } from "./netdev.ts";
import { statsRecord, stoppedStatsRecord, type Sample, type StatsRecord } from "./stats.ts";

/** The cgroup manager for a subject: a process's own paths per hierarchy, else its one path. */
export function cgroupOfSubject(s: Subject): CgroupManager {
  return s.kind === "process" && s.cgroups ? openProcessCgroups(s.cgroups) : openCgroup(s.cgroup, { field: "TARGET" });
}

/** Bytes through the interfaces of PID's network namespace; null when that is the host's own. */
export function netOf(pid: number): { rx: number; tx: number } | null {
  if (pid <= 0) return null;
  let ns: number | undefined;
  try {
    ns = parseNsLink(readLink(`/proc/${pid}/ns/net`));
  } catch {
    return null;
  }
  if (ns === undefined || ns === hostNamespaces().net) return null;
  try {
    return netTotals(parseNetDev(readText(`/proc/${pid}/net/dev`)));
  } catch {
    return null;
  }
}

/**
 * One sample of a subject. `berth stats` reads only what its table and --format show
 * (`STATS_TABLE`: no ancestors' limits, no hugetlb, no limits the table leaves out —
 * 12 of v1's 24 files per container; `STATS_JSON` adds 4 for the limits); diagnose reads
 * everything.
 */
export function takeSample(s: Subject, cg: CgroupManager, read: StatsOptions = {}): Sample {
  const stats = cg.stats(read);
  // the kernel keeps no pids.current at a hierarchy's root (a host process's cgroup): count instead
  const count = !stats.pids || s.cgroup === "/";
  return { at: performance.now(), stats, net: netOf(s.pid), ...(count && { procs: cg.pids().length }) };
}

/** What `berth stats` reads of each cgroup for its table and templates. */
export const STATS_TABLE: StatsOptions = { levels: false, hugetlb: false, breakdown: false, limits: false };
/** …and for --format json (and {{json .}}), whose records also carry the CPU and pids limits and the memory peak. */
export const STATS_JSON: StatsOptions = { ...STATS_TABLE, limits: true };

/** Seconds since boot, from /proc/uptime. */
export function uptimeSeconds(): number {
  return Number(readText("/proc/uptime").split(" ")[0]);
}

/**
 * Seconds since PID started (clock ticks after boot against `uptime`); 0 when unknown.
 * `start`: the start time discovery already read from /proc/PID/stat.
 */
export function secondsSinceStart(pid: number, uptime = uptimeSeconds(), start?: number): number {
  const ticks = start ?? (pid > 0 ? readProcStat(pid)?.start : undefined);
  // USER_HZ is 100 on every Linux architecture berth runs on (the unit of /proc/PID/stat's starttime)
  return ticks !== undefined ? Math.max(0, uptime - ticks / 100) : 0;
}

const keyOf = (s: Subject) => `${s.kind}\u0000${s.id}`;

/**
 * Keeps each subject's previous sample, so every call after the first gives records over
 * the time since the last one.
 *
 * @example
 * const sampler = new StatsSampler();
 * sampler.sample(subjects);            // the first sample: no records yet
 * await Bun.sleep(1000);
 * const records = sampler.sample(subjects);
 */
export class StatsSampler {
  private readonly previous = new Map<string, Sample>();
  private readonly managers = new Map<string, CgroupManager>();
  private readonly host = { hostMemory: memTotalBytes() };

  /** `read`: what each sample reads (STATS_TABLE, or STATS_JSON for records printed whole) */
  constructor(private readonly read: StatsOptions = STATS_TABLE) {}

  sample(subjects: Subject[]): StatsRecord[] {
    const out: StatsRecord[] = [];
    const seen = new Set<string>();
    for (const s of subjects) {
      if (s.stopped) {
        out.push(stoppedStatsRecord(s));
        continue;
      }
      const key = keyOf(s);
      seen.add(key);
      const cg = this.managers.get(key) ?? cgroupOfSubject(s);
      this.managers.set(key, cg);
      const now = takeSample(s, cg, this.read);
      const before = this.previous.get(key);
      this.previous.set(key, now);
      out.push(statsRecord(s, before ?? now, now, this.host));
    }
    for (const key of [...this.previous.keys()]) {
      if (!seen.has(key)) {
        this.previous.delete(key);
        this.managers.delete(key);
      }
    }
    return out;
  }

  /**
   * One sample per subject, with rates averaged over the subject's life so far: CPU %
   * since its init started (podman's AVG CPU %), THROTTLED % of every period so far. No
   * waiting — what `--no-stream --interval 0` prints.
   */
  sinceStart(subjects: Subject[]): StatsRecord[] {
    const uptime = uptimeSeconds();
    return subjects.map((s) => {
      if (s.stopped) return stoppedStatsRecord(s);
      const now = takeSample(s, cgroupOfSubject(s), this.read);
      const start = s.container && s.pid === s.container.pid ? s.container.start : undefined;
      const origin: Sample = { at: now.at - secondsSinceStart(s.pid, uptime, start) * 1000, stats: {}, net: null };
      return statsRecord(s, origin, now, this.host);
    });
  }
}
