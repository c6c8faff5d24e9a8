import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { BerthError } from "../errors.ts";
import { layoutFromMounts, placeOf, visibleMounts, type CgroupLayout } from "./layout.ts";
import { parseMountinfo } from "./mountinfo.ts";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

const hybrid = () => layoutFromMounts(parseMountinfo(fixture("hybrid-mountinfo.txt")), fixture("hybrid-unified-cgroup.controllers"));
const v2 = () => layoutFromMounts(parseMountinfo(fixture("v2-mountinfo.txt")), fixture("v2-cgroup.controllers"));
const v1 = () => layoutFromMounts(parseMountinfo(fixture("v1-mountinfo.txt")));

/** controller → where it lives, for every controller the layout knows */
function places(layout: CgroupLayout): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of layout.v1) for (const c of h.controllers) out[c] = h.mountPoint;
  for (const c of layout.unified?.controllers ?? []) out[c] ??= "unified";
  return out;
}

describe("layoutFromMounts on this host (hybrid)", () => {
  test("is hybrid", () => {
    expect(hybrid().mode).toBe("hybrid");
  });

  test("has one v1 hierarchy per controller and skips name=systemd", () => {
    expect(places(hybrid())).toEqual({
      cpu: "/sys/fs/cgroup/cpu",
      cpuacct: "/sys/fs/cgroup/cpuacct",
      cpuset: "/sys/fs/cgroup/cpuset",
      memory: "/sys/fs/cgroup/memory",
      devices: "/sys/fs/cgroup/devices",
      freezer: "/sys/fs/cgroup/freezer",
      blkio: "/sys/fs/cgroup/blkio",
      pids: "/sys/fs/cgroup/pids",
      hugetlb: "unified",
    });
  });

  test("puts hugetlb on the unified hierarchy at /sys/fs/cgroup/unified", () => {
    const layout = hybrid();
    expect(layout.unified).toEqual({ mountPoint: "/sys/fs/cgroup/unified", root: "/", controllers: ["hugetlb"] });
    expect(placeOf(layout, "hugetlb")).toBe("unified");
  });

  test("places memory on its v1 hierarchy and rdma nowhere", () => {
    const layout = hybrid();
    expect(placeOf(layout, "memory")).toEqual({ controllers: ["memory"], mountPoint: "/sys/fs/cgroup/memory", root: "/" });
    expect(placeOf(layout, "rdma")).toBeUndefined();
    expect(placeOf(layout, "io")).toBeUndefined();
  });
});

describe("layoutFromMounts on the v2 VM", () => {
  test("is v2 with every controller on the unified hierarchy", () => {
    const layout = v2();
    expect(layout.mode).toBe("v2");
    expect(layout.v1).toEqual([]);
    expect(layout.unified).toEqual({
      mountPoint: "/sys/fs/cgroup", root: "/",
      controllers: ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"],
    });
    expect(placeOf(layout, "memory")).toBe("unified");
    expect(placeOf(layout, "blkio")).toBeUndefined();
  });

  test("a cgroup2 mount with an unreadable cgroup.controllers is still v2", () => {
    const layout = layoutFromMounts(parseMountinfo(fixture("v2-mountinfo.txt")));
    expect(layout.mode).toBe("v2");
    expect(layout.unified?.controllers).toEqual([]);
  });
});

describe("layoutFromMounts on a pure v1 host", () => {
  test("is v1 with no unified hierarchy", () => {
    const layout = v1();
    expect(layout.mode).toBe("v1");
    expect(layout.unified).toBeUndefined();
  });

  test("keeps co-mounted controllers together on one hierarchy", () => {
    const layout = v1();
    const cpu = placeOf(layout, "cpu");
    expect(cpu).toEqual({ controllers: ["cpu", "cpuacct"], mountPoint: "/sys/fs/cgroup/cpu,cpuacct", root: "/" });
    expect(placeOf(layout, "cpuacct")).toBe(cpu!);
    expect(placeOf(layout, "net_prio")).toEqual({ controllers: ["net_cls", "net_prio"], mountPoint: "/sys/fs/cgroup/net_cls,net_prio", root: "/" });
  });

  test("uses the first mount of a hierarchy mounted twice", () => {
    const layout = v1();
    expect(layout.v1.filter((h) => h.controllers.includes("memory"))).toEqual([
      { controllers: ["memory"], mountPoint: "/sys/fs/cgroup/memory", root: "/" },
    ]);
  });

  test("lists 10 hierarchies and ignores seclabel, xattr and name= options", () => {
    expect(v1().v1.map((h) => h.controllers.join(","))).toEqual([
      "cpu,cpuacct", "memory", "net_cls,net_prio", "blkio", "cpuset", "devices", "freezer", "hugetlb", "pids", "perf_event",
    ]);
  });
});

