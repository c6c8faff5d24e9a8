import { describe, expect, test } from "bun:test";
import { errorOf } from "../../test/berth-error.ts";
import { BerthError } from "../errors.ts";
import { flagForField, parseResourcesJson, renameToFlag, resourcesFromFlags } from "./update.ts";

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

  test("flagForField maps back every flag's field", () => {
    expect(flagForField("linux.resources.memory.limit")).toBe("--memory");
    expect(flagForField("linux.resources.cpu.realtimeRuntime")).toBe("--cpu-rt-runtime");
    expect(flagForField("linux.resources.pids.limit")).toBe("--pids-limit");
    expect(flagForField("linux.resources.memory.swappiness")).toBeUndefined();
    expect(flagForField(undefined)).toBeUndefined();
  });
});

describe("parseResourcesJson: the --resources body", () => {
  test("an OCI LinuxResources object, checked", () => {
    expect(parseResourcesJson('{"memory":{"limit":1048576},"cpu":{"shares":512,"cpus":""},"pids":{"limit":10}}', "-"))
      .toEqual({ memory: { limit: 1048576 }, cpu: { shares: 512, cpus: "" }, pids: { limit: 10 } });
  });

  test("devices are dropped, as runc skips them: the caller's list lacks the defaults create added", () => {
    expect(parseResourcesJson('{"devices":[{"allow":false,"access":"rwm"}],"pids":{"limit":5}}', "f.json")).toEqual({ pids: { limit: 5 } });
  });

  test("broken JSON names --resources and where it came from", () => {
    const err = errorOf(() => parseResourcesJson("{memory", "standard input"));
    expect(err.message).toStartWith("--resources: standard input is not valid JSON");
  });

  test("a bad field names its linux.resources path", () => {
    expect(errorOf(() => parseResourcesJson('{"pids":{"limit":"x"}}', "-")).message).toBe('linux.resources.pids.limit: got "x"; use a whole number');
    expect(errorOf(() => parseResourcesJson("[1]", "-")).message).toBe("linux.resources: got [1]; use a JSON object");
  });
});
