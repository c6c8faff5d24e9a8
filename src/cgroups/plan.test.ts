import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { errorOf } from "../../test/berth-error.ts";
import type { LinuxResources } from "../spec/linux-resources.ts";
import { layoutFromMounts } from "./layout.ts";
import { parseMountinfo } from "./mountinfo.ts";
import { planResources, type CgroupOp, type HierarchyFacts, type PlanContext } from "./plan.ts";
import { validateResources } from "../spec/validate-resources.ts";
import { CLIENT_SPECS_DIR } from "../../test/client-specs.ts";

const R = "linux.resources";
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

function facts(controllers: string[], files: string[]): HierarchyFacts {
  const set = new Set(files);
  return { controllers, hasFile: (f) => set.has(f) };
}

/** The files a v1 cgroup has on this host's kernel (checked in /sys/fs/cgroup/<controller>/). */
const V1_FILES = [
  "memory.memsw.limit_in_bytes", "memory.kmem.tcp.limit_in_bytes",
  "cpu.cfs_burst_us", "cpu.rt_period_us", "cpu.rt_runtime_us", "cpu.idle",
  "blkio.weight", "blkio.weight_device", "blkio.leaf_weight", "blkio.leaf_weight_device",
  "hugetlb.2MB.rsvd.limit_in_bytes",
];
const V2_FILES = ["memory.swap.max", "cpu.max.burst", "cpu.idle", "io.weight", "hugetlb.2MB.max", "hugetlb.2MB.rsvd.max", "hugetlb.1GB.max"];
const HOST = { hostCpus: [0, 1, 2, 3], hostMems: [0], hugepageSizes: ["2MB", "1GB"] };

/** A pure v1 host: the hand-written v1 sample's hierarchies plus rdma. */
function v1Context(files = V1_FILES): PlanContext {
  const layout = layoutFromMounts(parseMountinfo(fixture("v1-mountinfo.txt")));
  return { ...HOST, v1: facts([...layout.v1.flatMap((h) => h.controllers), "rdma"], files) };
}

/** The v2 VM: its root cgroup.controllers. */
function v2Context(files = V2_FILES): PlanContext {
  return { ...HOST, v2: facts(fixture("v2-cgroup.controllers").trim().split(" "), files) };
}

/** This host: v1 hierarchies from its mountinfo, hugetlb alone on the unified hierarchy. */
function hybridContext(): PlanContext {
  const layout = layoutFromMounts(parseMountinfo(fixture("hybrid-mountinfo.txt")), fixture("hybrid-unified-cgroup.controllers"));
  return {
    ...HOST,
    v1: facts(layout.v1.flatMap((h) => h.controllers), V1_FILES),
    v2: facts(layout.unified!.controllers, ["hugetlb.2MB.max", "hugetlb.2MB.rsvd.max"]),
  };
}

type Row = [on: string, file: string, value: string];

/** Every op as [on, file, value]; a v2 device filter as [on, "device-filter", rule count]. */
function rows(resources: LinuxResources, ctx: PlanContext): Row[] {
  return planResources(resources, ctx).ops.map((op: CgroupOp): Row =>
    op.kind === "write" ? [op.on, op.file, op.value] : [op.on, "device-filter", String(op.rules.length)]);
}

/** file → spec field, for checking which field each write enforces */
function fieldsOf(resources: LinuxResources, ctx: PlanContext): string[][] {
  return planResources(resources, ctx).ops.map((op) => [op.kind === "write" ? op.file : op.kind, op.field]);
}


function planError(resources: LinuxResources, ctx: PlanContext): string {
  return errorOf(() => planResources(resources, ctx)).message;
}

