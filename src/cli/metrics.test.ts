/**
 * `berth metrics`: scrape the endpoint, parse the Prometheus text format strictly, and
 * compare a container's series with its cgroup files.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { detectHostCgroups } from "../cgroups/layout.ts";
import { BERTH, berth, CgroupFixture, MiB, readCgroupNumber, until } from "../../test/observe-fixture.ts";
import { LineStream } from "../../test/line-stream.ts";

setDefaultTimeout(60_000);
const v2 = detectHostCgroups().layout.mode === "v2";
const fx = new CgroupFixture("metrics");
let server: Bun.Subprocess | undefined;
afterAll(() => {
  server?.kill("SIGKILL");
  fx.cleanup();
}, 60_000);

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The text format (exposition 0.0.4), strictly: HELP and TYPE before a family's samples, every line well-formed. */
function parsePrometheus(text: string): { series: Series[]; types: Map<string, string> } {
  const types = new Map<string, string>();
  const series: Series[] = [];
  expect(text.endsWith("\n")).toBe(true);
  for (const line of text.slice(0, -1).split("\n")) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === "TYPE") {
        expect(["counter", "gauge", "untyped", "histogram", "summary"]).toContain(meta[3]!);
        types.set(meta[2]!, meta[3]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\} (\S+)$/.exec(line);
    expect(m, line).not.toBeNull();
    const labels: Record<string, string> = {};
    for (const l of m![2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    expect(types.has(m![1]!), `TYPE before ${m![1]}`).toBe(true);
    series.push({ name: m![1]!, labels, value: Number(m![3]) });
  }
  return { series, types };
}

describe("berth metrics", () => {
  test("a container's series carry cAdvisor's names and labels and equal its cgroup files", async () => {
    const id = "d1".repeat(32);
    const { path } = fx.start(`docker/${id}`, ["sh", "-c", "while :; do :; done"], { cpu: { quota: 10_000, period: 100_000 }, memory: { limit: 64 * MiB }, pids: { limit: 20 } });
    server = Bun.spawn([BERTH, "metrics", "--listen", "127.0.0.1:0"], { stdin: "ignore", stdout: "pipe", stderr: "inherit" });
    const out = new LineStream(server.stdout as ReadableStream<Uint8Array>);
    expect(await until(() => out.lines.length > 0, 20_000)).toBe(true);
    const url = /^serving (http:\/\/127\.0\.0\.1:\d+\/metrics)$/.exec(out.lines[0]!)![1]!;
    expect(await until(() => readCgroupNumber(path, "cpu.stat", "nr_throttled") > 0, 20_000)).toBe(true);

    const before = { periods: readCgroupNumber(path, "cpu.stat", "nr_periods"), throttled: readCgroupNumber(path, "cpu.stat", "nr_throttled") };
    const res = await fetch(url);
    const after = { periods: readCgroupNumber(path, "cpu.stat", "nr_periods"), throttled: readCgroupNumber(path, "cpu.stat", "nr_throttled") };
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const { series, types } = parsePrometheus(await res.text());
    const mine = (name: string) => series.filter((s) => s.name === name && s.labels.id === path);
    const one = (name: string) => {
      const s = mine(name);
      expect(s, name).toHaveLength(1);
      return s[0]!;
    };
    expect(one("container_memory_usage_bytes").labels).toEqual({ id: path, image: "", name: id });
    expect(one("container_cpu_usage_seconds_total").labels.cpu).toBe("total");
    for (const counter of ["container_cpu_usage_seconds_total", "container_cpu_cfs_periods_total", "container_cpu_cfs_throttled_periods_total", "container_cpu_cfs_throttled_seconds_total", "container_oom_events_total"]) {
      expect(types.get(counter)).toBe("counter");
    }
    expect(types.get("container_memory_working_set_bytes")).toBe("gauge");
    expect(one("container_spec_memory_limit_bytes").value).toBe(64 * MiB);
    expect(one("container_spec_cpu_quota").value).toBe(10_000);
    expect(one("container_threads_max").value).toBe(20);
    expect(one("container_processes").value).toBe(1);
    expect(one("container_threads").value).toBe(readCgroupNumber(path, "pids.current"));
    expect(one("container_oom_events_total").value).toBe(v2 ? readCgroupNumber(path, "memory.events", "oom_kill") : readCgroupNumber(path, "memory.oom_control", "oom_kill"));
    const periods = one("container_cpu_cfs_periods_total").value;
    expect(periods).toBeGreaterThanOrEqual(before.periods);
    expect(periods).toBeLessThanOrEqual(after.periods);
    const throttled = one("container_cpu_cfs_throttled_periods_total").value;
    expect(throttled).toBeGreaterThanOrEqual(before.throttled);
    expect(throttled).toBeLessThanOrEqual(after.throttled);
    const ws = one("container_memory_working_set_bytes").value;
    expect(ws).toBeLessThanOrEqual(one("container_memory_usage_bytes").value);
    // PSI where the cgroup has a cgroup2 directory with pressure files
    const psi = mine("container_pressure_cpu_waiting_seconds_total");
    expect(psi.length).toBeLessThanOrEqual(1);
    expect((await fetch(url.replace("/metrics", "/nope"))).status).toBe(404);
  });

  test("a bad --listen is one line, exit 125", () => {
    const r = berth("metrics", "--listen", "localhost");
    expect(r.code).toBe(125);
    expect(r.stderr).toBe('berth: --listen: invalid address "localhost"; use HOST:PORT, e.g. 127.0.0.1:9338\n');
  });
});
