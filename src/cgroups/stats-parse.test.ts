/**
 * Real files: v1-* from a throwaway cgroup on this hybrid host (8 MiB direct write + 4 MiB
 * direct read on vda 254:0, a busy loop under a 10% CFS quota, a 64 MiB allocation OOM-killed
 * under a 16 MiB limit, a fork refused at pids.max 1); v2-* from /sys/fs/cgroup/fx in the
 * cgv2-vm with the same workload on a brd ram disk (1:0), since /tmp there is tmpfs and
 * refuses O_DIRECT.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import {
  cpuLimitCpus, parseBlkioV1, parseFlatKeyed, parseIoStat, parseLimit, parseNestedKeyed, parseNumber, parsePressure, ticksToUsec,
} from "./stats-parse.ts";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

describe("parseLimit", () => {
  test("max, -1 and empty are no limit", () => {
    expect(parseLimit("max\n")).toBeNull();
    expect(parseLimit("-1")).toBeNull();
    expect(parseLimit("")).toBeNull();
  });

  test("v1's unlimited PAGE_COUNTER_MAX is no limit", () => {
    expect(parseLimit("9223372036854771712\n")).toBeNull();
  });

  test("a number is that number", () => {
    expect(parseLimit("16777216\n")).toBe(16777216);
    expect(parseLimit("0")).toBe(0);
  });

  test("garbage is no limit rather than NaN", () => {
    expect(parseLimit("lots")).toBeNull();
  });
});

describe("parseNumber", () => {
  test("reads a single-number file, 0 for garbage", () => {
    expect(parseNumber("425984\n")).toBe(425984);
    expect(parseNumber("")).toBe(0);
    expect(parseNumber("x")).toBe(0);
  });
});

describe("parseFlatKeyed on v1 files", () => {
  test("memory.stat: every key, with the values the workload left", () => {
    const s = parseFlatKeyed(fixture("v1-memory.stat"));
    expect(Object.keys(s)).toHaveLength(42);
    expect(s.cache).toBe(16384);
    expect(s.rss).toBe(0);
    expect(s.pgfault).toBe(4801);
    expect(s.total_pgpgin).toBe(4681);
    expect(s.hierarchical_memory_limit).toBe(16777216);
    expect(s.hierarchical_memsw_limit).toBe(16777216);
  });

  test("memory.oom_control: one OOM kill, not under OOM now", () => {
    expect(parseFlatKeyed(fixture("v1-memory.oom_control"))).toEqual({ oom_kill_disable: 0, under_oom: 0, oom_kill: 1 });
  });

  test("cpu.stat: every period of the busy loop was throttled", () => {
    expect(parseFlatKeyed(fixture("v1-cpu.stat"))).toEqual({
      nr_periods: 44, nr_throttled: 44, throttled_time: 3879522830, nr_bursts: 0, burst_time: 0,
    });
  });

  test("cpuacct.stat: ticks, converted to microseconds at USER_HZ 100", () => {
    const s = parseFlatKeyed(fixture("v1-cpuacct.stat"));
    expect(s).toEqual({ user: 42, system: 1 });
    expect(ticksToUsec(s.user!)).toBe(420000);
    expect(ticksToUsec(s.system!)).toBe(10000);
    expect(ticksToUsec(3, 250)).toBe(12000);
  });

  test("pids.events: one fork refused", () => {
    expect(parseFlatKeyed(fixture("v1-pids.events"))).toEqual({ max: 1 });
  });
});

describe("parseFlatKeyed on v2 files", () => {
  test("cpu.stat: usage and throttling under cpu.max 10000 100000", () => {
    expect(parseFlatKeyed(fixture("v2-cpu.stat"))).toEqual({
      usage_usec: 1554558, user_usec: 1025168, system_usec: 529390,
      nr_periods: 157, nr_throttled: 154, throttled_usec: 13921906, nr_bursts: 0, burst_usec: 0,
    });
  });

  test("memory.events: the OOM kill under memory.max 16M", () => {
    expect(parseFlatKeyed(fixture("v2-memory.events"))).toEqual({ low: 0, high: 0, max: 20, oom: 1, oom_kill: 1, oom_group_kill: 0 });
  });

  test("memory.stat: every key of a 6.x kernel", () => {
    const s = parseFlatKeyed(fixture("v2-memory.stat"));
    expect(Object.keys(s)).toHaveLength(51);
    expect(s.anon).toBe(0);
    expect(s.kernel).toBe(12288);
    expect(s.slab).toBe(3848);
    expect(s.pgfault).toBe(1218);
    expect(s.pgmajfault).toBe(1);
    expect(s.thp_fault_alloc).toBe(7);
  });

  test("pids.events: one fork refused at pids.max 1", () => {
    expect(parseFlatKeyed(fixture("v2-pids.events"))).toEqual({ max: 1 });
  });

  test("skips lines without a number", () => {
    expect(parseFlatKeyed("a 1\nb max\n\nc\n d 2\ne 3")).toEqual({ a: 1, e: 3 });
  });
});

describe("parseNestedKeyed", () => {
  test("reads io.stat into per-device records", () => {
    expect(parseNestedKeyed(fixture("v2-io.stat"))).toEqual({
      "1:0": { rbytes: 4194304, wbytes: 8388608, rios: 4, wios: 8, dbytes: 0, dios: 0 },
    });
  });

  test("max is Infinity and pairs without = are skipped", () => {
    expect(parseNestedKeyed("8:0 rbps=max wbps=1048576 junk\n")).toEqual({ "8:0": { rbps: Infinity, wbps: 1048576 } });
  });

  test("an empty file is an empty record", () => {
    expect(parseNestedKeyed("")).toEqual({});
  });
});

describe("parseIoStat", () => {
  test("reads the VM's ram disk counters", () => {
    expect(parseIoStat(fixture("v2-io.stat"))).toEqual([
      { major: 1, minor: 0, readBytes: 4194304, writeBytes: 8388608, readOps: 4, writeOps: 8 },
    ]);
  });

  test("several devices, missing keys as 0", () => {
    expect(parseIoStat("8:0 rbytes=1 wbytes=2 rios=3 wios=4\n259:1 rbytes=5\n")).toEqual([
      { major: 8, minor: 0, readBytes: 1, writeBytes: 2, readOps: 3, writeOps: 4 },
      { major: 259, minor: 1, readBytes: 5, writeBytes: 0, readOps: 0, writeOps: 0 },
    ]);
  });
});

describe("parseBlkioV1", () => {
  test("merges this host's bytes and ops files for vda, skipping Sync and Total", () => {
    expect(parseBlkioV1(fixture("v1-blkio.throttle.io_service_bytes_recursive"), fixture("v1-blkio.throttle.io_serviced_recursive"))).toEqual([
      { major: 254, minor: 0, readBytes: 4337664, writeBytes: 8388608, readOps: 39, writeOps: 8 },
    ]);
  });

  test("a cgroup that did no I/O has only Total 0 and no devices", () => {
    expect(parseBlkioV1("Total 0\n", "Total 0\n")).toEqual([]);
  });
});

describe("parsePressure", () => {
  test("cpu.pressure of the throttled busy loop", () => {
    expect(parsePressure(fixture("v2-cpu.pressure"))).toEqual({
      some: { avg10: 62.09, avg60: 18.39, avg300: 4.2, total: 12951838 },
      full: { avg10: 62.09, avg60: 18.39, avg300: 4.2, total: 12951838 },
    });
  });

  test("memory.pressure of the OOM", () => {
    expect(parsePressure(fixture("v2-memory.pressure"))).toEqual({
      some: { avg10: 0.9, avg60: 0.16, avg300: 0.03, total: 101762 },
      full: { avg10: 0.9, avg60: 0.16, avg300: 0.03, total: 101762 },
    });
  });

  test("io.pressure with no stall", () => {
    expect(parsePressure(fixture("v2-io.pressure"))?.some).toEqual({ avg10: 0, avg60: 0, avg300: 0, total: 0 });
  });

  test("a kernel before 5.13 has no full line in cpu.pressure", () => {
    expect(parsePressure("some avg10=1.50 avg60=0.20 avg300=0.00 total=12345\n")).toEqual({ some: { avg10: 1.5, avg60: 0.2, avg300: 0, total: 12345 } });
  });

  test("no some line is undefined", () => {
    expect(parsePressure("")).toBeUndefined();
  });
});

describe("cpuLimitCpus", () => {
  test("v2 cpu.max: quota over period, max is none", () => {
    expect(cpuLimitCpus("50000 100000\n")).toBe(0.5);
    expect(cpuLimitCpus("max 100000\n")).toBeNull();
    expect(cpuLimitCpus("150000 50000")).toBe(3);
  });

  test("v1 cfs_quota_us and cfs_period_us: -1 is none; a missing or zero period is none", () => {
    expect(cpuLimitCpus("20000\n", "100000\n")).toBe(0.2);
    expect(cpuLimitCpus("-1\n", "100000\n")).toBeNull();
    expect(cpuLimitCpus("20000", "0")).toBeNull();
    expect(cpuLimitCpus("20000")).toBeNull();
    expect(cpuLimitCpus("")).toBeNull();
  });
});