describe("memory on v1", () => {
  const all: LinuxResources = {
    memory: { limit: GiB, swap: 2 * GiB, reservation: 512 * MiB, kernelTCP: 16 * MiB, swappiness: 10, disableOOMKiller: true, useHierarchy: true },
  };

  test("writes every field to its v1 file in order", () => {
    expect(rows(all, v1Context())).toEqual([
      ["v1", "memory.limit_in_bytes", "1073741824"],
      ["v1", "memory.memsw.limit_in_bytes", "2147483648"],
      ["v1", "memory.soft_limit_in_bytes", "536870912"],
      ["v1", "memory.kmem.tcp.limit_in_bytes", "16777216"],
      ["v1", "memory.swappiness", "10"],
      ["v1", "memory.oom_control", "1"],
      ["v1", "memory.use_hierarchy", "1"],
    ]);
  });

  test("names the spec field of each write", () => {
    expect(fieldsOf(all, v1Context())).toEqual([
      ["memory.limit_in_bytes", `${R}.memory.limit`],
      ["memory.memsw.limit_in_bytes", `${R}.memory.swap`],
      ["memory.soft_limit_in_bytes", `${R}.memory.reservation`],
      ["memory.kmem.tcp.limit_in_bytes", `${R}.memory.kernelTCP`],
      ["memory.swappiness", `${R}.memory.swappiness`],
      ["memory.oom_control", `${R}.memory.disableOOMKiller`],
      ["memory.use_hierarchy", `${R}.memory.useHierarchy`],
    ]);
  });

  test("an unlimited limit makes memsw unlimited too, when the kernel has it", () => {
    expect(rows({ memory: { limit: -1 } }, v1Context())).toEqual([
      ["v1", "memory.limit_in_bytes", "-1"],
      ["v1", "memory.memsw.limit_in_bytes", "-1"],
    ]);
    expect(rows({ memory: { limit: -1 } }, v1Context([]))).toEqual([["v1", "memory.limit_in_bytes", "-1"]]);
  });

  test("swappiness 0 alone is written (it means never swap)", () => {
    expect(rows({ memory: { swappiness: 0 } }, v1Context())).toEqual([["v1", "memory.swappiness", "0"]]);
  });

  test("swappiness -1 and disableOOMKiller false write nothing", () => {
    expect(rows({ memory: { swappiness: -1, disableOOMKiller: false } }, v1Context())).toEqual([]);
  });

  test("useHierarchy false is written as 0", () => {
    expect(rows({ memory: { useHierarchy: false } }, v1Context())).toEqual([["v1", "memory.use_hierarchy", "0"]]);
  });

  test("an explicit swap without swap accounting is refused", () => {
    expect(planError({ memory: { limit: GiB, swap: 2 * GiB } }, v1Context([])))
      .toBe(`${R}.memory.swap: this kernel has no memory.memsw.limit_in_bytes (swap accounting is off; boot with swapaccount=1); remove the field`);
  });

  test("memory+swap below the limit is refused", () => {
    expect(planError({ memory: { limit: 2 * GiB, swap: GiB } }, v1Context()))
      .toBe(`${R}.memory.swap: memory+swap (1073741824) must be at least the memory limit (2147483648); it is the total of both`);
  });

  test("kernelTCP without kmem accounting is refused", () => {
    expect(planError({ memory: { kernelTCP: MiB } }, v1Context([])))
      .toBe(`${R}.memory.kernelTCP: this kernel has no memory.kmem.tcp.limit_in_bytes (kernel built without kmem accounting); remove the field`);
  });

  test("kernel > 0 is a warning, not an error and not a write", () => {
    const plan = planResources({ memory: { kernel: 64 * MiB } }, v1Context());
    expect(plan.ops).toEqual([]);
    expect(plan.warnings).toEqual([{ field: `${R}.memory.kernel`, message: "kernel memory limits are no longer supported by Linux; ignored" }]);
  });
});

