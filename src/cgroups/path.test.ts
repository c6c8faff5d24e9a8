import { describe, expect, test } from "bun:test";
import { errorOf } from "../../test/berth-error.ts";
import { cgroupDir, cleanCgroupPath, expandSlice, isSystemdPath, resolveCgroupPath, systemdPathToCgroupfs } from "./path.ts";

const F = "linux.cgroupsPath";


const v1 = { ownCgroup: "/user.slice/session-1.scope", unified: false };
const v2 = { ownCgroup: "/user.slice/session-1.scope", unified: true };

describe("cleanCgroupPath", () => {
  test("drops empty, . and .. components without climbing above /", () => {
    expect(cleanCgroupPath("/a//b/./c/")).toBe("/a/b/c");
    expect(cleanCgroupPath("/a/b/../c")).toBe("/a/c");
    expect(cleanCgroupPath("/../../etc")).toBe("/etc");
    expect(cleanCgroupPath("..")).toBe("/");
    expect(cleanCgroupPath("")).toBe("/");
  });

  test("a clean path comes back as it is; names that only start with dots are names", () => {
    for (const p of ["/", "/a", "/a/b.slice/c-d.scope", "/.hidden/..x/...", "/a/.b"]) expect(cleanCgroupPath(p)).toBe(p);
    expect(cleanCgroupPath("/a/.")).toBe("/a");
    expect(cleanCgroupPath("/a/..")).toBe("/");
    expect(cleanCgroupPath("/a/")).toBe("/a");
    expect(cleanCgroupPath("a/b")).toBe("/a/b");
    expect(cleanCgroupPath("/./a")).toBe("/a");
  });
});

describe("resolveCgroupPath: absolute", () => {
  test("is taken from the hierarchy root, whatever our own cgroup", () => {
    expect(resolveCgroupPath("/docker/abc", v1)).toBe("/docker/abc");
    expect(resolveCgroupPath("/docker/abc", v2)).toBe("/docker/abc");
  });

  test("cannot escape the hierarchy with ..", () => {
    expect(resolveCgroupPath("/../../etc", v2)).toBe("/etc");
    expect(resolveCgroupPath("/berth/../../../x", v1)).toBe("/x");
  });

  test("an empty path is refused naming linux.cgroupsPath", () => {
    expect(errorOf(() => resolveCgroupPath("", v1)).message).toBe(`${F}: is empty; give an absolute path such as /berth/demo`);
  });
});

describe("resolveCgroupPath: relative", () => {
  test("on v1 hangs under our own cgroup", () => {
    expect(resolveCgroupPath("abc", v1)).toBe("/user.slice/session-1.scope/abc");
  });

  test("on v2 hangs under the parent of our own cgroup", () => {
    expect(resolveCgroupPath("abc", v2)).toBe("/user.slice/abc");
    expect(resolveCgroupPath("a/b", v2)).toBe("/user.slice/a/b");
  });

  test("on v2 with our own cgroup at the root hangs under /", () => {
    expect(resolveCgroupPath("abc", { ownCgroup: "/", unified: true })).toBe("/abc");
    expect(resolveCgroupPath("abc", { ownCgroup: "/init.scope", unified: true })).toBe("/abc");
  });

  test("cannot climb out of its base with ..", () => {
    expect(resolveCgroupPath("../../../etc", v1)).toBe("/user.slice/session-1.scope/etc");
    expect(resolveCgroupPath("a/../../x", v2)).toBe("/user.slice/x");
  });
});

describe("systemd paths", () => {
  test("system.slice:docker:abc is a docker scope under system.slice", () => {
    expect(resolveCgroupPath("system.slice:docker:abc", v1)).toBe("/system.slice/docker-abc.scope");
    expect(resolveCgroupPath("system.slice:docker:abc", v2)).toBe("/system.slice/docker-abc.scope");
  });

  test("a kubepods pod slice expands every parent slice", () => {
    expect(resolveCgroupPath("kubepods-burstable-pod1.slice:cri-containerd:abc", v2))
      .toBe("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-abc.scope");
  });

  test("an empty slice means system.slice", () => {
    expect(systemdPathToCgroupfs(":docker:abc")).toBe("/system.slice/docker-abc.scope");
  });

  test("an empty prefix gives a bare scope name", () => {
    expect(systemdPathToCgroupfs("user.slice::abc")).toBe("/user.slice/abc.scope");
  });

  test("a name ending in .slice is the unit itself", () => {
    expect(systemdPathToCgroupfs("machine.slice:libpod:pod-x.slice")).toBe("/machine.slice/pod-x.slice");
  });

  test("-.slice is the root slice", () => {
    expect(systemdPathToCgroupfs("-.slice:docker:abc")).toBe("/docker-abc.scope");
  });

  test("--systemd-cgroup forces the form and refuses an absolute path", () => {
    expect(errorOf(() => resolveCgroupPath("/docker/abc", { ...v1, systemd: true })).message)
      .toBe(`${F}: expected "slice:prefix:name" with --systemd-cgroup, got "/docker/abc"`);
  });

  test("is recognised by shape only when relative with three parts", () => {
    expect(isSystemdPath("system.slice:docker:abc")).toBe(true);
    expect(isSystemdPath("/a:b:c")).toBe(false);
    expect(isSystemdPath("a:b")).toBe(false);
  });

  test("an empty name is refused", () => {
    expect(errorOf(() => systemdPathToCgroupfs("system.slice:docker:")).message)
      .toBe(`${F}: the name part of "system.slice:docker:" is empty; use "slice:prefix:name"`);
  });

  test("a slice not ending in .slice is refused naming linux.cgroupsPath", () => {
    const err = errorOf(() => resolveCgroupPath("system:docker:abc", v1));
    expect(err.field).toBe(F);
    expect(err.message).toBe(`${F}: invalid slice "system"; a slice is a name ending in ".slice" without "/", e.g. "system.slice"`);
  });

  for (const slice of ["-a.slice", "a-.slice", "a--b.slice", ".slice"]) {
    test(`slice ${slice} with a misplaced dash is refused`, () => {
      expect(errorOf(() => expandSlice(slice)).message)
        .toBe(`${F}: invalid slice ${JSON.stringify(slice)}; dashes separate non-empty parent names, e.g. "kubepods-burstable.slice"`);
    });
  }

  test("a slice with / is refused", () => {
    expect(errorOf(() => expandSlice("a/b.slice")).field).toBe(F);
  });
});

describe("cgroupDir", () => {
  test("joins the path to the mount point for a root mount", () => {
    expect(cgroupDir("/sys/fs/cgroup/memory", "/", "/docker/abc")).toBe("/sys/fs/cgroup/memory/docker/abc");
    expect(cgroupDir("/sys/fs/cgroup", "/", "/")).toBe("/sys/fs/cgroup");
  });

  test("strips a non-/ mount root (cgroup namespace, container)", () => {
    expect(cgroupDir("/sys/fs/cgroup", "/docker/abc", "/docker/abc/berth/x")).toBe("/sys/fs/cgroup/berth/x");
    expect(cgroupDir("/sys/fs/cgroup", "/docker/abc", "/docker/abc")).toBe("/sys/fs/cgroup");
  });

  test("does not strip a root that is only a name prefix", () => {
    expect(cgroupDir("/sys/fs/cgroup", "/docker", "/dockerx/y")).toBe("/sys/fs/cgroup/dockerx/y");
  });

  test("cleans the path so .. stays inside the mount", () => {
    expect(cgroupDir("/sys/fs/cgroup", "/", "/../../etc")).toBe("/sys/fs/cgroup/etc");
  });
});