describe("layoutFromMounts edge cases", () => {
  test("a mount inside a cgroup namespace keeps its non-/ root", () => {
    const layout = layoutFromMounts(parseMountinfo(
      "700 690 0:24 /docker/0123abcd /sys/fs/cgroup/memory ro,nosuid master:10 - cgroup cgroup rw,memory\n",
    ));
    expect(layout.v1).toEqual([{ controllers: ["memory"], mountPoint: "/sys/fs/cgroup/memory", root: "/docker/0123abcd" }]);
  });

  test("an octal-escaped cgroup2 mount point is decoded", () => {
    const layout = layoutFromMounts(parseMountinfo(String.raw`90 1 0:50 / /run/my\040cgroups rw - cgroup2 none rw` + "\n"), "cpu memory\n");
    expect(layout.unified?.mountPoint).toBe("/run/my cgroups");
    expect(layout.unified?.controllers).toEqual(["cpu", "memory"]);
  });

  test("the first cgroup2 mount is the unified hierarchy", () => {
    const layout = layoutFromMounts(parseMountinfo(
      "1 0 0:1 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n2 0 0:1 /x /mnt/copy rw - cgroup2 cgroup2 rw\n",
    ));
    expect(layout.unified?.mountPoint).toBe("/sys/fs/cgroup");
  });

  test("no cgroup mount at all is a BerthError saying how to mount one", () => {
    const mounts = parseMountinfo("22 27 0:21 / /proc rw,relatime - proc proc rw\n");
    expect(() => layoutFromMounts(mounts)).toThrow(BerthError);
    expect(() => layoutFromMounts(mounts)).toThrow("no cgroup filesystem is mounted; mount one with `mount -t cgroup2 none /sys/fs/cgroup`");
  });

  test("a name=systemd hierarchy alone is no cgroup layout", () => {
    const mounts = parseMountinfo("25 24 0:21 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n");
    expect(() => layoutFromMounts(mounts)).toThrow(BerthError);
  });
});

describe("a cgroup mount something was mounted over", () => {
  test("is not part of the layout (a tmpfs over /sys/fs/cgroup/unified makes the host v1)", () => {
    const hybrid = parseMountinfo(fixture("hybrid-mountinfo.txt"));
    expect(layoutFromMounts(hybrid, "hugetlb").mode).toBe("hybrid");
    const unified = hybrid.find((m) => m.fsType === "cgroup2")!;
    const covered = [...hybrid, { ...unified, mountId: 9999, fsType: "tmpfs", source: "none", superOptions: ["rw"] }];
    const layout = layoutFromMounts(covered, "hugetlb");
    expect(layout.mode).toBe("v1");
    expect(layout.unified).toBeUndefined();
  });

  test("a tmpfs over /sys/fs/cgroup hides every hierarchy under it", () => {
    const hybrid = parseMountinfo(fixture("hybrid-mountinfo.txt"));
    const base = hybrid.find((m) => m.fsType === "tmpfs" && m.mountPoint === "/sys/fs/cgroup") ?? hybrid[0]!;
    const covered = [...hybrid, { ...base, mountId: 9999, mountPoint: "/sys/fs/cgroup", fsType: "tmpfs" }];
    expect(() => layoutFromMounts(covered, "")).toThrow("no cgroup filesystem is mounted");
  });
});

describe("visibleMounts", () => {
  const at = (...points: string[]) => parseMountinfo(points.map((p, i) => `${i + 1} 1 0:${i} / ${p} rw - tmpfs none rw`).join("\n"));
  const visible = (...points: string[]) => visibleMounts(at(...points)).map((m) => `${m.mountId} ${m.mountPoint}`);

  test("a later mount on the same point or on an ancestor hides an earlier one, in mountinfo's order", () => {
    expect(visible("/", "/a/b", "/a", "/c", "/a/b/d")).toEqual(["1 /", "3 /a", "4 /c", "5 /a/b/d"]);
    expect(visible("/a", "/a")).toEqual(["2 /a"]);
  });

  test("a later mount on / hides only an earlier /; a sibling with a common prefix hides nothing", () => {
    expect(visible("/", "/x", "/")).toEqual(["2 /x", "3 /"]);
    expect(visible("/ab/c", "/a", "/ab/cd")).toEqual(["1 /ab/c", "2 /a", "3 /ab/cd"]);
  });
});
