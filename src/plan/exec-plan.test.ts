import { describe, expect, test } from "bun:test";
import { defaultSpec } from "../spec/default-spec.ts";
import type { Linux, Process } from "../spec/runtime-spec.ts";
import { compileExecPlan, type ExecContext } from "./exec-plan.ts";

const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWNS = 0x20000;

function ctx(linux: Linux, more: Partial<ExecContext> = {}): ExecContext {
  return { initPid: 42, linux, detach: false, lsm: { apparmor: false, selinux: false }, ...more };
}
function proc(): Process {
  const p = defaultSpec().process!;
  p.terminal = false;
  p.args = ["ps"];
  return p;
}

describe("compileExecPlan", () => {
  test("joins each of the container's namespaces through the init's /proc files, user first and mount last, then forks", () => {
    const linux = { namespaces: [{ type: "mount" as const }, { type: "pid" as const }, { type: "user" as const }, { type: "network" as const }] };
    const p = compileExecPlan(proc(), ctx(linux));
    const joins = p.ops.filter((o) => o.op === "SETNS").map((o) => o.args);
    expect(joins).toEqual([
      ["/proc/42/ns/user", CLONE_NEWUSER], ["/proc/42/ns/net", 0x40000000], ["/proc/42/ns/pid", 0x20000000], ["/proc/42/ns/mnt", CLONE_NEWNS],
    ]);
    expect(p.ops[4]!.op).toBe("FORK");
    expect(p.ops[4]!.args).toEqual([1, 0, 64]);
  });

  test("a container without a mount namespace of its own: the process chroots into its init's root before the fork", () => {
    const p = compileExecPlan(proc(), ctx({ namespaces: [{ type: "pid" }] }));
    const names = p.ops.map((o) => o.op);
    expect(p.ops.find((o) => o.op === "CHROOT")!.args).toEqual(["/proc/42/root"]);
    expect(names.indexOf("CHROOT")).toBeLessThan(names.indexOf("FORK"));
    expect(compileExecPlan(proc(), ctx({ namespaces: [{ type: "mount" }] })).ops.map((o) => o.op)).not.toContain("CHROOT");
  });

  test("no rootfs, no WAIT_START: the process is ready, then it execs; --detach forks without waiting", () => {
    const p = compileExecPlan(proc(), ctx({ namespaces: [{ type: "mount" }] }, { detach: true }));
    const names = p.ops.map((o) => o.op);
    expect(names).not.toContain("PIVOT_ROOT");
    expect(names).not.toContain("WAIT_START");
    expect(names.slice(-2)).toEqual(["READY", "EXEC"]);
    expect(p.ops.find((o) => o.op === "FORK")!.args).toEqual([0, 0, 64]);
  });

  test("the process's capabilities and the container's seccomp filter, loaded last with no_new_privs", () => {
    const program = new Uint8Array(8);
    const p = compileExecPlan(proc(), ctx({ namespaces: [{ type: "mount" }] }, { seccomp: { program, flags: 0, notify: false } }));
    const names = p.ops.map((o) => o.op);
    expect(names).toContain("CAPS");
    expect(names.slice(-3)).toEqual(["READY", "SECCOMP", "EXEC"]);
  });

  test("a terminal: the console socket is connected before the joins (its path is the host's), then a session and the pty", () => {
    const p = compileExecPlan({ ...proc(), terminal: true }, ctx({ namespaces: [{ type: "mount" }] }, { detach: true, consoleSocket: "/run/c.sock" }));
    const names = p.ops.map((o) => o.op);
    expect(names.slice(0, 3)).toEqual(["CONNECT_UNIX", "SETNS", "FORK"]);
    expect(p.ops[0]!.args).toEqual([1, "/run/c.sock"]);
    expect(names.slice(3, 5)).toEqual(["SETSID", "CONSOLE"]);
    expect(p.ops[4]!.args).toEqual(["", 1, 0, 0]);
    expect(names.indexOf("CHOWN_STDIO")).toBe(names.indexOf("CONSOLE_STDIO") + 1);
    expect(names.indexOf("CHOWN_STDIO")).toBeLessThan(names.indexOf("CAPS"));
    expect(p.ops[names.indexOf("CHOWN_STDIO")]!.args).toEqual([proc().user.uid]);
  });

  test("a foreground terminal is proxied by the waiting parent; a detached one needs a socket", () => {
    const p = compileExecPlan({ ...proc(), terminal: true }, ctx({}));
    expect(p.ops.find((o) => o.op === "FORK")!.args).toEqual([1, 1, 64]);
    expect(p.ops.find((o) => o.op === "CONSOLE")!.args).toEqual(["", 64, 0, 0]);
    expect(() => compileExecPlan({ ...proc(), terminal: true }, ctx({}, { detach: true }))).toThrow("pass --console-socket");
    expect(() => compileExecPlan(proc(), ctx({}, { consoleSocket: "/x" }))).toThrow("--console-socket needs a terminal");
  });
});

