import { describe, expect, test } from "bun:test";
import type { CgroupStats } from "../cgroups/stats.ts";
import type { Subject } from "./discovery.ts";
import { formatDecimalBytes } from "../cgroups/units.ts";
import { DEFAULT_STATS_FORMAT, WIDE_STATS_FORMAT, STATS_HEADINGS, statsFields, statsRecord, stoppedStatsRecord, type Sample } from "./stats.ts";
import { alignColumns, parseTemplate } from "./template.ts";

const ID = "4f3c2b1a".repeat(8);
const subject: Subject = { kind: "container", id: ID, name: "web", runtime: "podman", pid: 42, cgroup: "/machine.slice/x", pids: [42] };
const MiB = 1024 * 1024;

function stats(cpuUsec: number, periods: number, throttled: number, memory: Partial<NonNullable<CgroupStats["memory"]>> = {}): CgroupStats {
  return {
    cpu: { usageUsec: cpuUsec, userUsec: 0, systemUsec: 0, nrPeriods: periods, nrThrottled: throttled, throttledUsec: throttled * 90_000, limitCpus: 0.1 },
    memory: {
      usage: 10 * MiB, limit: 32 * MiB, anon: 6 * MiB, file: 4 * MiB, inactiveFile: 3 * MiB, workingSet: 7 * MiB, stat: {}, oomKill: 2, levels: [],
      ...memory,
    },
    pids: { current: 3, limit: 100, eventsMax: 0 },
    io: [{ major: 8, minor: 0, readBytes: 1000, writeBytes: 2000, readOps: 1, writeOps: 2 }, { major: 8, minor: 16, readBytes: 500, writeBytes: 0, readOps: 1, writeOps: 0 }],
    psi: { cpu: { some: { avg10: 12.5, avg60: 0, avg300: 0, total: 0 } } },
  };
}
const sample = (at: number, s: CgroupStats, net: Sample["net"] = { rx: 1500, tx: 648 }): Sample => ({ at, stats: s, net });

describe("statsRecord", () => {
  const r = statsRecord(subject, sample(1000, stats(1_000_000, 100, 10)), sample(3000, stats(1_500_000, 120, 30)), { hostMemory: 8192 * MiB });

  test("CPU % is the usage over the window's wall time; 100% is one CPU", () => {
    expect(r.window).toBe(2);
    expect(r.cpu?.percent).toBe(25);
    expect(r.cpu?.usageSeconds).toBe(1.5);
  });
  test("THROTTLED % is the share of the window's periods that were throttled, with the counts", () => {
    expect(r.cpu).toMatchObject({ throttledPercent: 100, periods: 20, throttledPeriods: 20, throttledSeconds: 1.8, limitCpus: 0.1 });
  });
  test("no period in the window (no quota, or idle): no throttling figure", () => {
    const idle = statsRecord(subject, sample(0, stats(5, 7, 1)), sample(1000, stats(5, 7, 1)), { hostMemory: 1 });
    expect(idle.cpu?.throttledPercent).toBeNull();
    expect(idle.cpu?.percent).toBe(0);
  });
  test("memory as docker shows it (usage − inactive_file), with the kernel's figures beside it", () => {
    expect(r.memory).toEqual({
      usage: 7 * MiB, limit: 32 * MiB, limitSet: true, percent: 21.88, raw: 10 * MiB, workingSet: 7 * MiB,
      anon: 6 * MiB, file: 4 * MiB, inactiveFile: 3 * MiB, oomKills: 2,
    });
  });
  test("no memory limit: the percentage is of the host's memory", () => {
    const free = statsRecord(subject, sample(0, stats(0, 0, 0)), sample(1000, stats(0, 0, 0, { limit: null })), { hostMemory: 70 * MiB });
    expect(free.memory).toMatchObject({ limit: 70 * MiB, limitSet: false, percent: 10 });
  });
  test("block I/O sums every device; pids, PSI and the network come through", () => {
    expect(r.block).toEqual({ read: 1500, write: 2000 });
    expect(r.pids).toEqual({ current: 3, limit: 100 });
    expect(r.psi).toEqual({ cpu: 12.5, memory: null, io: null });
    expect(r.net).toEqual({ rx: 1500, tx: 648 });
  });
  test("counters that went backwards (a restarted container) give zero, not negative rates", () => {
    const back = statsRecord(subject, sample(0, stats(9_000_000, 500, 400)), sample(1000, stats(1000, 10, 1)), { hostMemory: 1 });
    expect(back.cpu).toMatchObject({ percent: 0, periods: 0, throttledPeriods: 0, throttledPercent: null });
  });
  test("against an empty origin (--interval 0): averages over the whole life", () => {
    const life = statsRecord(subject, { at: 0, stats: {}, net: null }, sample(20_000, stats(2_000_000, 200, 50)), { hostMemory: 1 });
    expect(life.cpu).toMatchObject({ percent: 10, periods: 200, throttledPeriods: 50, throttledPercent: 25 });
  });
  test("a sample that read no limits (the table's) gives records without the CPU and pids limits", () => {
    const s = stats(1_000_000, 10, 0);
    delete s.cpu!.limitCpus;
    delete s.pids!.limit;
    const r = statsRecord(subject, sample(0, s), sample(1000, s), { hostMemory: 1 });
    expect("limitCpus" in r.cpu!).toBe(false);
    expect(r.pids).toEqual({ current: 3 });
  });
  test("where pids.current cannot tell (no pids controller, a root cgroup), the processes counted", () => {
    const s = stats(0, 0, 0);
    delete s.pids;
    expect(statsRecord(subject, sample(0, s), { ...sample(1000, s), procs: 5 }, { hostMemory: 1 }).pids).toEqual({ current: 5, limit: null });
  });
});