describe("memory on v2", () => {
  test("writes memory.max, memory.swap.max as swap − limit, and memory.low", () => {
    expect(rows({ memory: { limit: GiB, swap: 3 * GiB, reservation: 512 * MiB } }, v2Context())).toEqual([
      ["v2", "memory.max", "1073741824"],
      ["v2", "memory.swap.max", "2147483648"],
      ["v2", "memory.low", "536870912"],
    ]);
  });

  test("swap equal to the limit is memory.swap.max 0", () => {
    expect(rows({ memory: { limit: GiB, swap: GiB } }, v2Context())).toEqual([
      ["v2", "memory.max", "1073741824"],
      ["v2", "memory.swap.max", "0"],
    ]);
  });

  test("unlimited memory is max for both memory.max and memory.swap.max", () => {
    expect(rows({ memory: { limit: -1 } }, v2Context())).toEqual([
      ["v2", "memory.max", "max"],
      ["v2", "memory.swap.max", "max"],
    ]);
  });

  test("without memory.swap.max an implied swap is skipped, an explicit one refused", () => {
    expect(rows({ memory: { limit: -1 } }, v2Context([]))).toEqual([["v2", "memory.max", "max"]]);
    expect(planError({ memory: { limit: GiB, swap: 2 * GiB } }, v2Context([])))
      .toBe(`${R}.memory.swap: this kernel has no memory.swap.max (swap accounting is off; boot with swapaccount=1); remove the field`);
  });

  test("swap without a limit is refused naming linux.resources.memory.swap", () => {
    expect(planError({ memory: { swap: GiB } }, v2Context()))
      .toBe(`${R}.memory.swap: a memory+swap limit needs a memory limit too (linux.resources.memory.limit / --memory)`);
  });

  const refused: [string, LinuxResources, string][] = [
    ["swappiness", { memory: { swappiness: 60 } }, `${R}.memory.swappiness: cgroup v2 has no per-cgroup swappiness; remove the field (vm.swappiness is host-wide)`],
    ["swappiness 0", { memory: { limit: GiB, swappiness: 0 } }, `${R}.memory.swappiness: cgroup v2 has no per-cgroup swappiness; remove the field (vm.swappiness is host-wide)`],
    ["disableOOMKiller", { memory: { disableOOMKiller: true } }, `${R}.memory.disableOOMKiller: cgroup v2 cannot disable the OOM killer; remove the field, or raise linux.resources.memory.limit`],
    ["kernelTCP", { memory: { kernelTCP: MiB } }, `${R}.memory.kernelTCP: cgroup v2 has no separate TCP buffer limit (it is part of memory.max); remove the field`],
    ["useHierarchy false", { memory: { useHierarchy: false } }, `${R}.memory.useHierarchy: cgroup v2 accounting is always hierarchical; remove the field or set it to true`],
  ];
  for (const [name, resources, message] of refused) {
    test(`${name} is refused`, () => {
      expect(planError(resources, v2Context())).toBe(message);
    });
  }

  test("useHierarchy true and swappiness -1 are accepted and write nothing", () => {
    expect(rows({ memory: { useHierarchy: true, swappiness: -1 } }, v2Context())).toEqual([]);
  });

  test("kernel > 0 is a warning on v2 too", () => {
    const plan = planResources({ memory: { limit: GiB, kernel: MiB } }, v2Context());
    expect(plan.ops.map((o) => (o.kind === "write" ? o.file : o.kind))).toEqual(["memory.max"]);
    expect(plan.warnings.map((w) => w.field)).toEqual([`${R}.memory.kernel`]);
  });
});

describe("cpu on v1", () => {
  test("writes every field to its v1 file, period before runtime", () => {
    const cpu = { shares: 512, period: 100000, quota: 50000, burst: 10000, realtimePeriod: 1000000, realtimeRuntime: 950000, idle: 0 };
    expect(rows({ cpu }, v1Context())).toEqual([
      ["v1", "cpu.shares", "512"],
      ["v1", "cpu.cfs_period_us", "100000"],
      ["v1", "cpu.cfs_quota_us", "50000"],
      ["v1", "cpu.cfs_burst_us", "10000"],
      ["v1", "cpu.rt_period_us", "1000000"],
      ["v1", "cpu.rt_runtime_us", "950000"],
      ["v1", "cpu.idle", "0"],
    ]);
  });

  test("a quota of -1 removes the limit", () => {
    expect(rows({ cpu: { quota: -1, period: 100000 } }, v1Context())).toEqual([
      ["v1", "cpu.cfs_period_us", "100000"],
      ["v1", "cpu.cfs_quota_us", "-1"],
    ]);
  });

  test("realtime without CONFIG_RT_GROUP_SCHED is refused naming the field", () => {
    expect(planError({ cpu: { realtimeRuntime: 950000 } }, v1Context([])))
      .toBe(`${R}.cpu.realtimeRuntime: this kernel has no cpu.rt_runtime_us (kernel built without CONFIG_RT_GROUP_SCHED); remove the field`);
  });

  test("a quota without a period is written alone, on create and update: the kernel's default period applies (runc takes it)", () => {
    expect(rows({ cpu: { quota: 50000 } }, v1Context())).toEqual([["v1", "cpu.cfs_quota_us", "50000"]]);
    expect(rows({ cpu: { quota: 50000 } }, { ...v1Context(), update: true })).toEqual([["v1", "cpu.cfs_quota_us", "50000"]]);
  });
});