describe("compileExecPlan: joining the container's cgroup", () => {
  const cgroup = { v1: ["/sys/fs/cgroup/memory/berth/c", "/sys/fs/cgroup/pids/berth/c"], v2: "/sys/fs/cgroup/unified/berth/c" };
  const names = (p: { ops: { op: string }[] }) => p.ops.map((o) => o.op);

  test("v1 through tasks and the cgroup2 directory opened, first (host paths), then forked into it", () => {
    const linux = { namespaces: [{ type: "mount" as const }, { type: "pid" as const }] };
    const p = compileExecPlan(proc(), ctx(linux, { cgroup, cloneIntoCgroup: true }));
    expect(p.ops.slice(0, 3).map((o) => [o.op, ...o.args])).toEqual([
      ["WRITE_FILE", "/sys/fs/cgroup/memory/berth/c/tasks", "0"],
      ["WRITE_FILE", "/sys/fs/cgroup/pids/berth/c/tasks", "0"],
      ["OPEN_PATH", 63, "/sys/fs/cgroup/unified/berth/c"],
    ]);
    expect(names(p).slice(3, 6)).toEqual(["SETNS", "SETNS", "FORK"]);
    expect(p.ops[5]!.args).toEqual([1, 0, 63]);
    expect(p.runtimeJoins).toEqual([]);
  });

  test("a container with a cgroup namespace: joined before the fork, so the runtime joins the cgroup2 directory", () => {
    const linux = { namespaces: [{ type: "mount" as const }, { type: "cgroup" as const }] };
    const p = compileExecPlan(proc(), ctx(linux, { cgroup, cloneIntoCgroup: true }));
    expect(p.runtimeJoins).toEqual(["/sys/fs/cgroup/unified/berth/c"]);
    expect(names(p).slice(2, 5)).toEqual(["SETNS", "SETNS", "FORK"]);
    expect(p.ops[4]!.args[2]).toBe(64);
  });

  test("a container with a user namespace: the runtime joins the cgroup2 directory and every namespace is joined before the fork", () => {
    const linux = { namespaces: [{ type: "mount" as const }, { type: "user" as const }, { type: "cgroup" as const }] };
    const p = compileExecPlan(proc(), ctx(linux, { cgroup, cloneIntoCgroup: true }));
    expect(p.runtimeJoins).toEqual(["/sys/fs/cgroup/unified/berth/c"]);
    expect(names(p).slice(2, 6)).toEqual(["SETNS", "SETNS", "SETNS", "FORK"]);
    expect(p.ops[5]!.args[2]).toBe(64);
  });

  test("no cgroup directories (a rootless container without one): no steps, nothing for the runtime", () => {
    const p = compileExecPlan(proc(), ctx({ namespaces: [{ type: "mount" as const }] }, { cloneIntoCgroup: true }));
    expect(names(p).slice(0, 2)).toEqual(["SETNS", "FORK"]);
    expect(p.runtimeJoins).toEqual([]);
  });
});
