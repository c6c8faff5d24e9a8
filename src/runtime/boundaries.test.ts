/**
 * Boundaries runc keeps, kept by berth too (issue 21, defect 9): a device node is no
 * device cgroup grant, a symlinked /proc or /sys in the image is refused, and --no-pivot
 * leaves no host procfs a nested namespace could use to mount an unmasked one.
 */
import { afterAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { leaksOf } from "../../test/leak-check.ts";
import { canRunContainers, RuntimeFixture } from "../../test/runtime-harness.ts";

setDefaultTimeout(30_000);

const fx = new RuntimeFixture("bounds");
afterAll(() => fx.cleanup(), 60_000);

describe.skipIf(!canRunContainers)("boundaries runc keeps", () => {
  test("a device in linux.devices gets its node, but the device cgroup (deny all) still denies it", () => {
    const id = fx.id();
    const r = fx.runSpec(id, fx.spec(id, (s) => {
      s.linux!.devices = [{ path: "/dev/kmsg", type: "c", major: 1, minor: 11, fileMode: 0o644 }, { path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o666 }];
      s.process!.args = ["sh", "-c", "ls /dev/kmsg /dev/fuse; for d in kmsg fuse; do (exec 3>/dev/$d) 2>/dev/null && echo $d-opened || echo $d-denied; done"];
    }));
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: "/dev/fuse\n/dev/kmsg\nkmsg-denied\nfuse-denied\n" });
  });

  test("the same device with an allow rule in linux.resources.devices opens", () => {
    const id = fx.id();
    const r = fx.runSpec(id, fx.spec(id, (s) => {
      s.linux!.devices = [{ path: "/dev/kmsg", type: "c", major: 1, minor: 11, fileMode: 0o644 }];
      s.linux!.resources!.devices!.push({ allow: true, type: "c", major: 1, minor: 11, access: "w" });
      // opened for writing, nothing written: the host's log stays as it was
      s.process!.args = ["sh", "-c", "exec 3>/dev/kmsg && echo opened"];
    }));
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: "opened\n" });
  });

  for (const dir of ["proc", "sys"]) {
    test(`a symlinked /${dir} in the image is refused, naming the mount (runc: must be an ordinary directory)`, () => {
      const id = fx.id();
      const rootfs = fx.ownRootfs(id);
      rmSync(join(rootfs, dir), { recursive: true });
      mkdirSync(join(rootfs, "elsewhere"));
      symlinkSync("/elsewhere", join(rootfs, dir));
      const spec = fx.spec(id, (s) => { s.root = { path: rootfs }; });
      const i = spec.mounts!.findIndex((m) => m.destination === `/${dir}`);
      const r = fx.rt(["create", "--bundle", fx.bundle(id, spec), id]);
      expect(r.stderr.trim()).toBe(`mounts[${i}] (/${dir}): ${rootfs}/${dir} is a symlink; ${dir === "proc" ? "proc" : "sysfs"} must be mounted on an ordinary directory — make /${dir} a directory in the image`);
      expect(r.code).toBe(1);
      expect(leaksOf(fx.root, id, [rootfs])).toEqual([]);
    });
  }

  test("--no-pivot: a nested user and pid namespace cannot mount a fresh procfs (the host's stays unreachable)", () => {
    const id = fx.id();
    const r = fx.runSpec(id, fx.spec(id, (s) => {
      // a user without CAP_SETFCAP maps itself to root in the nested user namespace (Linux 5.12+ refuses mapping host root)
      s.process!.user = { uid: 1000, gid: 1000 };
      s.process!.args = ["sh", "-c", "unshare -Urmpf sh -c 'mount -t proc proc /proc 2>/dev/null && echo mounted || echo refused'"];
    }), ["--no-pivot"]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: "refused\n" });
  });

  test("with pivot_root the same nested mount is refused too (the kernel's rule for masked procfs)", () => {
    const id = fx.id();
    const r = fx.runSpec(id, fx.spec(id, (s) => {
      s.process!.user = { uid: 1000, gid: 1000 };
      s.process!.args = ["sh", "-c", "unshare -Urmpf sh -c 'mount -t proc proc /proc 2>/dev/null && echo mounted || echo refused'"];
    }));
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: "refused\n" });
  });
});
