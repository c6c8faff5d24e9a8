import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { layoutFromMounts } from "./layout.ts";
import { parseMountinfo, parseProcCgroup } from "./mountinfo.ts";
import { processCgroupDirs } from "./process-cgroup.ts";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

describe("processCgroupDirs", () => {
  test("v1: each hierarchy at the process's own path there, co-mounted controllers once", () => {
    const layout = layoutFromMounts(parseMountinfo(fixture("v1-mountinfo.txt")));
    const dirs = processCgroupDirs(parseProcCgroup(fixture("v1-proc-cgroup.txt")), layout);
    expect(dirs.find((d) => d.hierarchy === "memory")).toEqual({ hierarchy: "memory", path: "/system.slice/sshd.service", dir: "/sys/fs/cgroup/memory/system.slice/sshd.service" });
    expect(dirs.find((d) => d.hierarchy === "cpu,cpuacct")?.dir).toBe("/sys/fs/cgroup/cpu,cpuacct/system.slice/sshd.service");
    expect(dirs.find((d) => d.hierarchy === "freezer")).toEqual({ hierarchy: "freezer", path: "/", dir: "/sys/fs/cgroup/freezer" });
    expect(dirs.some((d) => d.hierarchy === "unified")).toBe(false);
  });

  test("hybrid: the v1 hierarchies and the cgroup2 mount, each at its own path", () => {
    const layout = layoutFromMounts(parseMountinfo(fixture("hybrid-mountinfo.txt")), fixture("hybrid-unified-cgroup.controllers"));
    const dirs = processCgroupDirs(parseProcCgroup("8:pids:/a\n4:memory:/b\n1:cpu:/\n0::/c\n"), layout);
    expect(dirs.find((d) => d.hierarchy === "pids")?.dir).toBe("/sys/fs/cgroup/pids/a");
    expect(dirs.find((d) => d.hierarchy === "memory")?.dir).toBe("/sys/fs/cgroup/memory/b");
    expect(dirs.find((d) => d.hierarchy === "unified")).toEqual({ hierarchy: "unified", path: "/c", dir: "/sys/fs/cgroup/unified/c" });
    // a hierarchy the process has no line for is left out rather than guessed
    expect(dirs.some((d) => d.hierarchy === "blkio")).toBe(false);
  });

  test("v2: the one 0:: path", () => {
    const layout = layoutFromMounts(parseMountinfo(fixture("v2-mountinfo.txt")), fixture("v2-cgroup.controllers"));
    expect(processCgroupDirs(parseProcCgroup("0::/system.slice/x.service\n"), layout))
      .toEqual([{ hierarchy: "unified", path: "/system.slice/x.service", dir: "/sys/fs/cgroup/system.slice/x.service" }]);
  });
});
