import { describe, expect, test } from "bun:test";
import type { CgroupStats } from "../cgroups/stats.ts";
import { eventLine, runcStats } from "./events.ts";

const v2: CgroupStats = {
  cpu: { usageUsec: 1500, userUsec: 1000, systemUsec: 500, nrPeriods: 0, nrThrottled: 0, throttledUsec: 0, limitCpus: null },
  memory: {
    usage: 4096, limit: null, peak: 8192, swapUsage: 0, swapLimit: null, high: null, anon: 100, file: 200, inactiveFile: 0,
    workingSet: 4096, stat: { file: 200, anon: 100 }, oomKill: 0, levels: [],
  },
  pids: { current: 2, limit: null, eventsMax: 0 },
  io: [{ major: 8, minor: 0, readBytes: 10, writeBytes: 0, readOps: 1, writeOps: 0 }],
  hugetlb: { "2MB": { usage: 0, limit: null, failcnt: 0 } },
};

describe("runcStats: runc's types.Stats from the cgroup layer's figures", () => {
  test("v2: nanoseconds, MaxUint64 for max, Go's omitempty, sorted map keys", () => {
    expect(eventLine("stats", "c1", runcStats({ stats: v2, memoryV1: false }))).toBe(
      '{"type":"stats","id":"c1","data":{' +
        '"cpu":{"usage":{"total":1500000,"kernel":500000,"user":1000000},"throttling":{}},' +
        '"memory":{"cache":200,"usage":{"limit":18446744073709551615,"usage":4096,"max":8192,"failcnt":0},' +
        '"swap":{"limit":18446744073709551615,"usage":4096,"failcnt":0},"kernel":{"limit":0,"failcnt":0},"kernelTCP":{"limit":0,"failcnt":0},' +
        '"raw":{"anon":100,"file":200}},' +
        '"pids":{"current":2},' +
        '"blkio":{"ioServiceBytesRecursive":[{"major":8,"op":"Read","value":10},{"major":8,"op":"Write"}],' +
        '"ioServicedRecursive":[{"major":8,"op":"Read","value":1},{"major":8,"op":"Write"}]},' +
        '"hugetlb":{"2MB":{"failcnt":0}}}}\n',
    );
  });

  test("v1: CPU straight from the cpuacct files (ns, per CPU, USER_HZ ticks); memsw is memory+swap", () => {
    const stats: CgroupStats = {
      ...v2,
      memory: { ...v2.memory!, limit: 64 << 20, swapUsage: 1024, swapLimit: 0, failcnt: 3, stat: { cache: 7, rss: 1 } },
      pids: { current: 1, limit: 100, eventsMax: 0 },
      io: [],
    };
    const data = runcStats({
      stats, memoryV1: true,
      v1Cpu: {
        usage: "123456789\n", usagePercpu: "100 200 \n", usageAll: "cpu user system\n0 60 40\n1 150 50\n",
        stat: "user 3\nsystem 2\n", cpuStat: "nr_periods 4\nnr_throttled 1\nthrottled_time 999\n",
      },
    }) as Record<string, Record<string, unknown>>;
    expect(data.cpu).toEqual({
      usage: { total: 123456789, percpu: [100, 200], percpu_kernel: [40, 50], percpu_user: [60, 150], kernel: 20_000_000, user: 30_000_000 },
      throttling: { periods: 4, throttledPeriods: 1, throttledTime: 999 },
    });
    expect(data.memory!.cache).toBe(7);
    expect(data.memory!.usage).toEqual({ limit: 64 << 20, usage: 4096, max: 8192, failcnt: 3 });
    expect(data.memory!.swap).toEqual({ limit: 64 << 20, usage: 5120, failcnt: 0 });
    expect(data.pids).toEqual({ current: 1, limit: 100 });
    expect(data.blkio).toEqual({});
  });

  test("v1 without a limit prints the kernel's own unlimited number", () => {
    const line = eventLine("stats", "c", runcStats({ stats: { memory: { ...v2.memory!, swapUsage: undefined } }, memoryV1: true }));
    expect(line).toContain('"usage":{"limit":9223372036854771712,"usage":4096');
    expect(line).toContain('"swap":{"limit":0,"failcnt":0}');
  });

  test("memory.stat's numbers past 2^53 keep every digit, as runc prints them", () => {
    const line = eventLine("stats", "c", runcStats({ stats: v2, memoryV1: true, memoryStat: "total_rss 5\nhierarchical_memsw_limit 9223372036854771712\ncache 0\n" }));
    expect(line).toContain('"raw":{"cache":0,"hierarchical_memsw_limit":9223372036854771712,"total_rss":5}');
  });

  test("an oom event has no data", () => {
    expect(eventLine("oom", "c1")).toBe('{"type":"oom","id":"c1"}\n');
  });
});
