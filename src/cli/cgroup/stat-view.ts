/**
 * The human view of `berth cgroup stat`: one block per controller, values as the kernel
 * counts them, plus rates between two samples when watching. Pure.
 */
import type { CgroupStats, MemoryEvents } from "../../cgroups/stats.ts";
import type { Pressure } from "../../cgroups/stats-parse.ts";
import { formatBytes } from "../../cgroups/units.ts";

const limit = (n: number | null | undefined, fmt: (n: number) => string = formatBytes) => (n === null || n === undefined ? "max" : fmt(n));
const pct = (part: number, whole: number) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : "0.0%");
const secs = (usec: number) => `${(usec / 1e6).toFixed(3)}s`;

function events(e: MemoryEvents): string {
  return `low ${e.low}  high ${e.high}  max ${e.max}  oom ${e.oom}  oom_kill ${e.oom_kill}  oom_group_kill ${e.oom_group_kill}`;
}

function pressure(name: string, p: Pressure | undefined): string | undefined {
  if (!p) return undefined;
  const line = (kind: string, l: Pressure["some"]) =>
    `${kind} avg10=${l.avg10.toFixed(2)} avg60=${l.avg60.toFixed(2)} avg300=${l.avg300.toFixed(2)} total=${secs(l.total)}`;
  return `  ${name.padEnd(7)} ${line("some", p.some)}${p.full ? `\n  ${"".padEnd(7)} ${line("full", p.full)}` : ""}`;
}

export interface StatViewOptions {
  /** the previous sample and the time between them, for rates (watch mode) */
  previous?: CgroupStats;
  intervalMs?: number;
}

/**
 * @example formatStats("/demo", manager.stats())
 */
export function formatStats(path: string, s: CgroupStats, opts: StatViewOptions = {}): string {
  const out: string[] = [`cgroup ${path}`];
  const prev = opts.previous;
  const seconds = (opts.intervalMs ?? 0) / 1000;
  if (s.cpu) {
    const c = s.cpu;
    out.push("cpu");
    out.push(`  usage     ${secs(c.usageUsec)} (user ${secs(c.userUsec ?? 0)}, system ${secs(c.systemUsec ?? 0)})  limit ${c.limitCpus === null ? "max" : `${c.limitCpus} CPUs`}`);
    out.push(`  throttled ${c.nrThrottled} of ${c.nrPeriods} periods (${pct(c.nrThrottled, c.nrPeriods)}), ${secs(c.throttledUsec)} in total` +
      (c.nrBursts !== undefined ? `; bursts ${c.nrBursts} (${secs(c.burstUsec ?? 0)})` : ""));
    if (prev?.cpu && seconds > 0) {
      const periods = c.nrPeriods - prev.cpu.nrPeriods;
      const throttled = c.nrThrottled - prev.cpu.nrThrottled;
      const used = (c.usageUsec - prev.cpu.usageUsec) / 1e6 / seconds;
      out.push(`  now       ${used.toFixed(2)} CPUs, throttled ${pct(throttled, periods)} of the last ${periods} periods`);
    }
  }
  if (s.memory) {
    const m = s.memory;
    out.push("memory");
    out.push(`  usage     ${formatBytes(m.usage)} / ${limit(m.limit)} (${m.limit ? pct(m.usage, m.limit) : "no limit"})  working set ${formatBytes(m.workingSet)}  peak ${m.peak !== undefined ? formatBytes(m.peak) : "n/a"}`);
    out.push(`  anon      ${formatBytes(m.anon)}  file ${formatBytes(m.file)} (inactive ${formatBytes(m.inactiveFile)})` +
      (m.swapUsage !== undefined ? `  swap ${formatBytes(m.swapUsage)} / ${limit(m.swapLimit)}` : ""));
    if (m.events) out.push(`  events    ${events(m.events)}`);
    else out.push(`  oom_kill  ${m.oomKill} (memory.oom_control; cgroup v1 has no memory.events)${m.failcnt !== undefined ? `  failcnt ${m.failcnt}` : ""}`);
    const parents = m.levels.slice(1);
    if (parents.length > 0) {
      out.push("  ancestors");
      for (const l of parents) {
        const kills = l.events ? `oom_kill ${l.events.oom_kill}` : `oom_kill here ${l.oomKill ?? 0}`;
        out.push(`    ${l.path.padEnd(32)} ${formatBytes(l.usage)} / ${limit(l.limit)}  ${kills}`);
      }
    }
  }
  if (s.pids) {
    out.push("pids");
    out.push(`  current   ${s.pids.current} / ${limit(s.pids.limit, String)}  fork failures at the limit ${s.pids.eventsMax}`);
  }
  if (s.io && s.io.length > 0) {
    out.push("io");
    for (const d of s.io) {
      const p = prev?.io?.find((x) => x.major === d.major && x.minor === d.minor);
      const rate = p && seconds > 0 ? `  now read ${formatBytes((d.readBytes - p.readBytes) / seconds)}/s write ${formatBytes((d.writeBytes - p.writeBytes) / seconds)}/s` : "";
      out.push(`  ${`${d.major}:${d.minor}`.padEnd(9)} read ${formatBytes(d.readBytes)} (${d.readOps} ops)  write ${formatBytes(d.writeBytes)} (${d.writeOps} ops)${rate}`);
    }
  }
  if (s.hugetlb) {
    out.push("hugetlb");
    for (const [size, h] of Object.entries(s.hugetlb)) {
      out.push(`  ${size.padEnd(9)} ${formatBytes(h.usage)} / ${limit(h.limit)}  failed allocations ${h.failcnt}`);
    }
  }
  out.push("pressure (PSI)");
  const psi = ["cpu", "memory", "io"].map((k) => pressure(k, s.psi?.[k as "cpu"])).filter(Boolean);
  out.push(...(psi.length > 0 ? (psi as string[]) : ["  not available (kernel without PSI, or psi=0)"]));
  return out.join("\n");
}
