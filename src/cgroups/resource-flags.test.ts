import { describe, expect, test } from "bun:test";
import { errorOf } from "../../test/berth-error.ts";
import { BerthError } from "../errors.ts";
import { validateResources } from "../spec/validate-resources.ts";
import {
  errorForFlags, limitsToResources, REFUSED_UPDATE_FLAGS, renameToFlag, resourcesFromFlags, UPDATE_FLAGS,
  type LimitFlags,
} from "./resource-flags.ts";

/** The device resolver callers pass: here a fixed table instead of stat(2), so the test is pure. */
const DEVICES: Record<string, [number, number]> = { "/dev/sda": [8, 0], "/dev/nvme0n1": [259, 0] };
const deviceNumbers = (path: string): [number, number] => {
  const n = DEVICES[path];
  if (!n) throw new BerthError(`${path} does not exist; give a block device path or MAJ:MIN`, { field: "--io-max" });
  return n;
};
const convert = (flags: LimitFlags) => limitsToResources(flags, deviceNumbers);
const resources = (flags: LimitFlags) => convert(flags).resources;
/** The error a conversion raises, as the user reads it once spec fields are renamed to flags. */
const refusal = (flags: LimitFlags) => {
  const err = errorOf(() => {
    const { resources: r, flagOf } = convert(flags);
    try {
      validateResources(r);
    } catch (e) {
      throw errorForFlags(e, flagOf);
    }
  });
  expect(err.message).not.toContain("\n");
  return err;
};

