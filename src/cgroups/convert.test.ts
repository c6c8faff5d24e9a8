import { describe, expect, test } from "bun:test";
import { errorOf } from "../../test/berth-error.ts";
import { blkioWeightToIoWeight, cpuMax, cpusToQuota, DEFAULT_CPU_PERIOD, memorySwapToV2, pidsMax, sharesToWeight, v2Bytes } from "./convert.ts";
import { planResources, type PlanContext } from "./plan.ts";
import { parseCpuCount, parseSize } from "./units.ts";

const GiB = 1024 ** 3;


const v2: PlanContext = {
  v2: { controllers: ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"], hasFile: (f) => f === "memory.swap.max" },
  hostCpus: [0, 1, 2, 3],
  hostMems: [0],
  hugepageSizes: ["2MB"],
};

/** `--cpus` and `--memory` as docker converts them, then planned for a v2 host. */
function dockerRun(cpus: string, memory: string): Record<string, string> {
  const { quota, period } = cpusToQuota(parseCpuCount(cpus));
  const plan = planResources({ cpu: { quota, period }, memory: { limit: parseSize(memory, "--memory") } }, v2);
  return Object.fromEntries(plan.ops.map((op) => [op.kind === "write" ? op.file : op.kind, op.kind === "write" ? op.value : ""]));
}

describe("the seed's docker example on cgroup v2", () => {
  test("--cpus=2 --memory=2g writes cpu.max 200000 100000 and memory.max 2147483648", () => {
    expect(dockerRun("2", "2g")).toEqual({ "cpu.max": "200000 100000", "memory.max": "2147483648" });
  });

  test("--cpus=0.5 --memory=0.5g writes cpu.max 50000 100000 and memory.max 536870912", () => {
    expect(dockerRun("0.5", "0.5g")).toEqual({ "cpu.max": "50000 100000", "memory.max": "536870912" });
  });
});

describe("cpusToQuota", () => {
  test("uses docker's 100 ms period", () => {
    expect(DEFAULT_CPU_PERIOD).toBe(100000);
    expect(cpusToQuota(2)).toEqual({ quota: 200000, period: 100000 });
    expect(cpusToQuota(1.5)).toEqual({ quota: 150000, period: 100000 });
    expect(cpusToQuota(0.00001)).toEqual({ quota: 1, period: 100000 });
  });

  test("scales with a custom period", () => {
    expect(cpusToQuota(0.25, 400000)).toEqual({ quota: 100000, period: 400000 });
  });
});

describe("cpuMax", () => {
  test("writes quota and period, max for no quota", () => {
    expect(cpuMax(200000, 100000)).toBe("200000 100000");
    expect(cpuMax(-1, 50000)).toBe("max 50000");
    expect(cpuMax(undefined, undefined)).toBe("max 100000");
    expect(cpuMax(0, 100000)).toBe("max 100000");
  });
});

describe("sharesToWeight (crun's quadratic fit)", () => {
  const cases: [number, number][] = [
    [0, 0],
    [1, 1],
    [2, 1],
    [512, 59],
    [1024, 100],
    [2048, 174],
    [262144, 10000],
    [500000, 10000],
  ];
  for (const [shares, weight] of cases) {
    test(`shares ${shares} → weight ${weight}`, () => {
      expect(sharesToWeight(shares)).toBe(weight);
    });
  }

  test("is monotonic and stays in 1…10000 over the whole shares range", () => {
    let prev = sharesToWeight(2);
    for (let s = 3; s <= 262144; s++) {
      const w = sharesToWeight(s);
      if (w < prev || w > 10000) throw new Error(`shares ${s} → ${w} after ${prev}`);
      prev = w;
    }
    expect(prev).toBe(10000);
  });
});

describe("blkioWeightToIoWeight (runc's linear map)", () => {
  const cases: [number, number][] = [
    [0, 0],
    [10, 1],
    [100, 910],
    [500, 4950],
    [1000, 10000],
  ];
  for (const [blkio, io] of cases) {
    test(`blkio.weight ${blkio} → io.weight ${io}`, () => {
      expect(blkioWeightToIoWeight(blkio)).toBe(io);
    });
  }
});

describe("memorySwapToV2", () => {
  const F = "linux.resources.memory.swap";

  test("-1 is max", () => {
    expect(memorySwapToV2(-1, GiB)).toBe("max");
    expect(memorySwapToV2(-1, undefined)).toBe("max");
  });

  test("0 and undefined write nothing", () => {
    expect(memorySwapToV2(0, GiB)).toBeUndefined();
    expect(memorySwapToV2(undefined, GiB)).toBeUndefined();
  });

  test("2g of memory+swap with a 1g limit is 1g of swap", () => {
    expect(memorySwapToV2(2 * GiB, GiB)).toBe("1073741824");
  });

  test("memory+swap equal to the limit is no swap", () => {
    expect(memorySwapToV2(GiB, GiB)).toBe("0");
  });

  test("swap below the limit is refused naming linux.resources.memory.swap", () => {
    const err = errorOf(() => memorySwapToV2(GiB / 2, GiB));
    expect(err.field).toBe(F);
    expect(err.message).toBe(`${F}: memory+swap (536870912) must be at least the memory limit (1073741824); it is the total of both`);
  });

  test("swap without a memory limit is refused", () => {
    for (const limit of [undefined, 0, -1]) {
      expect(errorOf(() => memorySwapToV2(GiB, limit)).message)
        .toBe(`${F}: a memory+swap limit needs a memory limit too (linux.resources.memory.limit / --memory)`);
    }
  });

  test("a negative total other than -1 is refused", () => {
    expect(errorOf(() => memorySwapToV2(-2, GiB)).message).toBe(`${F}: invalid -2; use bytes of memory+swap, or -1 for unlimited`);
  });

  test("the caller names the field", () => {
    expect(errorOf(() => memorySwapToV2(1, 2, "--memory-swap")).field).toBe("--memory-swap");
  });
});

describe("v2Bytes and pidsMax", () => {
  test("-1 is max for byte limits", () => {
    expect(v2Bytes(-1)).toBe("max");
    expect(v2Bytes(0)).toBe("0");
    expect(v2Bytes(4096)).toBe("4096");
  });

  test("a pids limit ≤ 0 is max (docker used 0, the spec -1)", () => {
    expect(pidsMax(100)).toBe("100");
    expect(pidsMax(0)).toBe("max");
    expect(pidsMax(-1)).toBe("max");
  });
});
