/**
 * Reading what `berth stats` shows: the subject's cgroup stats (through the cgroup
 * layer, v1, v2 and hybrid alike) and its network namespace's counters, read from
 * /proc/<init>/net/dev — the file shows the namespace of the process it belongs to, so
 * no setns is needed to see inside.
 */
import type { CgroupManager } from "../cgroups/manager.ts";
import type { StatsOptions } from "../cgroups/stats.ts";
import { openCgroup } from "../cgroups/manager.ts";
import { readLink, readText } from "../sys/libc.ts";
import { openProcessCgroups } from "../cgroups/process-cgroup.ts";
import type { Subject } from "./discovery.ts";
import { readProcStat } from "./host-scan.ts";
import { hostNamespaces, parseNsLink } from "./namespaces.ts";
import { netTotals, parseNetDev } from "./netdev.ts";
import { statsRecord, type Sample, type StatsRecord } from "./stats.ts";

/** The cgroup manager for a subject: a process's own paths per hierarchy, else its one path. */
export function cgroupOfSubject(s: Subject): CgroupManager {
  return s.kind === "process" && s.cgroups ? openProcessCgroups(s.cgroups) : openCgroup(s.cgroup, { field: "TARGET" });
}

/** MemTotal in bytes: what "no limit" is out of. */
export function hostMemory(): number {
  const m = /^MemTotal:\s+(\d+) kB$/m.exec(readText("/proc/meminfo"));
  return m ? Number(m[1]) * 1024 : 0;
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
 * (`STATS_TABLE`: no ancestors' limits, no hugetlb — a third fewer files per container);
 * diagnose reads everything.
 */
export function takeSample(s: Subject, cg: CgroupManager, read: StatsOptions = {}): Sample {
  const stats = cg.stats(read);
  // the kernel keeps no pids.current at a hierarchy's root (a host process's cgroup): count instead
  const count = !stats.pids || s.cgroup === "/";
  return { at: performance.now(), stats, net: netOf(s.pid), ...(count && { procs: cg.pids().length }) };
}

/** What `berth stats` reads of each cgroup. */
export const STATS_TABLE: StatsOptions = { levels: false, hugetlb: false, breakdown: false };

/** Seconds since boot, from /proc/uptime. */
export function uptimeSeconds(): number {
  return Number(readText("/proc/uptime").split(" ")[0]);
}

/** Seconds since PID started (clock ticks after boot against `uptime`); 0 when unknown. */
export function secondsSinceStart(pid: number, uptime = uptimeSeconds()): number {
  const stat = pid > 0 ? readProcStat(pid) : undefined;
  // USER_HZ is 100 on every Linux architecture berth runs on (the unit of /proc/PID/stat's starttime)
  return stat ? Math.max(0, uptime - stat.start / 100) : 0;
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
  private readonly host = { hostMemory: hostMemory() };

  sample(subjects: Subject[]): StatsRecord[] {
    const out: StatsRecord[] = [];
    const seen = new Set<string>();
    for (const s of subjects) {
      const key = keyOf(s);
      seen.add(key);
      const cg = this.managers.get(key) ?? cgroupOfSubject(s);
      this.managers.set(key, cg);
      const now = takeSample(s, cg, STATS_TABLE);
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
      const now = takeSample(s, cgroupOfSubject(s), STATS_TABLE);
      const origin: Sample = { at: now.at - secondsSinceStart(s.pid, uptime) * 1000, stats: {}, net: null };
      return statsRecord(s, origin, now, this.host);
    });
  }
}