describe("limitsToResources: docker's units", () => {
  test("--cpus is CPUs over a 100 ms period, as docker's NanoCPUs: 0.5 → 50000/100000", () => {
    expect(resources({ cpus: "0.5" })).toEqual({ cpu: { quota: 50000, period: 100000 } });
    expect(resources({ cpus: "2" })).toEqual({ cpu: { quota: 200000, period: 100000 } });
    expect(resources({ cpus: "0.01" })).toEqual({ cpu: { quota: 1000, period: 100000 } });
    expect(resources({ cpus: "1.23456" })).toEqual({ cpu: { quota: 123456, period: 100000 } });
    for (let hundredths = 1; hundredths <= 6400; hundredths += 7) {
      const cpus = (hundredths / 100).toString();
      expect(resources({ cpus }).cpu).toEqual({ quota: hundredths * 1000, period: 100000 });
    }
  });

  test("--cpus scales with --cpu-period, and each field names the flag that set it", () => {
    const { resources: r, flagOf } = convert({ cpus: "1.5", cpuPeriod: "50000" });
    expect(r).toEqual({ cpu: { quota: 75000, period: 50000 } });
    expect(Object.fromEntries(flagOf)).toEqual({ "linux.resources.cpu.quota": "--cpus", "linux.resources.cpu.period": "--cpu-period" });
    expect(Object.fromEntries(convert({ cpus: "1" }).flagOf)).toEqual({ "linux.resources.cpu.quota": "--cpus", "linux.resources.cpu.period": "--cpus" });
  });

  test("--memory and the other sizes take docker's binary units: 0.5g → 536870912", () => {
    expect(resources({ memory: "0.5g" })).toEqual({ memory: { limit: 536870912 } });
    expect(resources({ memory: "2g", memorySwap: "3G", memoryReservation: "512m" })).toEqual({
      memory: { limit: 2 * 1024 ** 3, swap: 3 * 1024 ** 3, reservation: 512 * 1024 ** 2 },
    });
    expect(resources({ memory: "1048576" })).toEqual({ memory: { limit: 1048576 } });
    expect(resources({ memory: "64KiB" })).toEqual({ memory: { limit: 65536 } });
    expect(resources({ memory: "max", memorySwap: "-1" })).toEqual({ memory: { limit: -1, swap: -1 } });
  });

  test("the other single-value flags land in their fields", () => {
    expect(resources({
      cpuShares: "512", cpuQuota: "max", cpuBurst: "1000", cpusetCpus: "0-1,3", cpusetMems: "0", cpuIdle: true,
      memorySwappiness: "0", oomKillDisable: true, pids: "max", ioWeight: "500",
    })).toEqual({
      cpu: { shares: 512, quota: -1, burst: 1000, cpus: "0-1,3", mems: "0", idle: 1 },
      memory: { swappiness: 0, disableOOMKiller: true },
      pids: { limit: -1 },
      blockIO: { weight: 500 },
    });
    expect(resources({ cpuQuota: "25000", cpuPeriod: "100000", pids: "64" })).toEqual({ cpu: { quota: 25000, period: 100000 }, pids: { limit: 64 } });
  });

  test("no flags: an empty object and nothing remembered", () => {
    const { resources: r, flagOf } = convert({});
    expect(r).toEqual({});
    expect(flagOf.size).toBe(0);
  });

  test("--io-max: MAJ:MIN or a device path, rates with units, max as 0 (no limit)", () => {
    expect(resources({ ioMax: ["8:0 rbps=1m wbps=2m", "/dev/nvme0n1 riops=100 wiops=max"] })).toEqual({
      blockIO: {
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
        throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2097152 }],
        throttleReadIOPSDevice: [{ major: 259, minor: 0, rate: 100 }],
        throttleWriteIOPSDevice: [{ major: 259, minor: 0, rate: 0 }],
      },
    });
  });

  test("--hugetlb: page size names as the kernel spells them, limits in bytes", () => {
    expect(resources({ hugetlb: ["2mb=64m", "1GB=2g"] })).toEqual({
      hugepageLimits: [{ pageSize: "2MB", limit: 64 * 1024 ** 2 }, { pageSize: "1GB", limit: 2 * 1024 ** 3 }],
    });
  });

  test("--device: allow|deny TYPE MAJ:MIN ACCESS with * for any and rwm by default", () => {
    expect(resources({ device: ["deny a", "allow c 1:3 rw", "allow b 8:* m", "allow c *:*"] }).devices).toEqual([
      { allow: false, type: "a", major: null, minor: null, access: "rwm" },
      { allow: true, type: "c", major: 1, minor: 3, access: "rw" },
      { allow: true, type: "b", major: 8, minor: null, access: "m" },
      { allow: true, type: "c", major: null, minor: null, access: "rwm" },
    ]);
  });

  test("--set: raw unified files; byte files take sizes, everything else is passed as typed", () => {
    expect(resources({ set: ["memory.high=48m", "memory.max=max", "cpu.weight=100", "hugetlb.2MB.max=4m", "io.weight=default 100"] }).unified).toEqual({
      "memory.high": "50331648", "memory.max": "max", "cpu.weight": "100", "hugetlb.2MB.max": "4194304", "io.weight": "default 100",
    });
  });

  const refused: [string, LimitFlags, string, string][] = [
    ["--cpus with --cpu-quota", { cpus: "1", cpuQuota: "50000" }, "--cpus", "conflicts with --cpu-quota"],
    ["--cpus 0", { cpus: "0" }, "--cpus", "use a positive number"],
    ["--cpus -1", { cpus: "-1" }, "--cpus", "use a positive number"],
    ["--cpus with 6 decimals", { cpus: "0.123456" }, "--cpus", "use a positive number"],
    ["--cpus abc", { cpus: "abc" }, "--cpus", "invalid CPU count"],
    ["--cpu-period below 1000", { cpus: "1", cpuPeriod: "999" }, "--cpu-period", "from 1000 to 1000000"],
    ["--cpu-quota below 1000", { cpuQuota: "999" }, "--cpu-quota", "≥ 1000"],
    ["--cpu-shares 1", { cpuShares: "1" }, "--cpu-shares", "from 2 to 262144"],
    ["--cpu-shares 262145", { cpuShares: "262145" }, "--cpu-shares", "from 2 to 262144"],
    ["--cpuset-cpus backwards", { cpusetCpus: "3-1" }, "--cpuset-cpus", "use numbers and ranges"],
    ["--memory 12x", { memory: "12x" }, "--memory", "invalid size"],
    ["--memory -2", { memory: "-2" }, "--memory", "invalid size"],
    ["--memory-swappiness 101", { memorySwappiness: "101" }, "--memory-swappiness", "from 0 to 100"],
    ["--pids 0", { pids: "0" }, "--pids", "≥ 1"],
    ["--io-weight 5", { ioWeight: "5" }, "--io-weight", "from 10 to 1000"],
    ["--io-max without limits", { ioMax: ["8:0"] }, "--io-max", 'use "DEV rbps=N'],
    ["--io-max with a device name", { ioMax: ["sda rbps=1m"] }, "--io-max", "use MAJ:MIN"],
    ["--io-max with an unknown device path", { ioMax: ["/dev/nope rbps=1m"] }, "--io-max", "/dev/nope does not exist"],
    ["--io-max with an unknown key", { ioMax: ["8:0 xbps=1"] }, "--io-max", "use rbps=, wbps=, riops= or wiops="],
    ["--io-max with a bad rate", { ioMax: ["8:0 riops=1k"] }, "--io-max", "invalid value"],
    ["--hugetlb without a size", { hugetlb: ["64m"] }, "--hugetlb", "use SIZE=LIMIT"],
    ["--hugetlb max", { hugetlb: ["2MB=max"] }, "--hugetlb", "invalid size"],
    ["--device with a bad verdict", { device: ["permit a"] }, "--device", 'use "allow|deny TYPE MAJ:MIN ACCESS"'],
    ["--device with a bad type", { device: ["allow x 1:3"] }, "--device", "invalid device type"],
    ["--device with extra words", { device: ["allow c 1:3 rw now"] }, "--device", "invalid rule"],
    ["--device with a bad access", { device: ["allow c 1:3 rwx"] }, "--device", "use a combination of r, w, m"],
    ["--set without =", { set: ["pids.max"] }, "--set", "use FILE=VALUE"],
    ["--set with an empty name", { set: ["=1"] }, "--set", "use FILE=VALUE"],
    ["--set with a bad size", { set: ["memory.high=12x"] }, "--set", "invalid size"],
    ["--cpu-burst above the quota", { cpuQuota: "100000", cpuBurst: "200000" }, "--cpu-burst", "larger than quota"],
    ["--memory-swap below -1", { memory: "1g", memorySwap: "-2" }, "--memory-swap", "invalid size"],
  ];
  for (const [name, flags, flag, words] of refused) {
    test(`${name} is refused naming ${flag}`, () => {
      const err = refusal(flags);
      expect(err.field).toBe(flag);
      expect(err.message).toStartWith(`${flag}: `);
      expect(err.message).toContain(words);
    });
  }
});

