/**
 * Hostile and broken config.json files (issue 21's probe, each defect a case): the
 * runtime refuses them with exit 1 and one line naming the field — never a stack trace,
 * never a wrapped number — and leaves nothing behind (test/leak-check.ts). And a
 * process moved into a container's cgroup from outside is never signalled by delete.
 */
import { afterAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../spec/runtime-spec.ts";
import { dead, leaksOf } from "../../test/leak-check.ts";
import { canRunContainers, cgroupDirsFor, cgroupHierarchies, RuntimeFixture } from "../../test/runtime-harness.ts";

setDefaultTimeout(30_000);

const fx = new RuntimeFixture("hostile");
afterAll(() => fx.cleanup(), 60_000);

/** A host process of the test's own, to be moved where a hostile config would move it. */
function victim(): Bun.Subprocess {
  return Bun.spawn(["sleep", "60"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
}

/** Put pid back into the root cgroup of every hierarchy (where the test's processes came from does not matter). */
function moveToRoot(pid: number): void {
  for (const h of cgroupHierarchies()) {
    try {
      writeFileSync(join(h, "cgroup.procs"), String(pid));
    } catch {
      // a hierarchy without that file (none here) or a named one without controllers
    }
  }
}

/** create with `change` must fail: exit 1, one line containing `error`, nothing left. */
function refused(change: (s: Spec) => void | string, error: string): void {
  const id = fx.id("hostile");
  const spec = fx.spec(id);
  const raw = change(spec);
  const r = fx.rt(["create", "--bundle", fx.bundle(id, typeof raw === "string" ? raw : spec), id]);
  expect(r.stderr).toContain(error);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(r.code).toBe(1);
  expect(leaksOf(fx.root, id)).toEqual([]);
}

describe.skipIf(!canRunContainers)("defect 1: a config cannot move, kill or keep host processes", () => {
  test("linux.resources.unified[\"cgroup.procs\"] naming a host process is refused, and the process stays where it was", () => {
    const v = victim();
    try {
      const before = readFileSync(`/proc/${v.pid}/cgroup`, "utf8");
      refused((s) => { s.linux!.resources = { unified: { "cgroup.procs": String(v.pid) } }; }, 'linux.resources.unified["cgroup.procs"]: is the cgroup\'s interface, not a resource');
      expect(dead(v.pid)).toBe(false);
      expect(readFileSync(`/proc/${v.pid}/cgroup`, "utf8")).toBe(before);
    } finally {
      v.kill("SIGKILL");
    }
  });

  for (const file of ["cgroup.kill", "cgroup.threads", "cgroup.subtree_control"]) {
    test(`linux.resources.unified["${file}"] is refused`, () => {
      refused((s) => { s.linux!.resources = { unified: { [file]: "1" } }; }, `linux.resources.unified["${file}"]: is the cgroup's interface, not a resource`);
    });
  }

  test("delete --force and kill --all never signal a process moved into the container's cgroup from outside", async () => {
    const id = fx.id("hostile");
    expect(fx.rt(["run", "-d", "--bundle", fx.bundle(id, fx.spec(id, (s) => { s.process!.args = ["sleep", "60"]; })), id]).code).toBe(0);
    const v = victim();
    try {
      for (const dir of cgroupDirsFor(id)) writeFileSync(join(dir, "cgroup.procs"), String(v.pid));
      expect(fx.rt(["kill", "--all", id, "KILL"]).code).toBe(0);
      const r = fx.rt(["delete", "--force", id]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`holds pid ${v.pid} (sleep), which berth did not start in container ${id} and will not signal; move it to a cgroup of its own, then delete again`);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(dead(v.pid)).toBe(false);
      moveToRoot(v.pid);
      expect(fx.rt(["delete", "--force", id]).code).toBe(0);
      expect(leaksOf(fx.root, id)).toEqual([]);
      expect(dead(v.pid)).toBe(false);
    } finally {
      v.kill("SIGKILL");
      await v.exited;
    }
  });
});

const SAFE = " (-9007199254740991..9007199254740991; JSON numbers past 2^53 are not exact)";

describe.skipIf(!canRunContainers)("defects 2–5 and 8: refused with one line naming the field, exit 1, nothing left", () => {
  const cases: [string, (s: Spec) => void | string, string][] = [
    ["additionalGids [2^64] (was groups=0(root))", (s) => { s.process!.user = { uid: 1000, gid: 1000, additionalGids: [2 ** 64] }; }, "process.user.additionalGids[0]: 18446744073709551616 is out of range (0..4294967294)"],
    ["a device's fileMode 2^64 (was mode 0)", (s) => { s.linux!.devices = [{ path: "/dev/x", type: "c", major: 1, minor: 3, fileMode: 2 ** 64 }]; }, "linux.devices[0].fileMode: 18446744073709551616 is out of range (0..4095)"],
    ["a device's gid 2^64 (was 0)", (s) => { s.linux!.devices = [{ path: "/dev/x", type: "c", major: 1, minor: 3, gid: 2 ** 64 }]; }, "linux.devices[0].gid: 18446744073709551616 is out of range (0..4294967294)"],
    ["memory.limit 1e20", (s) => { s.linux!.resources = { memory: { limit: 1e20 } }; }, `linux.resources.memory.limit: 100000000000000000000 is out of range${SAFE}`],
    ["pids.limit -2^63-1", (s) => { s.linux!.resources = { pids: { limit: -(2 ** 63) - 1 } }; }, `linux.resources.pids.limit: -9223372036854775808 is out of range${SAFE}`],
    ["hooks timeout 1e308", (s) => { s.hooks = { prestart: [{ path: "/bin/true", timeout: 1e308 }] }; }, "hooks.prestart[0].timeout: 1e+308 is out of range (1..2147483)"],
    ["null process.user.gid", (s) => { (s.process!.user as { gid: unknown }).gid = null; }, "process.user.gid: is null; it is required"],
    ["null root.path", (s) => { (s.root as { path: unknown }).path = null; }, "root.path: is null; it is required"],
    ["null mounts[0].destination", (s) => { (s.mounts![0] as { destination: unknown }).destination = null; }, "mounts[0].destination: is null; it is required"],
    ["null rlimits[0].soft", (s) => { s.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: null as never, hard: 5 }]; }, "process.rlimits[0].soft: is null; it is required"],
    ["a NUL byte in args", (s) => { s.process!.args = ["echo", "a\0b"]; }, 'process.args[1]: "a\\u0000b" contains a NUL byte; remove it'],
    ["a NUL byte in a sysctl value", (s) => { s.linux!.sysctl = { "net.ipv4.ip_forward": "0\0" }; }, 'linux.sysctl["net.ipv4.ip_forward"]: "0\\u0000" contains a NUL byte; remove it'],
    ["a 100k-deep value", () => `{"ociVersion":"1.0.2","x":${"[".repeat(100_000)}${"]".repeat(100_000)}}`, "config.json: nests deeper than 64 levels"],
    ["20k seccomp rules", (s) => { s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: Array.from({ length: 20_000 }, () => ({ names: ["mkdir"], action: "SCMP_ACT_ERRNO" as const })) }; }, "linux.seccomp.syscalls: lists 20000 syscall names across its rules"],
    ["a 30 MB config", (s) => { s.annotations = { big: "x".repeat(30 << 20) }; }, "berth-runtime reads configs up to 4 MiB"],
    ["junk bind-mount options", (s) => { s.mounts!.push({ destination: "/mnt", type: "bind", source: "/tmp", options: ["rbind", "NaN", "-1", "0x10"] }); }, 'mounts[7].options[1]: "NaN" is not an option a bind mount takes'],
    ["kernel.hostname next to hostname", (s) => { s.linux!.sysctl = { "kernel.hostname": "other" }; }, 'linux.sysctl["kernel.hostname"]: conflicts with hostname'],
    ["memory.limit 1 names the field", (s) => { s.linux!.resources = { ...s.linux!.resources, memory: { limit: 1 } }; }, "linux.resources.memory.limit: 1 bytes is too little to start the container"],
    ["a newline in a value stays on one line", (s) => { s.process!.cwd = "rel\nline2"; }, 'process.cwd: "rel\\nline2" is not an absolute path'],
    ["a newline in a key stays on one line", (s) => { s.annotations = { "a\nb": 5 as never }; }, 'annotations["a\\nb"]: got 5; use a string'],
  ];
  for (const [name, change, error] of cases) test(name, () => refused(change, error));

  test("a full --root (bytes or inodes) is one line naming the file and the fix, and nothing is left", () => {
    for (const [i, opts] of ["size=64k,nr_inodes=4", "size=4k"].entries()) {
      const tiny = join(fx.dir, `tiny-root-${i}`);
      mkdirSync(tiny);
      expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", tiny]).exitCode).toBe(0);
      const id = fx.id("hostile");
      try {
        const r = fx.rt(["create", "--bundle", fx.bundle(id, fx.spec(id)), id], { globals: ["--root", tiny] });
        expect(r.code).toBe(1);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.stderr).toMatch(/^\/\S+: \w+: no space left on device; free space or inodes on that filesystem \(df -h, df -i\), or point --root at another\n$/);
        expect(leaksOf(tiny, id)).toEqual([]);
      } finally {
        fx.rt(["delete", "--force", id], { globals: ["--root", tiny] });
        Bun.spawnSync(["umount", tiny]);
      }
    }
  });

  test("a bind mount on /dev/null replaces the default node instead of failing on it", () => {
    const id = fx.id("hostile");
    const r = fx.runSpec(id, fx.spec(id, (s) => {
      s.mounts!.push({ destination: "/dev/null", type: "bind", source: "/dev/null", options: ["bind"] });
      s.process!.args = ["sh", "-c", "echo x > /dev/null && grep -c ' /dev/null ' /proc/self/mountinfo"];
    }));
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: "1\n", stderr: "" });
  });

  test("a linux.devices entry on a mount's destination names both", () => {
    refused((s) => {
      s.mounts!.push({ destination: "/dev/kmsg", type: "bind", source: "/dev/null", options: ["bind"] });
      s.linux!.devices = [{ path: "/dev/kmsg", type: "c", major: 1, minor: 11 }];
    }, "linux.devices[0]: /dev/kmsg is also the destination of mounts[7]; keep the device or the mount");
  });
});
