import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { parseMountinfo, parseProcCgroup } from "./mountinfo.ts";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

describe("parseMountinfo", () => {
  test("reads every field of a v1 cgroup line", () => {
    expect(parseMountinfo("35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n")).toEqual([
      { mountId: 35, parentId: 31, root: "/", mountPoint: "/sys/fs/cgroup/memory", fsType: "cgroup", source: "cgroup", superOptions: ["rw", "memory"] },
    ]);
  });

  test("skips optional fields (shared:N, master:N) before the separator", () => {
    const [m] = parseMountinfo("27 24 0:23 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 master:3 - cgroup cgroup rw,cpu,cpuacct");
    expect(m?.mountPoint).toBe("/sys/fs/cgroup/cpu,cpuacct");
    expect(m?.fsType).toBe("cgroup");
    expect(m?.superOptions).toEqual(["rw", "cpu", "cpuacct"]);
  });

  test("decodes octal escapes in root, mount point and source", () => {
    const [m] = parseMountinfo(String.raw`50 1 0:40 /my\040root /mnt/a\040b\011c\134d rw - cgroup2 my\040src rw`);
    expect(m?.root).toBe("/my root");
    expect(m?.mountPoint).toBe("/mnt/a b\tc\\d");
    expect(m?.source).toBe("my src");
  });

  test("ignores blank and malformed lines", () => {
    expect(parseMountinfo("\ngarbage\n1 2 3\n1 2 0:1 / /x rw - \n")).toEqual([]);
  });

  test("reads this host's hybrid mountinfo: 9 v1 hierarchies and cgroup2 at /sys/fs/cgroup/unified", () => {
    const mounts = parseMountinfo(fixture("hybrid-mountinfo.txt"));
    expect(mounts).toHaveLength(19);
    expect(mounts.filter((m) => m.fsType === "cgroup").map((m) => m.mountPoint)).toEqual([
      "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/cpuset", "/sys/fs/cgroup/memory",
      "/sys/fs/cgroup/devices", "/sys/fs/cgroup/freezer", "/sys/fs/cgroup/blkio", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/systemd",
    ]);
    expect(mounts.find((m) => m.fsType === "cgroup2")).toEqual({
      mountId: 41, parentId: 31, root: "/", mountPoint: "/sys/fs/cgroup/unified", fsType: "cgroup2", source: "cgroup2", superOptions: ["rw"],
    });
  });

  test("reads the v2 VM's mountinfo: one cgroup2 mount with its options", () => {
    const mounts = parseMountinfo(fixture("v2-mountinfo.txt"));
    expect(mounts.filter((m) => m.fsType === "cgroup")).toEqual([]);
    const cg2 = mounts.filter((m) => m.fsType === "cgroup2");
    expect(cg2.map((m) => [m.mountPoint, m.superOptions])).toEqual([["/sys/fs/cgroup", ["rw", "nsdelegate", "memory_recursiveprot"]]]);
  });

  test("decodes the escaped bind mount in the v1 sample", () => {
    const bind = parseMountinfo(fixture("v1-mountinfo.txt")).find((m) => m.mountId === 112);
    expect(bind?.mountPoint).toBe("/var/lib/kubelet/memory cgroup");
    expect(bind?.root).toBe("/kubepods");
  });
});

describe("parseProcCgroup", () => {
  test("reads the v1 and v2 entries of this hybrid host", () => {
    const entries = parseProcCgroup(fixture("hybrid-proc-cgroup.txt"));
    expect(entries).toHaveLength(10);
    expect(entries[0]).toEqual({ hierarchyId: 9, controllers: ["name=systemd"], path: "/" });
    expect(entries.find((e) => e.controllers.includes("memory"))?.path).toBe("/process_api/25c490aa70cbd3432e64016543bec3a2");
    expect(entries.at(-1)).toEqual({ hierarchyId: 0, controllers: [], path: "/" });
  });

  test("reads the single 0:: entry of a v2 host", () => {
    expect(parseProcCgroup(fixture("v2-proc-cgroup.txt"))).toEqual([{ hierarchyId: 0, controllers: [], path: "/" }]);
  });

  test("splits co-mounted controllers", () => {
    const entries = parseProcCgroup(fixture("v1-proc-cgroup.txt"));
    expect(entries.find((e) => e.hierarchyId === 2)).toEqual({ hierarchyId: 2, controllers: ["cpu", "cpuacct"], path: "/system.slice/sshd.service" });
    expect(entries.find((e) => e.hierarchyId === 4)?.controllers).toEqual(["net_cls", "net_prio"]);
    expect(entries.some((e) => e.hierarchyId === 0)).toBe(false);
  });

  test("keeps colons inside the path", () => {
    expect(parseProcCgroup("0::/system.slice/a:b:c.scope\n")).toEqual([{ hierarchyId: 0, controllers: [], path: "/system.slice/a:b:c.scope" }]);
  });
});