describe("cpu on v2", () => {
  test("converts shares to cpu.weight and writes cpu.max, cpu.max.burst and cpu.idle", () => {
    expect(rows({ cpu: { shares: 1024, quota: 50000, period: 100000, burst: 10000 } }, v2Context())).toEqual([
      ["v2", "cpu.weight", "100"],
      ["v2", "cpu.max", "50000 100000"],
      ["v2", "cpu.max.burst", "10000"],
    ]);
    expect(rows({ cpu: { idle: 1 } }, v2Context())).toEqual([["v2", "cpu.idle", "1"]]);
  });

  test("cpu.max enforces the quota field", () => {
    expect(fieldsOf({ cpu: { quota: 50000, period: 100000 } }, v2Context())).toEqual([["cpu.max", `${R}.cpu.quota`]]);
    expect(fieldsOf({ cpu: { period: 50000 } }, v2Context())).toEqual([["cpu.max", `${R}.cpu.period`]]);
  });

  test("a period alone or a quota of -1 is max with that period", () => {
    expect(rows({ cpu: { period: 50000 } }, v2Context())).toEqual([["v2", "cpu.max", "max 50000"]]);
    expect(rows({ cpu: { quota: -1, period: 100000 } }, v2Context())).toEqual([["v2", "cpu.max", "max 100000"]]);
  });

  test("a lone quota is written alone, keeping the current period (the kernel's 100 ms in a new cgroup)", () => {
    expect(rows({ cpu: { quota: 50000 } }, v2Context())).toEqual([["v2", "cpu.max", "50000"]]);
    expect(rows({ cpu: { quota: 50000 } }, { ...v2Context(), update: true })).toEqual([["v2", "cpu.max", "50000"]]);
    expect(rows({ cpu: { quota: -1 } }, { ...v2Context(), update: true })).toEqual([["v2", "cpu.max", "max"]]);
  });

  for (const key of ["realtimePeriod", "realtimeRuntime"] as const) {
    test(`${key} is refused: v2 has no realtime controller`, () => {
      expect(planError({ cpu: { [key]: 1000 } }, v2Context()))
        .toBe(`${R}.cpu.${key}: cgroup v2 has no realtime CPU controller; remove the field (realtime scheduling needs cgroup v1 with CONFIG_RT_GROUP_SCHED)`);
    });
  }

  test("idle together with shares is refused", () => {
    expect(planError({ cpu: { idle: 1, shares: 512 } }, v2Context()))
      .toBe(`${R}.cpu.idle: cannot set both idle and shares: an idle cgroup has the minimum weight by definition`);
  });

  test("burst on a kernel before 5.14 is refused", () => {
    expect(planError({ cpu: { quota: 50000, period: 100000, burst: 1000 } }, v2Context([])))
      .toBe(`${R}.cpu.burst: this kernel has no cpu.max.burst (CPU burst needs Linux 5.14); remove the field`);
  });
});

describe("cpuset", () => {
  for (const [name, ctx] of [["v1", v1Context()], ["v2", v2Context()], ["hybrid", hybridContext()]] as const) {
    test(`writes normalised cpus and mems on ${name}`, () => {
      const on = name === "v2" ? "v2" : "v1";
      expect(rows({ cpu: { cpus: "3,0-1,1", mems: "0" } }, ctx)).toEqual([
        [on, "cpuset.cpus", "0-1,3"],
        [on, "cpuset.mems", "0"],
      ]);
    });
  }

  test("CPUs outside the host are refused, naming them", () => {
    const err = errorOf(() => planResources({ cpu: { cpus: "2,8-9" } }, v2Context()));
    expect(err.field).toBe(`${R}.cpu.cpus`);
    expect(err.message).toBe(`${R}.cpu.cpus: CPU 8-9 is not on this host; it has 0-3`);
  });

  test("memory nodes outside the host are refused, naming them", () => {
    expect(planError({ cpu: { mems: "1" } }, v1Context())).toBe(`${R}.cpu.mems: memory node 1 is not on this host; it has 0`);
  });
});

