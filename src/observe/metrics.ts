/**
 * `berth metrics`: every discovered container's cgroup counters in the Prometheus text
 * format (exposition format 0.0.4), under cAdvisor's metric names and labels (`id` =
 * the cgroup path, `name`, `image`), so dashboards and alerts written for the kubelet's
 * /metrics/cadvisor work unchanged. Pure: the stats come from metrics-server.ts.
 *
 * As cAdvisor does: CPU in seconds, memory in bytes, `container_spec_memory_limit_bytes`
 * 0 when there is no limit, `container_oom_events_total` from the kernel's oom_kill
 * count, PSI as `container_pressure_{cpu,memory,io}_{waiting,stalled}_seconds_total`
 * (waiting = PSI "some", stalled = "full").
 */
import type { CgroupStats } from "../cgroups/stats.ts";
import type { InterfaceCounters } from "./netdev.ts";

export interface MetricsContainer {
  /** cAdvisor's `id`: the cgroup path */
  id: string;
  name: string;
  image?: string;
  runtime?: string;
  stats: CgroupStats;
  /** processes in the cgroup (cgroup.procs, recursive) */
  processes: number;
  /** the network namespace's interfaces; absent when it shares the host's */
  net?: Record<string, InterfaceCounters>;
  /** seconds since the epoch the init started */
  startTime?: number;
}

type Kind = "counter" | "gauge";
interface Family {
  help: string;
  type: Kind;
  samples: { labels: Record<string, string>; value: number }[];
}

