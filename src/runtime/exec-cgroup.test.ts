import { describe, expect, test } from "bun:test";
import { parseSubCgroups, subCgroupDirs } from "./exec-cgroup.ts";

const err = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("no error");
};

describe("parseSubCgroups (runc 1.1's --cgroup grammar)", () => {
  test("one path for every hierarchy, or paths per controller (comma-separated controllers share one)", () => {
    expect(parseSubCgroups(["batch"])).toEqual({ all: "batch", byController: new Map() });
    expect(parseSubCgroups(["/batch/low/"])).toEqual({ all: "batch/low", byController: new Map() });
    expect(parseSubCgroups(["cpu,cpuacct:batch", "memory:batch/low"]).byController)
      .toEqual(new Map([["cpu", "batch"], ["cpuacct", "batch"], ["memory", "batch/low"]]));
  });
  test("runc's errors, and no way out of the container's cgroup", () => {
    expect(err(() => parseSubCgroups(["a:b:c"]))).toBe("--cgroup: invalid --cgroup argument: a:b:c");
    expect(err(() => parseSubCgroups(["batch", "memory:x"]))).toBe("--cgroup: invalid --cgroup argument: batch (missing <controller>: prefix)");
    expect(err(() => parseSubCgroups([",memory:x"]))).toBe("--cgroup: invalid --cgroup argument: ,memory:x (empty <controller> prefix)");
    expect(err(() => parseSubCgroups(["memory:x", "memory:y"]))).toBe("--cgroup: invalid --cgroup argument(s): controller memory specified multiple times");
    expect(err(() => parseSubCgroups(["a/../../b"]))).toBe('--cgroup: invalid --cgroup argument: a/../../b (".." would leave the container\'s cgroup; give a path below it)');
    expect(err(() => parseSubCgroups(["memory:/"]))).toBe("--cgroup: invalid --cgroup argument: memory:/ (empty sub-cgroup path)");
  });
});

describe("subCgroupDirs", () => {
  const hybrid = [
    { dir: "/sys/fs/cgroup/cpu,cpuacct/c1", controllers: ["cpu", "cpuacct"] },
    { dir: "/sys/fs/cgroup/memory/c1", controllers: ["memory"] },
    { dir: "/sys/fs/cgroup/unified/c1", controllers: null },
  ];
  test("the unprefixed form moves every hierarchy, the cgroup2 one too", () => {
    expect(subCgroupDirs(hybrid, parseSubCgroups(["b"]), "hybrid")).toEqual(["/sys/fs/cgroup/cpu,cpuacct/c1/b", "/sys/fs/cgroup/memory/c1/b", "/sys/fs/cgroup/unified/c1/b"]);
  });
  test("per controller: the named hierarchies move, the rest stay the container's", () => {
    expect(subCgroupDirs(hybrid, parseSubCgroups(["memory:m"]), "hybrid")).toEqual(["/sys/fs/cgroup/cpu,cpuacct/c1", "/sys/fs/cgroup/memory/c1/m", "/sys/fs/cgroup/unified/c1"]);
    expect(subCgroupDirs(hybrid, parseSubCgroups(["cpuacct:a"]), "v1")[0]).toBe("/sys/fs/cgroup/cpu,cpuacct/c1/a");
  });
  test("co-mounted controllers must agree; unknown controllers and prefixes on v2 are refused", () => {
    expect(err(() => subCgroupDirs(hybrid, parseSubCgroups(["cpu:a", "cpuacct:b"]), "hybrid"))).toBe("--cgroup: invalid --cgroup argument(s): controllers cpu,cpuacct share one hierarchy; give them the same sub-cgroup");
    expect(err(() => subCgroupDirs(hybrid, parseSubCgroups(["rdma:a"]), "hybrid"))).toBe("--cgroup: invalid --cgroup argument: no rdma controller among the container's cgroups (cpu, cpuacct, memory)");
    expect(err(() => subCgroupDirs([{ dir: "/sys/fs/cgroup/c1", controllers: null }], parseSubCgroups(["memory:a"]), "v2")))
      .toBe("--cgroup: invalid --cgroup argument: memory: cgroup v2 has a single hierarchy; give the sub-cgroup without a <controller>: prefix");
    expect(subCgroupDirs([{ dir: "/sys/fs/cgroup/c1", controllers: null }], parseSubCgroups(["a/b"]), "v2")).toEqual(["/sys/fs/cgroup/c1/a/b"]);
  });
});