describe("pids", () => {
  test("writes pids.max, with max for 0 and -1", () => {
    expect(rows({ pids: { limit: 100 } }, v1Context())).toEqual([["v1", "pids.max", "100"]]);
    expect(rows({ pids: { limit: 0 } }, v2Context())).toEqual([["v2", "pids.max", "max"]]);
    expect(rows({ pids: { limit: -1 } }, hybridContext())).toEqual([["v1", "pids.max", "max"]]);
  });

  test("a host without the pids controller is refused naming linux.resources.pids.limit", () => {
    expect(planError({ pids: { limit: 10 } }, { ...HOST, v2: facts(["cpu", "memory"], []) }))
      .toBe(`${R}.pids.limit: needs the pids controller, which this host does not offer in cgroup.controllers of the cgroup2 root; remove the field or enable the controller`);
  });
});

describe("blockIO on v1", () => {
  const blockIO = {
    weight: 500,
    leafWeight: 300,
    weightDevice: [{ major: 8, minor: 0, weight: 300, leafWeight: 200 }],
    throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }, { major: 8, minor: 16, rate: 2097152 }],
    throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 524288 }],
    throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 1000 }],
    throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 500 }],
  };

  test("writes weights and one throttle line per device", () => {
    expect(rows({ blockIO }, v1Context())).toEqual([
      ["v1", "blkio.weight", "500"],
      ["v1", "blkio.leaf_weight", "300"],
      ["v1", "blkio.weight_device", "8:0 300"],
      ["v1", "blkio.leaf_weight_device", "8:0 200"],
      ["v1", "blkio.throttle.read_bps_device", "8:0 1048576"],
      ["v1", "blkio.throttle.read_bps_device", "8:16 2097152"],
      ["v1", "blkio.throttle.write_bps_device", "8:0 524288"],
      ["v1", "blkio.throttle.read_iops_device", "8:0 1000"],
      ["v1", "blkio.throttle.write_iops_device", "8:0 500"],
    ]);
  });

  test("each throttle line names its device entry", () => {
    const fields = fieldsOf({ blockIO: { throttleReadBpsDevice: blockIO.throttleReadBpsDevice } }, v1Context()).map(([, f]) => f);
    expect(fields).toEqual([`${R}.blockIO.throttleReadBpsDevice[0]`, `${R}.blockIO.throttleReadBpsDevice[1]`]);
  });

  test("a BFQ-only kernel gets blkio.bfq.weight", () => {
    expect(rows({ blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 300 }] } }, v1Context(["blkio.bfq.weight", "blkio.bfq.weight_device"]))).toEqual([
      ["v1", "blkio.bfq.weight", "500"],
      ["v1", "blkio.bfq.weight_device", "8:0 300"],
    ]);
  });

  test("a weight without any weight file is refused", () => {
    expect(planError({ blockIO: { weight: 500 } }, v1Context([])))
      .toBe(`${R}.blockIO.weight: this kernel has no blkio.weight or blkio.bfq.weight (no proportional-weight I/O scheduler (BFQ) on this kernel); remove the field`);
  });

  test("weight 0 (docker's unset) writes nothing", () => {
    expect(rows({ blockIO: { weight: 0 } }, v1Context())).toEqual([]);
  });
});

