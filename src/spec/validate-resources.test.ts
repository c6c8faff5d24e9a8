import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { errorOf } from "../../test/berth-error.ts";
import { validateResources } from "./validate-resources.ts";
import { CLIENT_SPECS_DIR } from "../../test/client-specs.ts";

const R = "linux.resources";
const SPECS = CLIENT_SPECS_DIR;


/** name → linux.resources of every reference client config that has one */
function clientResources(): [string, unknown][] {
  return readdirSync(SPECS)
    .filter((f) => f.endsWith(".json"))
    .map((f): [string, unknown] => [f, JSON.parse(readFileSync(`${SPECS}/${f}`, "utf8")).linux?.resources])
    .filter(([, r]) => r !== undefined);
}

describe("validateResources refuses, naming the exact field", () => {
  const cases: [string, unknown, string, string][] = [
    ["resources not an object", [], R, "got []; use a JSON object"],
    ["memory not an object", { memory: 5 }, `${R}.memory`, "got 5; use a JSON object"],
    ["memory.limit as a string", { memory: { limit: "1g" } }, `${R}.memory.limit`, `got "1g"; use a whole number`],
    ["memory.limit below -1", { memory: { limit: -2 } }, `${R}.memory.limit`, "-2 is not a size; use bytes, or -1 for unlimited"],
    ["memory.swap fractional", { memory: { swap: 1.5 } }, `${R}.memory.swap`, "got 1.5; use a whole number"],
    ["memory.swappiness 101", { memory: { swappiness: 101 } }, `${R}.memory.swappiness`, "101 is out of range; use 0…100"],
    ["memory.swappiness -2", { memory: { swappiness: -2 } }, `${R}.memory.swappiness`, "-2 is out of range; use 0…100"],
    ["memory.disableOOMKiller not a boolean", { memory: { disableOOMKiller: 1 } }, `${R}.memory.disableOOMKiller`, "got 1; use true or false"],
    ["cpu.shares 1", { cpu: { shares: 1 } }, `${R}.cpu.shares`, "1 is out of range; use 2…262144"],
    ["cpu.shares 262145", { cpu: { shares: 262145 } }, `${R}.cpu.shares`, "262145 is out of range; use 2…262144"],
    ["cpu.shares negative", { cpu: { shares: -1 } }, `${R}.cpu.shares`, "got -1; use a whole number ≥ 0"],
    ["cpu.period 999", { cpu: { period: 999 } }, `${R}.cpu.period`, "999 is out of range; use 1000…1000000 microseconds"],
    ["cpu.quota 500", { cpu: { quota: 500, period: 100000 } }, `${R}.cpu.quota`, "500 is too small; use at least 1000 microseconds, or -1 for no limit"],
    ["cpu.burst above quota", { cpu: { quota: 50000, period: 100000, burst: 60000 } }, `${R}.cpu.burst`, "burst 60000 is larger than quota 50000; the spec requires burst ≤ quota"],
    ["cpu.idle 2", { cpu: { idle: 2 } }, `${R}.cpu.idle`, "2 is not allowed; use 0 (normal) or 1 (SCHED_IDLE)"],
    ["cpu.cpus a number", { cpu: { cpus: 3 } }, `${R}.cpu.cpus`, "got 3; use a string"],
    ["pids.limit missing", { pids: {} }, `${R}.pids.limit`, "is required"],
    ["pids.limit a string", { pids: { limit: "100" } }, `${R}.pids.limit`, `got "100"; use a whole number`],
    ["blockIO.weight 5", { blockIO: { weight: 5 } }, `${R}.blockIO.weight`, "5 is out of range; use 10…1000"],
    ["blockIO.leafWeight 1001", { blockIO: { leafWeight: 1001 } }, `${R}.blockIO.leafWeight`, "1001 is out of range; use 10…1000"],
    ["blockIO.weightDevice[0] without a weight", { blockIO: { weightDevice: [{ major: 8, minor: 0 }] } }, `${R}.blockIO.weightDevice[0]`, "needs weight or leafWeight (10…1000)"],
    ["blockIO.weightDevice[1].major missing", { blockIO: { weightDevice: [{ major: 8, minor: 0, weight: 100 }, { minor: 0, weight: 100 }] } }, `${R}.blockIO.weightDevice[1].major`, "is required"],
    ["blockIO.weightDevice[0].weight 2000", { blockIO: { weightDevice: [{ major: 8, minor: 0, weight: 2000 }] } }, `${R}.blockIO.weightDevice[0].weight`, "2000 is out of range; use 10…1000"],
    [
      "blockIO.throttleReadBpsDevice[1].rate missing",
      { blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1 }, { major: 8, minor: 16 }] } },
      `${R}.blockIO.throttleReadBpsDevice[1].rate`, "is required",
    ],
    [
      "blockIO.throttleWriteIOPSDevice[0].rate negative",
      { blockIO: { throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: -5 }] } },
      `${R}.blockIO.throttleWriteIOPSDevice[0].rate`, "got -5; use a whole number ≥ 0",
    ],
    ["blockIO.throttleReadBpsDevice not an array", { blockIO: { throttleReadBpsDevice: {} } }, `${R}.blockIO.throttleReadBpsDevice`, "got {}; use a JSON array"],
    ["hugepageLimits[0].pageSize 2M", { hugepageLimits: [{ pageSize: "2M", limit: 0 }] }, `${R}.hugepageLimits[0].pageSize`, `"2M" is not a page size; use <number>KB, MB or GB, e.g. "2MB"`],
    ["hugepageLimits[0].limit missing", { hugepageLimits: [{ pageSize: "2MB" }] }, `${R}.hugepageLimits[0].limit`, "is required"],
    ["network.classID negative", { network: { classID: -1 } }, `${R}.network.classID`, "-1 is out of range (0..4294967295)"],
    ["memory.limit past 2^53 (2^63: JSON rounds it)", { memory: { limit: 2 ** 63 } }, `${R}.memory.limit`, "9223372036854775808 is out of range (-9007199254740991..9007199254740991; JSON numbers past 2^53 are not exact)"],
    ["memory.limit 1e20", { memory: { limit: 1e20 } }, `${R}.memory.limit`, "100000000000000000000 is out of range (-9007199254740991..9007199254740991; JSON numbers past 2^53 are not exact)"],
    ["pids.limit -2^63-1", { pids: { limit: -(2 ** 63) - 1 } }, `${R}.pids.limit`, "-9223372036854775808 is out of range (-9007199254740991..9007199254740991; JSON numbers past 2^53 are not exact)"],
    ["pids.limit -5", { pids: { limit: -5 } }, `${R}.pids.limit`, "-5 is not a limit; use a number of tasks ≥ 0, or -1 for unlimited"],
    ["rdma device with a newline", { rdma: { "mlx5_1\nmlx5_2": { hcaHandles: 1 } } }, `${R}.rdma["mlx5_1\\nmlx5_2"]`, "is not an RDMA device name (one word, e.g. mlx5_1)"],
    ["network.priorities[0].name missing", { network: { priorities: [{ priority: 1 }] } }, `${R}.network.priorities[0].name`, "is required"],
    ["rdma entry without limits", { rdma: { mlx5_1: {} } }, `${R}.rdma["mlx5_1"]`, "needs hcaHandles or hcaObjects"],
    ["rdma hcaHandles a string", { rdma: { mlx5_1: { hcaHandles: "3" } } }, `${R}.rdma["mlx5_1"].hcaHandles`, `got "3"; use a whole number 0..2147483647`],
    ["unified key ../x", { unified: { "../x": "1" } }, `${R}.unified["../x"]`, `is not a cgroup file name; use "<controller>.<file>", e.g. "memory.high"`],
    ["unified key with a slash", { unified: { "memory.high/x": "1" } }, `${R}.unified["memory.high/x"]`, `is not a cgroup file name; use "<controller>.<file>", e.g. "memory.high"`],
    ["unified value a number", { unified: { "memory.high": 5 } }, `${R}.unified["memory.high"]`, "got 5; use a string"],
    ["devices[0].type bad", { devices: [{ allow: true, type: "x" }] }, `${R}.devices[0].type`, `got "x"; use one of a (all), b (block), c (char)`],
  ];
  for (const [name, input, field, message] of cases) {
    test(`${name} → ${field}`, () => {
      const err = errorOf(() => validateResources(input));
      expect(err.field).toBe(field);
      expect(err.message).toBe(`${field}: ${message}`);
    });
  }
});