describe("errorForFlags", () => {
  const flagOf = new Map([
    ["linux.resources.blockIO", "--io-weight"],
    ["linux.resources.blockIO.throttleReadBpsDevice", "--io-max"],
    ["linux.resources.memory.limit", "--memory"],
  ]);

  test("the longest recorded prefix wins, through . and [", () => {
    const deep = new BerthError("got -1; use a whole number ≥ 0", { field: "linux.resources.blockIO.throttleReadBpsDevice[0].rate" });
    const renamed = errorForFlags(deep, flagOf) as BerthError;
    expect(renamed.message).toBe("--io-max: got -1; use a whole number ≥ 0");
    expect(renamed.cause).toBe(deep);
    const weight = errorForFlags(new BerthError("5 is out of range; use 10…1000", { field: "linux.resources.blockIO.weight" }), flagOf) as BerthError;
    expect(weight.message).toBe("--io-weight: 5 is out of range; use 10…1000");
  });

  test("a field that only shares a prefix of its name is not renamed", () => {
    const err = new BerthError("nope", { field: "linux.resources.memory.limitX" });
    expect(errorForFlags(err, flagOf)).toBe(err);
  });

  test("errors without a field, and other errors, pass through untouched", () => {
    const plain = new BerthError("container not running");
    expect(errorForFlags(plain, flagOf)).toBe(plain);
    const other = new Error("boom");
    expect(errorForFlags(other, flagOf)).toBe(other);
  });
});

/** The flag renameToFlag names for an error about `field` (undefined: it leaves the error as it was). */
function flagForField(field: string | undefined): string | undefined {
  const err = new BerthError("too big", field === undefined ? {} : { field });
  try {
    renameToFlag(err);
  } catch (thrown) {
    return thrown === err ? undefined : (thrown as BerthError).field;
  }
  throw new Error("renameToFlag returned");
}