describe("blockIO on v2", () => {
  test("writes io.max lines, with rate 0 as max", () => {
    const blockIO = {
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
      throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 0 }],
      throttleReadIOPSDevice: [{ major: 8, minor: 16, rate: 1000 }],
      throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 500 }],
    };
    expect(rows({ blockIO }, v2Context())).toEqual([
      ["v2", "io.max", "8:0 rbps=1048576"],
      ["v2", "io.max", "8:0 wbps=max"],
      ["v2", "io.max", "8:16 riops=1000"],
      ["v2", "io.max", "8:16 wiops=500"],
    ]);
  });

  test("a weight goes raw to io.bfq.weight when the file exists", () => {
    const blockIO = { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 300 }] };
    expect(rows({ blockIO }, v2Context(["io.bfq.weight", "io.weight"]))).toEqual([
      ["v2", "io.bfq.weight", "500"],
      ["v2", "io.bfq.weight", "8:0 300"],
    ]);
  });

  test("otherwise a weight is converted for io.weight", () => {
    const blockIO = { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 300 }] };
    expect(rows({ blockIO }, v2Context())).toEqual([
      ["v2", "io.weight", "4950"],
      ["v2", "io.weight", "8:0 2930"],
    ]);
  });

  test("leafWeight is refused", () => {
    expect(planError({ blockIO: { leafWeight: 500 } }, v2Context()))
      .toBe(`${R}.blockIO.leafWeight: cgroup v2 has no leaf weight (it existed only in cgroup v1's CFQ); remove the field`);
    expect(planError({ blockIO: { weightDevice: [{ major: 8, minor: 0, leafWeight: 500 }] } }, v2Context()))
      .toBe(`${R}.blockIO.weightDevice[0].leafWeight: cgroup v2 has no leaf weight; remove the field`);
  });

  test("a weight with neither io.weight nor io.bfq.weight is refused", () => {
    expect(errorOf(() => planResources({ blockIO: { weight: 500 } }, v2Context([]))).field).toBe(`${R}.blockIO.weight`);
  });
});

describe("blockIO on hybrid", () => {
  test("uses v1 blkio on this host", () => {
    expect(rows({ blockIO: { throttleReadBpsDevice: [{ major: 254, minor: 0, rate: 1048576 }] } }, hybridContext()))
      .toEqual([["v1", "blkio.throttle.read_bps_device", "254:0 1048576"]]);
  });

  test("uses v2 io when blkio is not mounted on v1", () => {
    const ctx: PlanContext = { ...HOST, v1: facts(["memory"], []), v2: facts(["io"], ["io.weight"]) };
    expect(rows({ blockIO: { weight: 1000, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1 }] } }, ctx)).toEqual([
      ["v2", "io.weight", "10000"],
      ["v2", "io.max", "8:0 rbps=1"],
    ]);
  });
});

describe("hugepageLimits", () => {
  const hugepageLimits = [{ pageSize: "2MB", limit: 4 * MiB }, { pageSize: "1GB", limit: GiB }];

  test("v1 writes limit_in_bytes, and rsvd where the kernel has it", () => {
    expect(rows({ hugepageLimits }, v1Context())).toEqual([
      ["v1", "hugetlb.2MB.limit_in_bytes", "4194304"],
      ["v1", "hugetlb.2MB.rsvd.limit_in_bytes", "4194304"],
      ["v1", "hugetlb.1GB.limit_in_bytes", "1073741824"],
    ]);
  });

  test("v2 writes .max, and .rsvd.max where the kernel has it", () => {
    expect(rows({ hugepageLimits }, v2Context())).toEqual([
      ["v2", "hugetlb.2MB.max", "4194304"],
      ["v2", "hugetlb.2MB.rsvd.max", "4194304"],
      ["v2", "hugetlb.1GB.max", "1073741824"],
    ]);
  });

  test("on this hybrid host hugetlb is on v2", () => {
    expect(rows({ hugepageLimits: [{ pageSize: "2MB", limit: 0 }] }, hybridContext())).toEqual([
      ["v2", "hugetlb.2MB.max", "0"],
      ["v2", "hugetlb.2MB.rsvd.max", "0"],
    ]);
  });

  test("an unsupported size is refused listing the supported ones", () => {
    expect(planError({ hugepageLimits: [{ pageSize: "2MB", limit: 0 }, { pageSize: "4MB", limit: 0 }] }, v2Context()))
      .toBe(`${R}.hugepageLimits[1].pageSize: page size 4MB is not supported by this kernel; use one of 2MB, 1GB`);
    expect(planError({ hugepageLimits: [{ pageSize: "2MB", limit: 0 }] }, { ...v2Context(), hugepageSizes: [] }))
      .toBe(`${R}.hugepageLimits[0].pageSize: page size 2MB is not supported by this kernel; use one of (none: no hugepages)`);
  });
});