describe("validateResources accepts", () => {
  test("every field in range", () => {
    const r = {
      memory: { limit: 1073741824, reservation: 536870912, swap: 2147483648, swappiness: 0, disableOOMKiller: true, useHierarchy: true },
      cpu: { shares: 1024, quota: 50000, period: 100000, burst: 10000, cpus: "0-1", mems: "0", idle: 1 },
      pids: { limit: 100 },
      blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 100 }], throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }] },
      hugepageLimits: [{ pageSize: "2MB", limit: 4194304 }],
      network: { classID: 1048577, priorities: [{ name: "eth0", priority: 5 }] },
      rdma: { mlx5_1: { hcaHandles: 3 } },
      unified: { "memory.high": "max", "cgroup.freeze": "0" },
    };
    expect(validateResources(r)).toEqual(r);
  });

  test("-1 for swappiness and unlimited sizes, 0 for unset shares and weights", () => {
    expect(() => validateResources({ memory: { limit: -1, swap: -1, swappiness: -1 }, cpu: { shares: 0, quota: -1 }, blockIO: { weight: 0 } })).not.toThrow();
  });

  test("unknown keys from newer spec versions", () => {
    expect(() => validateResources({ futureField: { x: 1 }, memory: { futureLimit: "x" } })).not.toThrow();
  });

  test("null fields as unset, dropping them so nothing plans a write of null", () => {
    const r = validateResources({ memory: null, cpu: { shares: null, quota: null, period: null, idle: null, burst: null, cpus: "0" } });
    expect(r.cpu).toEqual({ cpus: "0" });
  });

  test("fills in device rule defaults", () => {
    expect(validateResources({ devices: [{ allow: false }] }).devices).toEqual([{ allow: false, type: "a", major: null, minor: null, access: "rwm" }]);
  });

  test("the linux.resources of every reference client config", () => {
    const found = clientResources();
    expect(found.map(([name]) => name).sort()).toEqual([
      "cri-container-echo.json", "cri-container-sleeper.json", "cri-sandbox-pause.json", "ctr-run.json", "docker-run.json", "podman-run.json",
    ]);
    for (const [name, resources] of found) {
      try {
        validateResources(resources);
      } catch (err) {
        throw new Error(`${name}: ${(err as Error).message}`);
      }
    }
  });
});