describe("runc update's flags: every one maps to one field and back", () => {
  const sample: Record<string, string> = { uint: "5000", int: "-1", size: "64m", list: "0-1" };
  for (const [flag, { field, kind }] of Object.entries(UPDATE_FLAGS)) {
    test(`--${flag} → linux.resources.${field}`, () => {
      // cpu.idle takes only 0 or 1; blkio weight 10…1000; shares ≥ 2; periods ≥ 1000
      const value = flag === "cpu-idle" ? "1" : flag === "blkio-weight" ? "300" : sample[kind]!;
      const [section, key] = field.split(".") as [string, string];
      const r = resourcesFromFlags({ [flag]: value }) as Record<string, Record<string, unknown>>;
      expect(Object.keys(r)).toEqual([section]);
      expect(Object.keys(r[section]!)).toEqual([key]);
      expect(flagForField(`linux.resources.${field}`)).toBe(`--${flag}`);
    });
  }

  test("the refused flags are refused even next to accepted ones", () => {
    for (const flag of Object.keys(REFUSED_UPDATE_FLAGS)) {
      expect(errorOf(() => resourcesFromFlags({ memory: "1g", [flag]: "1" })).field).toBe(`--${flag}`);
    }
  });

  test("renameToFlag names the runc flag, not berth cgroup's", () => {
    const err = errorOf(() => resourcesFromFlags({ "pids-limit": "1", "blkio-weight": "5" }));
    expect(errorOf(() => renameToFlag(err)).message).toBe("--blkio-weight: 5 is out of range; use 10…1000");
  });
});

describe("resourcesFromFlags: runc update's single flags", () => {
  test("each flag sets its LinuxResources field; sizes take units as runc's go-units does", () => {
    expect(resourcesFromFlags({
      memory: "100M", "memory-swap": "-1", "memory-reservation": "64m", "pids-limit": "50",
      "cpu-share": "512", "cpu-quota": "50000", "cpu-period": "100000", "cpuset-cpus": "0", "blkio-weight": "300",
    })).toEqual({
      memory: { limit: 104857600, swap: -1, reservation: 67108864 },
      pids: { limit: 50 },
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: "0" },
      blockIO: { weight: 300 },
    });
  });

  test("no flags: an empty update", () => {
    expect(resourcesFromFlags({})).toEqual({});
  });

  const bad: [Record<string, string>, string, string][] = [
    [{ memory: "12x" }, "--memory", "invalid size"],
    [{ "cpu-share": "abc" }, "--cpu-share", "use a whole number ≥ 0"],
    [{ "cpu-quota": "1.5" }, "--cpu-quota", "use a whole number"],
    [{ "pids-limit": "" }, "--pids-limit", "use a whole number"],
    [{ "kernel-memory": "10M" }, "--kernel-memory", "kernel memory limits are gone from Linux"],
    [{ "l3-cache-schema": "L3:0=f" }, "--l3-cache-schema", "Intel RDT (resctrl) is not supported"],
    [{ "mem-bw-schema": "MB:0=50" }, "--mem-bw-schema", "Intel RDT (resctrl) is not supported"],
  ];
  for (const [flags, flag, words] of bad) {
    test(`${JSON.stringify(flags)} is refused naming ${flag}`, () => {
      const err = errorOf(() => resourcesFromFlags(flags));
      expect(err.field).toBe(flag);
      expect(err.message).toStartWith(`${flag}: `);
      expect(err.message).toContain(words);
      expect(err.message).not.toContain("\n");
    });
  }

  test("a value out of range is caught by the spec validator, and renameToFlag names the flag", () => {
    const err = errorOf(() => resourcesFromFlags({ "cpu-share": "1" }));
    expect(err.field).toBe("linux.resources.cpu.shares");
    const renamed = errorOf(() => renameToFlag(err));
    expect(renamed.message).toBe("--cpu-share: 1 is out of range; use 2…262144");
  });

  test("renameToFlag leaves errors about other fields alone", () => {
    const err = new BerthError("container not running");
    expect(() => renameToFlag(err)).toThrow(err);
    const other = new BerthError("nope", { field: "linux.resources.hugepageLimits[0]" });
    expect(() => renameToFlag(other)).toThrow(other);
  });

  test("renameToFlag maps back every flag's field", () => {
    expect(flagForField("linux.resources.memory.limit")).toBe("--memory");
    expect(flagForField("linux.resources.cpu.realtimeRuntime")).toBe("--cpu-rt-runtime");
    expect(flagForField("linux.resources.pids.limit")).toBe("--pids-limit");
    expect(flagForField("linux.resources.memory.swappiness")).toBeUndefined();
    expect(flagForField(undefined)).toBeUndefined();
  });
});