describe("network", () => {
  test("v1 writes net_cls.classid and net_prio.ifpriomap", () => {
    expect(rows({ network: { classID: 1048577, priorities: [{ name: "eth0", priority: 5 }, { name: "lo", priority: 2 }] } }, v1Context())).toEqual([
      ["v1", "net_cls.classid", "1048577"],
      ["v1", "net_prio.ifpriomap", "eth0 5"],
      ["v1", "net_prio.ifpriomap", "lo 2"],
    ]);
  });

  test("a host without net_cls is refused", () => {
    expect(planError({ network: { classID: 1 } }, v2Context()))
      .toBe(`${R}.network.classID: needs the net_cls controller, which this host does not offer in cgroup.controllers of the cgroup2 root; remove the field or enable the controller`);
    expect(planError({ network: { priorities: [{ name: "eth0", priority: 1 }] } }, hybridContext()))
      .toBe(`${R}.network.priorities[0]: needs the net_prio controller, which this host does not offer on any cgroup hierarchy (v1 mounts or cgroup2); remove the field or enable the controller`);
  });
});

describe("rdma", () => {
  test("writes one rdma.max line per device, max for an unset limit", () => {
    expect(rows({ rdma: { mlx5_1: { hcaHandles: 3 }, mlx4_0: { hcaHandles: 2, hcaObjects: 100 } } }, v2Context())).toEqual([
      ["v2", "rdma.max", "mlx5_1 hca_handle=3 hca_object=max"],
      ["v2", "rdma.max", "mlx4_0 hca_handle=2 hca_object=100"],
    ]);
    expect(rows({ rdma: { mlx5_1: { hcaObjects: 7 } } }, v1Context())).toEqual([["v1", "rdma.max", "mlx5_1 hca_handle=max hca_object=7"]]);
  });

  test("a host without rdma is refused naming the device", () => {
    expect(errorOf(() => planResources({ rdma: { mlx5_1: { hcaHandles: 3 } } }, hybridContext())).field).toBe(`${R}.rdma["mlx5_1"]`);
  });
});

describe("unified", () => {
  test("v2 writes the raw file under its controller", () => {
    expect(planResources({ unified: { "memory.high": "1073741824", "cgroup.max.descendants": "10" } }, v2Context()).ops).toEqual([
      { kind: "write", on: "v2", controller: "memory", file: "memory.high", value: "1073741824", field: `${R}.unified["memory.high"]` },
      { kind: "write", on: "v2", controller: "cgroup", file: "cgroup.max.descendants", value: "10", field: `${R}.unified["cgroup.max.descendants"]` },
    ]);
  });

  test("the cgroup's interface files are refused: they move, kill or restructure, they limit nothing", () => {
    for (const file of ["cgroup.procs", "cgroup.threads", "cgroup.kill", "cgroup.subtree_control", "cgroup.type", "cgroup.freeze"]) {
      expect(planError({ unified: { [file]: "1" } }, v2Context()))
        .toBe(`${R}.unified["${file}"]: is the cgroup's interface, not a resource; only controller files (memory.high, pids.max…) and cgroup.max.depth, cgroup.max.descendants may be set`);
    }
  });

  test("a v1-only host is refused", () => {
    expect(planError({ unified: { "memory.high": "max" } }, v1Context()))
      .toBe(`${R}.unified["memory.high"]: raw cgroup v2 keys need a cgroup v2 hierarchy, and this host has only cgroup v1; use the v1 fields of linux.resources instead`);
  });

  test("on hybrid, a key for a controller on v1 says so", () => {
    expect(planError({ unified: { "memory.high": "max" } }, hybridContext()))
      .toBe(`${R}.unified["memory.high"]: the memory controller is on cgroup v1 on this host (hybrid layout); use the v1 fields of linux.resources instead`);
  });

  test("on hybrid, a key for the v2 controller is written to v2", () => {
    expect(rows({ unified: { "hugetlb.2MB.max": "0" } }, hybridContext())).toEqual([["v2", "hugetlb.2MB.max", "0"]]);
  });

  test("a controller missing everywhere is refused", () => {
    expect(planError({ unified: { "net_cls.classid": "1" } }, v2Context()))
      .toBe(`${R}.unified["net_cls.classid"]: the net_cls controller is not available in the cgroup v2 hierarchy; check cgroup.controllers`);
  });
});