/** A label value escaped as the text format wants: backslash, double quote and newline. */
export function escapeLabel(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/**
 * @example renderMetrics([{ id: "/berth/web", name: "web", stats, processes: 1 }])
 * // → "# HELP container_cpu_usage_seconds_total …\n# TYPE … counter\ncontainer_cpu_usage_seconds_total{cpu=\"total\",id=\"/berth/web\",image=\"\",name=\"web\"} 1.5\n…"
 */
export function renderMetrics(containers: MetricsContainer[]): string {
  const families = new Map<string, Family>();
  const add = (metric: string, type: Kind, help: string, labels: Record<string, string>, value: number | undefined) => {
    if (value === undefined) return;
    const f = families.get(metric) ?? { help, type, samples: [] };
    f.samples.push({ labels, value });
    families.set(metric, f);
  };
  for (const c of containers) {
    const base = { id: c.id, image: c.image ?? "", name: c.name };
    const s = c.stats;
    const cpu = s.cpu;
    if (cpu) {
      add("container_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed in seconds.", { ...base, cpu: "total" }, cpu.usageUsec / 1e6);
      add("container_cpu_user_seconds_total", "counter", "Cumulative user cpu time consumed in seconds.", base, cpu.userUsec === undefined ? undefined : cpu.userUsec / 1e6);
      add("container_cpu_system_seconds_total", "counter", "Cumulative system cpu time consumed in seconds.", base, cpu.systemUsec === undefined ? undefined : cpu.systemUsec / 1e6);
      add("container_cpu_cfs_periods_total", "counter", "Number of elapsed enforcement period intervals.", base, cpu.nrPeriods);
      add("container_cpu_cfs_throttled_periods_total", "counter", "Number of throttled period intervals.", base, cpu.nrThrottled);
      add("container_cpu_cfs_throttled_seconds_total", "counter", "Total time duration the container has been throttled.", base, cpu.throttledUsec / 1e6);
      // cAdvisor reports the quota in microseconds per a 100 ms period
      if (typeof cpu.limitCpus === "number") add("container_spec_cpu_quota", "gauge", "CPU quota of the container.", base, Math.round(cpu.limitCpus * 100_000));
    }
    const m = s.memory;
    if (m) {
      add("container_memory_usage_bytes", "gauge", "Current memory usage in bytes, including all memory regardless of when it was accessed", base, m.usage);
      add("container_memory_working_set_bytes", "gauge", "Current working set in bytes.", base, m.workingSet);
      add("container_memory_rss", "gauge", "Size of RSS in bytes.", base, m.anon);
      add("container_memory_cache", "gauge", "Number of bytes of page cache memory.", base, m.file);
      add("container_memory_swap", "gauge", "Container swap usage in bytes.", base, m.swapUsage);
      add("container_memory_max_usage_bytes", "gauge", "Maximum memory usage recorded in bytes", base, m.peak);
      add("container_memory_failcnt", "counter", "Number of memory usage hits limits", base, m.failcnt ?? m.events?.max);
      add("container_oom_events_total", "counter", "Count of out of memory events observed for the container", base, m.oomKill);
      add("container_spec_memory_limit_bytes", "gauge", "Memory limit for the container.", base, m.limit ?? 0);
      add("container_spec_memory_swap_limit_bytes", "gauge", "Memory swap limit for the container.", base, m.swapLimit === undefined ? undefined : (m.swapLimit ?? 0));
    }
    if (s.pids) {
      add("container_threads", "gauge", "Number of threads running inside the container", base, s.pids.current);
      add("container_threads_max", "gauge", "Maximum number of threads allowed inside the container, infinity if value is zero", base, s.pids.limit ?? 0);
    }
    add("container_processes", "gauge", "Number of processes running inside the container.", base, c.processes);
    for (const d of s.io ?? []) {
      const labels = { ...base, device: `${d.major}:${d.minor}` };
      add("container_fs_reads_bytes_total", "counter", "Cumulative count of bytes read", labels, d.readBytes);
      add("container_fs_writes_bytes_total", "counter", "Cumulative count of bytes written", labels, d.writeBytes);
      add("container_fs_reads_total", "counter", "Cumulative count of reads completed", labels, d.readOps);
      add("container_fs_writes_total", "counter", "Cumulative count of writes completed", labels, d.writeOps);
    }
    for (const [iface, n] of Object.entries(c.net ?? {})) {
      if (iface === "lo") continue;
      const labels = { ...base, interface: iface };
      add("container_network_receive_bytes_total", "counter", "Cumulative count of bytes received", labels, n.rxBytes);
      add("container_network_transmit_bytes_total", "counter", "Cumulative count of bytes transmitted", labels, n.txBytes);
      add("container_network_receive_packets_total", "counter", "Cumulative count of packets received", labels, n.rxPackets);
      add("container_network_transmit_packets_total", "counter", "Cumulative count of packets transmitted", labels, n.txPackets);
      add("container_network_receive_packets_dropped_total", "counter", "Cumulative count of packets dropped while receiving", labels, n.rxDropped);
      add("container_network_transmit_packets_dropped_total", "counter", "Cumulative count of packets dropped while transmitting", labels, n.txDropped);
      add("container_network_receive_errors_total", "counter", "Cumulative count of errors encountered while receiving", labels, n.rxErrors);
      add("container_network_transmit_errors_total", "counter", "Cumulative count of errors encountered while transmitting", labels, n.txErrors);
    }
    for (const r of ["cpu", "memory", "io"] as const) {
      const p = s.psi?.[r];
      if (!p) continue;
      add(`container_pressure_${r}_waiting_seconds_total`, "counter", `Total time duration tasks in the container have waited due to ${r} congestion.`, base, p.some.total / 1e6);
      add(`container_pressure_${r}_stalled_seconds_total`, "counter", `Total time duration no tasks in the container could make progress due to ${r} congestion.`, base, p.full ? p.full.total / 1e6 : undefined);
    }
    add("container_start_time_seconds", "gauge", "Start time of the container since unix epoch in seconds.", base, c.startTime);
  }
  const out: string[] = [];
  for (const [metric, f] of [...families.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    out.push(`# HELP ${metric} ${f.help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n")}`, `# TYPE ${metric} ${f.type}`);
    for (const smp of f.samples) {
      const labels = Object.keys(smp.labels).sort().map((k) => `${k}="${escapeLabel(smp.labels[k]!)}"`).join(",");
      out.push(`${metric}{${labels}} ${formatValue(smp.value)}`);
    }
  }
  return out.length > 0 ? `${out.join("\n")}\n` : "";
}
