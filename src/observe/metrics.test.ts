import { describe, expect, test } from "bun:test";
import { escapeLabel, renderMetrics } from "./metrics.ts";

const stats = {
  cpu: { usageUsec: 1_500_000, userUsec: 1_000_000, systemUsec: 500_000, nrPeriods: 10, nrThrottled: 4, throttledUsec: 250_000, limitCpus: 0.5 },
  memory: { usage: 4096, limit: null, anon: 1024, file: 2048, inactiveFile: 1024, workingSet: 3072, stat: {}, oomKill: 2, levels: [] },
  pids: { current: 3, limit: null, eventsMax: 0 },
  psi: { cpu: { some: { avg10: 0, avg60: 0, avg300: 0, total: 2_000_000 }, full: { avg10: 0, avg60: 0, avg300: 0, total: 1_000_000 } } },
};

describe("Prometheus text with cAdvisor's names", () => {
  const text = renderMetrics([{ id: '/a"b', name: "web", stats, processes: 2, net: { lo: { rxBytes: 1, rxPackets: 1, rxErrors: 0, rxDropped: 0, txBytes: 1, txPackets: 1, txErrors: 0, txDropped: 0 }, eth0: { rxBytes: 10, rxPackets: 2, rxErrors: 0, rxDropped: 1, txBytes: 20, txPackets: 3, txErrors: 0, txDropped: 0 } } }]);
  const line = (metric: string) => text.split("\n").find((l) => l.startsWith(`${metric}{`));
  test("units and labels as cAdvisor has them", () => {
    expect(line("container_cpu_usage_seconds_total")).toBe('container_cpu_usage_seconds_total{cpu="total",id="/a\\"b",image="",name="web"} 1.5');
    expect(line("container_cpu_cfs_throttled_seconds_total")).toEndWith(" 0.25");
    expect(line("container_spec_cpu_quota")).toEndWith(" 50000");
    expect(line("container_spec_memory_limit_bytes")).toEndWith(" 0");
    expect(line("container_memory_working_set_bytes")).toEndWith(" 3072");
    expect(line("container_oom_events_total")).toEndWith(" 2");
    expect(line("container_processes")).toEndWith(" 2");
    expect(line("container_pressure_cpu_waiting_seconds_total")).toEndWith(" 2");
    expect(line("container_pressure_cpu_stalled_seconds_total")).toEndWith(" 1");
    expect(line("container_network_receive_packets_dropped_total")).toBe('container_network_receive_packets_dropped_total{id="/a\\"b",image="",interface="eth0",name="web"} 1');
    expect(text).not.toContain('interface="lo"');
  });
  test("every family has HELP and TYPE once, before its samples", () => {
    const lines = text.trimEnd().split("\n");
    const types = lines.filter((l) => l.startsWith("# TYPE "));
    expect(new Set(types).size).toBe(types.length);
    for (const l of lines.filter((x) => !x.startsWith("#"))) {
      const metric = l.slice(0, l.indexOf("{"));
      expect(lines.indexOf(`# TYPE ${metric} ${metric.endsWith("_total") ? "counter" : "gauge"}`)).toBeLessThan(lines.indexOf(l));
    }
    expect(renderMetrics([])).toBe("");
    expect(escapeLabel('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
  });
});