describe("devices", () => {
  const devices = [
    { allow: false, access: "rwm" },
    { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
    { allow: true, type: "c", major: 136, access: "rw" },
    { allow: false, type: "b", major: 8, minor: 0, access: "m" },
  ];

  test("v1 writes devices.deny and devices.allow in the listed order", () => {
    expect(rows({ devices }, v1Context())).toEqual([
      ["v1", "devices.deny", "a *:* rwm"],
      ["v1", "devices.allow", "c 1:3 rwm"],
      ["v1", "devices.allow", "c 136:* rw"],
      ["v1", "devices.deny", "b 8:0 m"],
    ]);
    expect(fieldsOf({ devices }, v1Context()).map(([, f]) => f)).toEqual([0, 1, 2, 3].map((i) => `${R}.devices[${i}]`));
  });

  test("v2 gets one device-filter op carrying every rule", () => {
    expect(planResources({ devices }, v2Context()).ops).toEqual([{ kind: "device-filter", on: "v2", controller: "devices", rules: devices, field: `${R}.devices` }]);
  });

  test("this hybrid host uses the v1 devices controller", () => {
    expect(rows({ devices: devices.slice(0, 1) }, hybridContext())).toEqual([["v1", "devices.deny", "a *:* rwm"]]);
  });

  test("a v1-only host without the devices controller is refused", () => {
    expect(errorOf(() => planResources({ devices }, { ...HOST, v1: facts(["memory"], []) })).field).toBe(`${R}.devices`);
  });
});

describe("an empty resources object", () => {
  test("plans nothing on any host", () => {
    for (const ctx of [v1Context(), v2Context(), hybridContext()]) expect(planResources({}, ctx)).toEqual({ ops: [], warnings: [] });
  });
});

describe("the reference client configs", () => {
  const SPECS = CLIENT_SPECS_DIR;
  const resourcesOf = (name: string) => validateResources(JSON.parse(readFileSync(`${SPECS}/${name}.json`, "utf8")).linux.resources);
  const names = ["docker-run", "podman-run", "ctr-run", "cri-sandbox-pause", "cri-container-echo", "cri-container-sleeper"];

  for (const [host, ctx] of [["v1", v1Context()], ["v2", v2Context()], ["hybrid", hybridContext()]] as const) {
    test(`plan without error on ${host}`, () => {
      for (const name of names) {
        try {
          planResources(resourcesOf(name), ctx);
        } catch (err) {
          throw new Error(`${name} on ${host}: ${(err as Error).message}`);
        }
      }
    });
  }

  test("docker run on v2 is only the device filter (shares 0, weight 0, OOM killer on are unset)", () => {
    expect(rows(resourcesOf("docker-run"), v2Context())).toEqual([["v2", "device-filter", "8"]]);
  });

  test("podman run on this hybrid host denies all devices and sets pids.max 2048", () => {
    expect(rows(resourcesOf("podman-run"), hybridContext())).toEqual([
      ["v1", "pids.max", "2048"],
      ["v1", "devices.deny", "a *:* rwm"],
    ]);
  });

  test("the CRI pause sandbox's shares 2 is cpu.weight 1 on v2", () => {
    expect(rows(resourcesOf("cri-sandbox-pause"), v2Context())).toEqual([
      ["v2", "cpu.weight", "1"],
      ["v2", "device-filter", "1"],
    ]);
  });

  test("ctr run's shares 1024 is cpu.weight 100 on v2 and cpu.shares 1024 on v1", () => {
    expect(rows(resourcesOf("ctr-run"), v2Context())[0]).toEqual(["v2", "cpu.weight", "100"]);
    expect(rows(resourcesOf("ctr-run"), v1Context())[0]).toEqual(["v1", "cpu.shares", "1024"]);
  });
});