describe("statsFields and the default table", () => {
  const r = statsRecord(subject, sample(1000, stats(1_000_000, 100, 10)), sample(3000, stats(1_500_000, 120, 30)), { hostMemory: 8192 * MiB });

  test("the table: docker's columns, within 100 columns as docker's; --format wide: then berth's", () => {
    const t = parseTemplate(DEFAULT_STATS_FORMAT, Object.keys(STATS_HEADINGS));
    const table = alignColumns([t.header(STATS_HEADINGS), t.render(statsFields(r))]).split("\n");
    expect(table).toEqual([
      "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O        BLOCK I/O     PIDS",
      "4f3c2b1a4f3c   web       25.00%    7MiB / 32MiB        21.88%    1.5kB / 648B   1.5kB / 2kB   3",
    ]);
    for (const line of table) expect(line.length).toBeLessThanOrEqual(100);
    const w = parseTemplate(WIDE_STATS_FORMAT, Object.keys(STATS_HEADINGS));
    expect(alignColumns([w.header(STATS_HEADINGS), w.render(statsFields(r))]).split("\n")).toEqual([
      "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O        BLOCK I/O     PIDS      THROTTLED %   PSI CPU   PSI MEM   PSI IO    OOM KILLS",
      "4f3c2b1a4f3c   web       25.00%    7MiB / 32MiB        21.88%    1.5kB / 648B   1.5kB / 2kB   3         100.00%       12.50     -         -         2",
    ]);
  });
  test("engine and runtime, each what it is", () => {
    expect(statsFields({ ...r, runtime: "podman" })).toMatchObject({ Engine: "podman", Runtime: "-" });
    expect(statsFields({ ...r, runtime: "berth", engine: "podman" })).toMatchObject({ Engine: "podman", Runtime: "berth-runtime" });
    expect(statsFields({ ...r, runtime: "berth" })).toMatchObject({ Engine: "-", Runtime: "berth-runtime" });
  });
  test("what cannot be known shows as -", () => {
    const bare = statsRecord({ kind: "cgroup", id: "/a", name: "/a", pid: 0, cgroup: "/a", pids: [] }, sample(0, {}, null), sample(1000, {}, null), { hostMemory: 1 });
    expect(statsFields(bare)).toMatchObject({ ID: "/a", PID: "-", CPUPerc: "-", MemUsage: "-", MemPerc: "-", NetIO: "-", ThrottledPerc: "-", PSICPU: "-", OOMKills: "-", Runtime: "-" });
  });
  test("--no-trunc keeps the whole id", () => {
    expect(statsFields(r, { noTrunc: true }).ID).toBe(ID);
  });
});

describe("formatDecimalBytes", () => {
  test("go-units HumanSizeWithPrecision(n, 3)", () => {
    expect([0, 648, 1000, 1500, 12_345, 999_499, 1_500_000_000].map(formatDecimalBytes)).toEqual(["0B", "648B", "1kB", "1.5kB", "12.3kB", "999kB", "1.5GB"]);
  });
});

describe("stoppedStatsRecord", () => {
  const stopped = stoppedStatsRecord({ kind: "container", id: ID, name: "gone", runtime: "berth", engine: "berth", pid: 0, cgroup: "", pids: [], stopped: true });
  test("docker's columns show its CLI's zeros over a stopped container's empty stats; berth's own ones show nothing read", () => {
    const t = parseTemplate(WIDE_STATS_FORMAT, Object.keys(STATS_HEADINGS));
    expect(t.render(statsFields(stopped), stopped).split("\t")).toEqual([ID.slice(0, 12), "gone", "0.00%", "0B / 0B", "0.00%", "0B / 0B", "0B / 0B", "0", "-", "-", "-", "-", "-"]);
  });
  test("the record says it is stopped and read nothing", () => {
    expect(stopped).toMatchObject({ stopped: true, pid: 0, cpu: null, memory: null, net: null, block: { read: 0, write: 0 }, pids: { current: 0 } });
  });
});
