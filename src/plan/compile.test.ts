import { describe, expect, test } from "bun:test";
import { errorOf } from "../../test/berth-error.ts";
import { clientSpec, clientSpecNames } from "../../test/client-specs.ts";
import { validateSpec } from "../spec/validate-config.ts";
import { defaultSpec } from "../spec/default-spec.ts";
import type { Mount, Spec } from "../spec/runtime-spec.ts";
import { compilePlan, DEFAULT_DEVICE_RULES, type CompiledPlan, type PlanContext } from "./compile.ts";
import { DEFAULT_PATH, execCandidates } from "./process-ops.ts";
import type { OpName, PlanOp } from "./ops.ts";
import {
  MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED, MS_RELATIME, MS_STRICTATIME, CLONE_NEWTIME, CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
} from "../../test/kernel-constants.ts";

const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;

const CAP_CHOWN = 0n;
const CAP_KILL = 5n;
const CAP_NET_BIND_SERVICE = 10n;
const CAP_AUDIT_WRITE = 29n;
const bit = (n: bigint) => 1n << n;

// MOUNT_IN_ROOT's `create` argument (native/PROTOCOL.md)
const CREATE_NONE = 0;
const CREATE_DIR = 1;
const CREATE_FILE = 2;
const CREATE_LIKE_SOURCE = 3;

const R = "/b/rootfs";

const CTX: PlanContext = {
  id: "t",
  bundle: "/b",
  rootfs: R,
  stateDir: "/run/berth/t",
  // cgroup v2 before Linux 5.7: the runtime puts the helper in the cgroup, the plan has
  // no step for it (the other cases have tests of their own)
  cgroup: { mode: "v2", v1: [], unified: { hostDir: "/sys/fs/cgroup/berth/t" } },
  lastCap: 40,
  hasKcore: true,
};
const CG = "/sys/fs/cgroup/berth/t";
const NO_SLOT = 64;
const CGROUP_SLOT = 63;
/** as CTX, on a kernel with CLONE_INTO_CGROUP */
const CLONE_INTO = { cloneIntoCgroup: true };

/** A hybrid host: one v1 hierarchy (memory) plus the cgroup2 one. */
const HYBRID: PlanContext["cgroup"] = {
  mode: "hybrid",
  v1: [{ name: "memory", controllers: ["memory"], hostDir: "/sys/fs/cgroup/memory/berth/t" }],
  unified: { hostDir: "/sys/fs/cgroup/unified/berth/t" },
};

/** The default spec without a terminal (create without --console-socket cannot have one). */
function quietSpec(): Spec {
  const s = defaultSpec();
  s.process!.terminal = false;
  return s;
}

/** The default spec (`berth-runtime spec`), changed by `edit`, compiled with CTX plus `ctx`. */
function plan(edit?: (s: Spec) => void, ctx: Partial<PlanContext> = {}): CompiledPlan {
  const s = quietSpec();
  edit?.(s);
  return compilePlan(s, { ...CTX, ...ctx });
}

function compileError(edit: (s: Spec) => void, ctx: Partial<PlanContext> = {}) {
  return errorOf(() => plan(edit, ctx));
}

const names = (p: CompiledPlan): OpName[] => p.ops.map((o) => o.op);
const all = (p: CompiledPlan, op: OpName): PlanOp[] => p.ops.filter((o) => o.op === op);
const indexOf = (p: CompiledPlan, op: OpName): number => p.ops.findIndex((o) => o.op === op);

/** The single op named `op`; fails when there are none or several. */
function one(p: CompiledPlan, op: OpName): PlanOp {
  const found = all(p, op);
  expect(found.map((o) => o.op)).toEqual([op]);
  return found[0]!;
}

/** Args of the ops made for mounts[i]. */
function mountArgs(p: CompiledPlan, i: number) {
  return p.ops.filter((o) => o.field.startsWith(`mounts[${i}] `)).map((o) => [o.op, ...o.args]);
}

/** Replace the namespaces list. */
function namespaces(s: Spec, list: NonNullable<NonNullable<Spec["linux"]>["namespaces"]>): void {
  s.linux!.namespaces = list;
}

const USERNS: Partial<NonNullable<Spec["linux"]>> = {
  uidMappings: [{ containerID: 0, hostID: 1000, size: 65536 }],
  gidMappings: [{ containerID: 0, hostID: 1000, size: 65536 }],
};

function withUserns(s: Spec): void {
  s.linux!.namespaces!.push({ type: "user" });
  Object.assign(s.linux!, USERNS);
}

function addMount(s: Spec, m: Mount): void {
  s.mounts!.push(m);
}

/** The ops (name and args) for `m` added after the default spec's seven mounts, as mounts[7]. */
function extraMountOps(m: Mount): unknown[][] {
  return mountArgs(plan((s) => addMount(s, m)), 7);
}

describe("compilePlan: the default spec, step by step", () => {
  test("the whole op sequence, in runc's order", () => {
    const p = plan(undefined, { cgroup: HYBRID });
    expect(names(p)).toEqual([
      "WRITE_FILE", // join the memory hierarchy (tasks)
      "OPEN_DIR", "UNSHARE", "FORK",
      "SETSID", "JOIN_KEYRING", "LOOPBACK_UP",
      "MOUNT", "MOUNT",
      // proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys
      "MOUNT_IN_ROOT", "MOUNT_IN_ROOT", "MOUNT_IN_ROOT", "MOUNT_IN_ROOT", "MOUNT_IN_ROOT", "MOUNT_IN_ROOT",
      // /sys/fs/cgroup on a hybrid host: tmpfs, memory bind + remount, unified bind + remount, ro remount
      "MOUNT_IN_ROOT", "MOUNT_IN_ROOT", "MOUNT_IN_ROOT", "MOUNT_IN_ROOT", "MOUNT_IN_ROOT", "MOUNT_IN_ROOT",
      "MKNOD_IN_ROOT", "MKNOD_IN_ROOT", "MKNOD_IN_ROOT", "MKNOD_IN_ROOT", "MKNOD_IN_ROOT", "MKNOD_IN_ROOT",
      "SYMLINK_IN_ROOT", "SYMLINK_IN_ROOT", "SYMLINK_IN_ROOT", "SYMLINK_IN_ROOT", "SYMLINK_IN_ROOT", "SYMLINK_IN_ROOT",
      "BIND_SELF_IN_ROOT", "MOUNT_IN_ROOT", "BIND_SELF_IN_ROOT", "MOUNT_IN_ROOT", "BIND_SELF_IN_ROOT", "MOUNT_IN_ROOT",
      "BIND_SELF_IN_ROOT", "MOUNT_IN_ROOT", "BIND_SELF_IN_ROOT", "MOUNT_IN_ROOT",
      "MASK_PATH", "MASK_PATH", "MASK_PATH", "MASK_PATH", "MASK_PATH",
      "MASK_PATH", "MASK_PATH", "MASK_PATH", "MASK_PATH", "MASK_PATH",
      "PIVOT_ROOT", "MOUNT",
      "SETHOSTNAME", "SETRLIMIT", "CHDIR", "SETGROUPS", "CAPS", "NO_NEW_PRIVS", "FIND_EXEC",
      "UMASK", "CLOSE_FROM", "RESET_SIGNALS", "READY", "WAIT_START", "EXEC",
    ]);
  });

  test("all five namespaces are created by one unshare with their CLONE_* bits", () => {
    const p = plan();
    const u = one(p, "UNSHARE");
    expect(u.args).toEqual([CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS]);
    expect(u.field).toBe("linux.namespaces");
    expect(u.what).toBe("create pid, network, ipc, uts, mount namespaces");
    expect([...p.newNamespaces]).toEqual(["pid", "network", "ipc", "uts", "mount"]);
    expect(p.userns).toBeUndefined();
  });

  test("FORK does not wait (detached) unless the run is in the foreground", () => {
    expect(one(plan(), "FORK").args).toEqual([0, 0, NO_SLOT]);
    expect(one(plan(undefined, { foreground: true }), "FORK").args).toEqual([1, 0, NO_SLOT]);
  });

  test("the init starts a session, opens the state dir and joins a keyring named after the container", () => {
    const p = plan();
    expect(one(p, "SETSID").args).toEqual([]);
    expect(one(p, "OPEN_DIR").args).toEqual(["/run/berth/t"]);
    expect(one(p, "JOIN_KEYRING").args).toEqual(["t"]);
  });

  test("--no-new-keyring leaves the keyring alone", () => {
    expect(names(plan(undefined, { noNewKeyring: true }))).not.toContain("JOIN_KEYRING");
  });

  test("a new network namespace brings lo up", () => {
    expect(one(plan(), "LOOPBACK_UP").field).toBe("linux.namespaces[1]");
  });

  test("/ is made rslave, then the rootfs is bind-mounted onto itself recursively", () => {
    const [prop, self] = all(plan(), "MOUNT");
    expect(prop!.args).toEqual(["", "/", "", MS_SLAVE | MS_REC, ""]);
    expect(prop!.what).toBe("make / rslave");
    expect(self!.args).toEqual([R, R, "", MS_BIND | MS_REC, ""]);
    expect(self!.field).toBe("root.path");
  });

  test("proc is mounted with no flags, creating the directory", () => {
    const p = plan();
    expect(mountArgs(p, 0)).toEqual([["MOUNT_IN_ROOT", R, "/proc", "proc", "proc", 0, "", CREATE_DIR, 0]]);
    const op = p.ops.find((o) => o.field === "mounts[0] (/proc)")!;
    expect(op.what).toBe("mount proc on /proc");
  });

  test("/dev is a tmpfs with nosuid,strictatime and the rest as data", () => {
    expect(mountArgs(plan(), 1)).toEqual([
      ["MOUNT_IN_ROOT", R, "/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k", CREATE_DIR, 0],
    ]);
  });

  test("/dev/pts passes newinstance and the modes as devpts data", () => {
    expect(mountArgs(plan(), 2)).toEqual([
      ["MOUNT_IN_ROOT", R, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5", CREATE_DIR, 0],
    ]);
  });

  test("/dev/shm uses the spec's source (shm) with the tmpfs type", () => {
    expect(mountArgs(plan(), 3)).toEqual([
      ["MOUNT_IN_ROOT", R, "/dev/shm", "shm", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=1777,size=65536k", CREATE_DIR, 0],
    ]);
  });

  test("/sys is a read-only sysfs", () => {
    expect(mountArgs(plan(), 5)).toEqual([
      ["MOUNT_IN_ROOT", R, "/sys", "sysfs", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, "", CREATE_DIR, 0],
    ]);
  });

  test("a mount without a source uses its type as the source", () => {
    const p = plan((s) => delete s.mounts![0]!.source);
    expect(mountArgs(p, 0)[0]![3]).toBe("proc");
  });

  test("the six default devices are made with mknod: S_IFCHR|0666, makedev(major, minor), root-owned", () => {
    const p = plan();
    expect(all(p, "MKNOD_IN_ROOT").map((o) => o.args)).toEqual([
      [R, "/dev/null", S_IFCHR | 0o666, 259n, 0, 0],
      [R, "/dev/zero", S_IFCHR | 0o666, 261n, 0, 0],
      [R, "/dev/full", S_IFCHR | 0o666, 263n, 0, 0],
      [R, "/dev/random", S_IFCHR | 0o666, 264n, 0, 0],
      [R, "/dev/urandom", S_IFCHR | 0o666, 265n, 0, 0],
      [R, "/dev/tty", S_IFCHR | 0o666, 1280n, 0, 0],
    ]);
    expect(all(p, "MKNOD_IN_ROOT")[0]!.field).toBe("default device /dev/null");
  });

  test("the /dev symlinks, /dev/core only when the host has /proc/kcore", () => {
    const links = (p: CompiledPlan) => all(p, "SYMLINK_IN_ROOT").map((o) => o.args);
    expect(links(plan())).toEqual([
      [R, "/proc/self/fd", "/dev/fd"],
      [R, "/proc/self/fd/0", "/dev/stdin"],
      [R, "/proc/self/fd/1", "/dev/stdout"],
      [R, "/proc/self/fd/2", "/dev/stderr"],
      [R, "/proc/kcore", "/dev/core"],
      [R, "pts/ptmx", "/dev/ptmx"],
    ]);
    expect(links(plan(undefined, { hasKcore: false })).map((a) => a[2])).toEqual(["/dev/fd", "/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/ptmx"]);
  });

  test("each readonly path is bound onto itself, then remounted read-only (both optional)", () => {
    const p = plan();
    const i = indexOf(p, "BIND_SELF_IN_ROOT");
    expect(p.ops[i]!.args).toEqual([R, "/proc/bus", 1]);
    expect(p.ops[i]!.field).toBe("linux.readonlyPaths[0]");
    expect(p.ops[i + 1]!.op).toBe("MOUNT_IN_ROOT");
    expect(p.ops[i + 1]!.args).toEqual([R, "/proc/bus", "", "", MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, "", CREATE_NONE, 1]);
    expect(all(p, "BIND_SELF_IN_ROOT").map((o) => o.args[1])).toEqual(["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]);
  });

  test("each masked path gets a MASK_PATH, in order", () => {
    const masks = all(plan(), "MASK_PATH");
    expect(masks.length).toBe(10);
    expect(masks[0]!.args).toEqual([R, "/proc/acpi"]);
    expect(masks[9]!.args).toEqual([R, "/proc/scsi"]);
    expect(masks[2]!.field).toBe("linux.maskedPaths[2]");
  });

  test("pivot_root into the rootfs, after the masks", () => {
    const p = plan();
    expect(one(p, "PIVOT_ROOT").args).toEqual([R]);
    expect(indexOf(p, "PIVOT_ROOT")).toBeGreaterThan(p.ops.findLastIndex((o) => o.op === "MASK_PATH"));
    expect(names(p)).not.toContain("MOVE_CHROOT");
  });

  test("--no-pivot moves the rootfs to / and chroots instead", () => {
    const p = plan(undefined, { noPivot: true });
    expect(one(p, "MOVE_CHROOT").args).toEqual([R]);
    expect(names(p)).not.toContain("PIVOT_ROOT");
  });

  test("--no-pivot covers the host's whole procfs and sysfs mounts outside the root, deepest first, right before the move", () => {
    const m = (mountPoint: string, fsType: string, root = "/") => ({ mountId: 1, parentId: 0, root, mountPoint, fsType, source: fsType, superOptions: [] });
    const hostMounts = [m("/", "ext4"), m("/proc", "proc"), m("/sys", "sysfs"), m("/run/x/proc", "proc"), m(`${R}/proc`, "proc"), m("/mnt/sys-part", "sysfs", "/kernel"), m("/sys/fs/cgroup", "tmpfs")];
    const p = plan(undefined, { noPivot: true, hostMounts });
    const covers = p.ops.filter((o) => o.op === "MOUNT" && o.args[0] === "tmpfs");
    expect(covers.map((o) => o.args[1])).toEqual(["/run/x/proc", "/proc", "/sys"]);
    expect(indexOf(p, "MOVE_CHROOT")).toBe(p.ops.indexOf(covers[2]!) + 1);
    expect(plan(undefined, { hostMounts }).ops.filter((o) => o.op === "MOUNT" && o.args[0] === "tmpfs")).toEqual([]);
  });

  test("root.readonly remounts / read-only right after pivot_root", () => {
    const p = plan();
    const after = p.ops[indexOf(p, "PIVOT_ROOT") + 1]!;
    expect(after.op).toBe("MOUNT");
    expect(after.args).toEqual(["", "/", "", MS_REMOUNT | MS_BIND | MS_RDONLY, ""]);
    expect(after.field).toBe("root.readonly");
  });

  test("a writable root gets no remount", () => {
    const p = plan((s) => (s.root!.readonly = false));
    expect(p.ops.filter((o) => o.field === "root.readonly")).toEqual([]);
  });

  test("the hostname is set", () => {
    expect(one(plan(), "SETHOSTNAME").args).toEqual(["runc"]);
  });

  test("the domainname is set with its own op", () => {
    expect(one(plan((s) => (s.domainname = "example.org")), "SETDOMAINNAME").args).toEqual(["example.org"]);
  });

  test("rlimits become setrlimit numbers: RLIMIT_NOFILE is 7", () => {
    const op = one(plan(), "SETRLIMIT");
    expect(op.args).toEqual([7, 1024, 1024]);
    expect(op.field).toBe("process.rlimits[0]");
  });

  test("RLIMIT_CORE is 4 and RLIMIT_NPROC is 6, soft before hard", () => {
    const p = plan((s) => (s.process!.rlimits = [{ type: "RLIMIT_CORE", soft: 0, hard: 100 }, { type: "RLIMIT_NPROC", soft: 50, hard: 60 }]));
    expect(all(p, "SETRLIMIT").map((o) => o.args)).toEqual([[4, 0, 100], [6, 50, 60]]);
  });

  test("chdir to the cwd", () => {
    expect(one(plan(), "CHDIR").args).toEqual(["/"]);
  });

  test("a cwd other than / is created in the rootfs (0755) before pivot_root", () => {
    const p = plan((s) => (s.process!.cwd = "/work/dir"));
    const mk = one(p, "MKDIR_IN_ROOT");
    expect(mk.args).toEqual([R, "/work/dir", 0o755]);
    expect(indexOf(p, "MKDIR_IN_ROOT")).toBeLessThan(indexOf(p, "PIVOT_ROOT"));
    expect(one(p, "CHDIR").args).toEqual(["/work/dir"]);
  });

  test("FIND_EXEC lists args[0] in each PATH directory", () => {
    expect(one(plan(), "FIND_EXEC").args).toEqual([
      "/usr/local/sbin/sh", "/usr/local/bin/sh", "/usr/sbin/sh", "/usr/bin/sh", "/sbin/sh", "/bin/sh",
    ]);
  });

  test("FIND_EXEC uses the default PATH when the env has none", () => {
    const op = one(plan((s) => (s.process!.env = ["TERM=xterm"])), "FIND_EXEC");
    expect(op.args).toEqual(DEFAULT_PATH.split(":").map((d) => `${d}/sh`));
  });

  test("FIND_EXEC for a path with a / is that path only", () => {
    const op = one(plan((s) => (s.process!.args = ["./bin/app", "-v"])), "FIND_EXEC");
    expect(op.args).toEqual(["./bin/app"]);
    expect(op.what).toBe(`find "./bin/app"`);
    expect(op.field).toBe("process.args[0]");
  });

  test("root with capabilities: no KEEPCAPS and no setresuid, groups cleared", () => {
    const p = plan();
    expect(names(p)).not.toContain("KEEPCAPS");
    expect(names(p)).not.toContain("SETRESUID");
    expect(names(p)).not.toContain("SETRESGID");
    expect(one(p, "SETGROUPS").args).toEqual([]);
  });

  test("a non-root user: keep caps across setresgid/setresuid, then stop keeping them", () => {
    const p = plan((s) => (s.process!.user = { uid: 1000, gid: 100, additionalGids: [10, 20] }));
    const seq = p.ops
      .filter((o) => ["KEEPCAPS", "SETGROUPS", "SETRESGID", "SETRESUID", "CAPS"].includes(o.op))
      .map((o) => [o.op, ...o.args.filter((a) => typeof a !== "bigint")]);
    expect(seq).toEqual([
      ["KEEPCAPS", 1],
      ["SETGROUPS", 10, 20],
      ["SETRESGID", 100],
      ["SETRESUID", 1000],
      ["KEEPCAPS", 0],
      ["CAPS"],
    ]);
  });

  test("a non-root user without capabilities does not touch KEEPCAPS", () => {
    const p = plan((s) => {
      s.process!.user = { uid: 1000, gid: 1000 };
      delete s.process!.capabilities;
    });
    expect(names(p)).not.toContain("KEEPCAPS");
    expect(names(p)).not.toContain("CAPS");
    expect(one(p, "SETRESUID").args).toEqual([1000]);
  });

  test("root with supplementary groups still switches ids (gid 0, uid 0)", () => {
    const p = plan((s) => (s.process!.user = { uid: 0, gid: 0, additionalGids: [0] }));
    expect(one(p, "SETGROUPS").args).toEqual([0]);
    expect(one(p, "SETRESGID").args).toEqual([0]);
    expect(one(p, "SETRESUID").args).toEqual([0]);
  });

  test("CAPS: bit masks in the wire order bounding, effective, permitted, inheritable, ambient", () => {
    const three = bit(CAP_KILL) | bit(CAP_NET_BIND_SERVICE) | bit(CAP_AUDIT_WRITE);
    expect(three).toBe(536871968n);
    // ambient needs inheritable too: runc's default lists none, so none are raised
    expect(one(plan(), "CAPS").args).toEqual([three, three, three, 0n, 0n]);
    const withInh = plan((s) => (s.process!.capabilities!.inheritable = ["CAP_KILL"]));
    expect(one(withInh, "CAPS").args).toEqual([three, three, three, bit(CAP_KILL), bit(CAP_KILL)]);
  });

  test("CAPS: inheritable is the fourth mask and permitted the third", () => {
    const op = one(plan((s) => (s.process!.capabilities = { permitted: ["CAP_KILL"], inheritable: ["CAP_CHOWN"] })), "CAPS");
    expect(op.args).toEqual([0n, 0n, bit(CAP_KILL), bit(CAP_CHOWN), 0n]);
  });

  test("capability names are matched case-insensitively", () => {
    const op = one(plan((s) => (s.process!.capabilities = { bounding: ["cap_kill"] })), "CAPS");
    expect(op.args[0]).toBe(bit(CAP_KILL));
  });

  test("a capability this kernel lacks is skipped with a warning, not an error", () => {
    const p = plan((s) => s.process!.capabilities!.bounding!.push("CAP_CHECKPOINT_RESTORE"), { lastCap: 38 });
    expect(p.warnings).toEqual([{ field: "process.capabilities.bounding[3]", message: "CAP_CHECKPOINT_RESTORE is not known to this kernel; skipped" }]);
    expect(one(p, "CAPS").args[0]).toBe(bit(CAP_KILL) | bit(CAP_NET_BIND_SERVICE) | bit(CAP_AUDIT_WRITE));
  });

  test("CAP_CHECKPOINT_RESTORE (40) is kept when the kernel's last cap is 40", () => {
    const p = plan((s) => (s.process!.capabilities = { bounding: ["CAP_CHECKPOINT_RESTORE"] }));
    expect(p.warnings).toEqual([]);
    expect(one(p, "CAPS").args[0]).toBe(1n << 40n);
  });

  test("noNewPrivileges sets no_new_privs; without it there is no such op", () => {
    expect(one(plan(), "NO_NEW_PRIVS").args).toEqual([]);
    expect(names(plan((s) => (s.process!.noNewPrivileges = false)))).not.toContain("NO_NEW_PRIVS");
  });

  test("umask is 0o022 unless the user sets one", () => {
    expect(one(plan(), "UMASK").args).toEqual([0o022]);
    expect(one(plan((s) => (s.process!.user.umask = 0o077)), "UMASK").args).toEqual([0o077]);
  });

  test("CLOSE_FROM starts after stdio and the preserved fds", () => {
    expect(one(plan(), "CLOSE_FROM").args).toEqual([3]);
    expect(one(plan(undefined, { preserveFds: 2 }), "CLOSE_FROM").args).toEqual([5]);
  });

  test("READY, then WAIT_START on exec.fifo, then EXEC as the last three ops", () => {
    const p = plan();
    expect(names(p).slice(-3)).toEqual(["READY", "WAIT_START", "EXEC"]);
    expect(one(p, "WAIT_START").args).toEqual(["exec.fifo"]);
  });

  test("EXEC carries argc, argv, then env with HOME=/ added", () => {
    expect(one(plan(), "EXEC").args).toEqual([
      1, "sh", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "HOME=/",
    ]);
  });

  test("EXEC gets HOME from the image's passwd entry when given", () => {
    const args = one(plan((s) => (s.process!.args = ["sleep", "10"]), { home: "/root" }), "EXEC").args;
    expect(args.slice(0, 3)).toEqual([2, "sleep", "10"]);
    expect(args.at(-1)).toBe("HOME=/root");
  });

  test("EXEC keeps the spec's HOME and adds no second one", () => {
    const args = one(plan((s) => s.process!.env!.push("HOME=/home/me"), { home: "/root" }), "EXEC").args;
    expect(args.filter((a) => typeof a === "string" && a.startsWith("HOME="))).toEqual(["HOME=/home/me"]);
  });

  test("oomScoreAdj is written to /proc/self/oom_score_adj", () => {
    const op = one(plan((s) => (s.process!.oomScoreAdj = -500)), "WRITE_FILE");
    expect(op.args).toEqual(["/proc/self/oom_score_adj", "-500"]);
    expect(op.field).toBe("process.oomScoreAdj");
  });

  test("the spec is not modified by compiling it", () => {
    const s = quietSpec();
    compilePlan(s, CTX);
    expect(s).toEqual(quietSpec());
  });
});

describe("compilePlan: joining namespaces by path", () => {
  const joined = (s: Spec) =>
    namespaces(s, [
      { type: "mount", path: "/proc/42/ns/mnt" },
      { type: "network", path: "/proc/42/ns/net" },
      { type: "pid" },
      { type: "user", path: "/proc/42/ns/user" },
      { type: "ipc", path: "/proc/42/ns/ipc" },
      { type: "uts" },
    ]);

  test("setns order: user first, mount last, each with its CLONE_* type", () => {
    const p = plan(joined);
    expect(all(p, "SETNS").map((o) => o.args)).toEqual([
      ["/proc/42/ns/user", CLONE_NEWUSER],
      ["/proc/42/ns/ipc", CLONE_NEWIPC],
      ["/proc/42/ns/net", CLONE_NEWNET],
      ["/proc/42/ns/mnt", CLONE_NEWNS],
    ]);
  });

  test("each setns names its own linux.namespaces entry", () => {
    const p = plan(joined);
    expect(all(p, "SETNS").map((o) => o.field)).toEqual(["linux.namespaces[3]", "linux.namespaces[4]", "linux.namespaces[1]", "linux.namespaces[0]"]);
    expect(all(p, "SETNS")[0]!.what).toBe("join user namespace /proc/42/ns/user");
  });

  test("the joins come first, then one unshare for the new ones only", () => {
    const p = plan(joined);
    expect(names(p).slice(0, 7)).toEqual(["OPEN_DIR", "SETNS", "SETNS", "SETNS", "SETNS", "UNSHARE", "FORK"]);
    expect(one(p, "UNSHARE").args).toEqual([CLONE_NEWPID | CLONE_NEWUTS]);
    expect([...p.newNamespaces]).toEqual(["pid", "uts"]);
  });

  test("a joined mount namespace is used as it is: no rootfs, no pivot_root", () => {
    const p = plan(joined);
    for (const op of ["MOUNT", "MOUNT_IN_ROOT", "MKNOD_IN_ROOT", "MASK_PATH", "PIVOT_ROOT", "BIND_SELF_IN_ROOT"] as const) {
      expect(names(p)).not.toContain(op);
    }
  });

  test("a joined network namespace is not brought up again", () => {
    expect(names(plan(joined))).not.toContain("LOOPBACK_UP");
  });

  test("a joined user namespace needs no mappings and no sync", () => {
    const p = plan(joined);
    expect(names(p)).not.toContain("USERNS_SYNC");
    expect(p.userns).toBeUndefined();
  });
});

describe("compilePlan: a new user namespace", () => {
  test("unshare the user namespace alone, wait for the maps, become root in it, then unshare the rest", () => {
    const p = plan(withUserns);
    expect(p.ops.slice(0, 7).map((o) => [o.op, ...o.args])).toEqual([
      ["OPEN_DIR", "/run/berth/t"],
      ["UNSHARE", CLONE_NEWUSER],
      ["USERNS_SYNC"],
      ["SETRESGID", 0],
      ["SETRESUID", 0],
      ["UNSHARE", CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS],
      ["FORK", 0, 0, NO_SLOT],
    ]);
    expect(p.ops[1]!.field).toBe("linux.namespaces[5]");
  });

  test("the uid and gid maps are the text /proc/PID/uid_map takes", () => {
    const p = plan((s) => {
      withUserns(s);
      s.linux!.gidMappings = [{ containerID: 0, hostID: 2000, size: 1 }, { containerID: 1, hostID: 100000, size: 65535 }];
    });
    expect(p.userns).toEqual({ uidMap: "0 1000 65536\n", gidMap: "0 2000 1\n1 100000 65535\n" });
  });

  test("maps without container id 0 do not switch to id 0 before unsharing", () => {
    const p = plan((s) => {
      withUserns(s);
      s.linux!.uidMappings = [{ containerID: 1000, hostID: 1000, size: 1 }];
      s.linux!.gidMappings = [{ containerID: 1000, hostID: 1000, size: 1 }];
      s.process!.user = { uid: 1000, gid: 1000 };
    });
    expect(names(p).slice(0, 5)).toEqual(["OPEN_DIR", "UNSHARE", "USERNS_SYNC", "UNSHARE", "FORK"]);
  });

  test("devices are bind-mounted from the host instead of mknod", () => {
    const p = plan(withUserns);
    expect(names(p)).not.toContain("MKNOD_IN_ROOT");
    const binds = p.ops.filter((o) => o.field.startsWith("default device "));
    expect(binds.map((o) => o.args)).toEqual(
      ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"].map((d) => [R, d, d, "", MS_BIND, "", CREATE_FILE, 0]),
    );
  });

  test("setgroups is left alone (it may be denied) and the ids are still set", () => {
    const p = plan(withUserns);
    expect(names(p)).not.toContain("SETGROUPS");
    expect(all(p, "SETRESGID").map((o) => o.args)).toEqual([[0], [0]]);
    expect(all(p, "SETRESUID").map((o) => o.args)).toEqual([[0], [0]]);
  });

  test("sysfs in a new user namespace needs a new network namespace", () => {
    const err = compileError((s) => {
      withUserns(s);
      namespaces(s, s.linux!.namespaces!.filter((n) => n.type !== "network"));
    });
    expect(err.field).toBe("mounts[5].type");
    expect(err.message).toStartWith("mounts[5].type: sysfs cannot be mounted in a user namespace without a new network namespace");
  });
});

describe("compilePlan: joining the cgroup without the global cgroup lock", () => {
  test("v1: the helper writes itself (\"0\") into each hierarchy's tasks file, before anything else", () => {
    const p = plan(undefined, { cgroup: HYBRID, ...CLONE_INTO });
    expect(p.ops[0]!.op).toBe("WRITE_FILE");
    expect(p.ops[0]!.args).toEqual(["/sys/fs/cgroup/memory/berth/t/tasks", "0"]);
    expect(p.ops[0]!.field).toBe("linux.cgroupsPath");
    expect(p.ops[0]!.hint?.errno).toBe(28); // ENOSPC: an empty cpuset
  });

  test("cgroup v2: its directory is opened while the path is the host's, and the init is forked into it; the runtime writes no pid", () => {
    const p = plan(undefined, { cgroup: HYBRID, ...CLONE_INTO });
    expect([p.ops[1]!.op, ...p.ops[1]!.args]).toEqual(["OPEN_PATH", CGROUP_SLOT, "/sys/fs/cgroup/unified/berth/t"]);
    expect(p.ops[2]!.op).toBe("OPEN_DIR");
    expect(one(p, "FORK").args).toEqual([0, 0, CGROUP_SLOT]);
    expect(one(p, "FORK").hint?.errno).toBe(16); // EBUSY: not a leaf
    expect(p.runtimeJoins).toEqual([]);
  });

  test("a new cgroup namespace is made by the init after the fork, so its root is the container's cgroup", () => {
    const p = plan((s) => s.linux!.namespaces!.push({ type: "cgroup" }), CLONE_INTO);
    const before = p.ops.slice(0, indexOf(p, "FORK"));
    expect(before.filter((o) => o.op === "UNSHARE").map((o) => o.args[0])).toEqual([CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS]);
    const after = p.ops[indexOf(p, "FORK") + 1]!;
    expect([after.op, after.args[0], after.field]).toEqual(["UNSHARE", CLONE_NEWCGROUP, "linux.namespaces[5]"]);
  });

  test("in a user namespace the helper's credentials may not write the host's cgroup: the runtime joins it, and the cgroup namespace is made before the fork", () => {
    const p = plan((s) => {
      withUserns(s);
      s.linux!.namespaces!.push({ type: "cgroup" });
    }, CLONE_INTO);
    expect(one(p, "FORK").args[2]).toBe(NO_SLOT);
    expect(names(p)).not.toContain("OPEN_PATH");
    expect(p.runtimeJoins).toEqual([CG]);
    const unshares = all(p, "UNSHARE");
    expect((unshares[1]!.args[0] as number) & CLONE_NEWCGROUP).toBe(CLONE_NEWCGROUP);
    expect(indexOf(p, "FORK")).toBeGreaterThan(p.ops.indexOf(unshares.at(-1)!));
  });

  test("a cgroup namespace joined by path, or a kernel before 5.7: the runtime joins the cgroup2 directory", () => {
    const joined = plan((s) => s.linux!.namespaces!.push({ type: "cgroup", path: "/proc/42/ns/cgroup" }), CLONE_INTO);
    expect(joined.runtimeJoins).toEqual([CG]);
    expect(one(joined, "FORK").args[2]).toBe(NO_SLOT);
    const old = plan();
    expect(old.runtimeJoins).toEqual([CG]);
    expect(one(old, "FORK").args[2]).toBe(NO_SLOT);
  });

  test("no cgroup of its own (rootless without delegation): nothing to join", () => {
    const p = plan(undefined, { cgroup: undefined, ...CLONE_INTO });
    expect(p.runtimeJoins).toEqual([]);
    expect(one(p, "FORK").args).toEqual([0, 0, NO_SLOT]);
    expect(p.ops[0]!.op).toBe("OPEN_DIR");
  });
});

describe("compilePlan: time namespace", () => {
  test("the offsets are written to /proc/self/timens_offsets after the unshare and before the fork", () => {
    const p = plan((s) => {
      s.linux!.namespaces!.push({ type: "time" });
      s.linux!.timeOffsets = { monotonic: { secs: 86400 }, boottime: { secs: 3600, nanosecs: 500 } };
    });
    expect(one(p, "UNSHARE").args[0]).toBe(CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWTIME);
    expect(names(p).slice(0, 4)).toEqual(["OPEN_DIR", "UNSHARE", "WRITE_FILE", "FORK"]);
    expect(one(p, "WRITE_FILE").args).toEqual(["/proc/self/timens_offsets", "monotonic 86400 0\nboottime 3600 500\n"]);
  });

  test("a time namespace without offsets writes nothing", () => {
    expect(names(plan((s) => s.linux!.namespaces!.push({ type: "time" })))).not.toContain("WRITE_FILE");
  });
});

describe("compilePlan: cgroup mounts", () => {
  const V2: PlanContext["cgroup"] = { mode: "v2", v1: [], unified: { hostDir: "/sys/fs/cgroup/berth/t" } };
  const CG_FLAGS = MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY;

  test("v2 with its own cgroup namespace: a fresh cgroup2 mount", () => {
    const p = plan((s) => s.linux!.namespaces!.push({ type: "cgroup" }), { cgroup: V2 });
    expect(mountArgs(p, 6)).toEqual([["MOUNT_IN_ROOT", R, "/sys/fs/cgroup", "cgroup", "cgroup2", CG_FLAGS, "", CREATE_DIR, 0]]);
  });

  test("v2 without a cgroup namespace: the container's host directory bound in, then remounted with the options", () => {
    const p = plan(undefined, { cgroup: V2 });
    expect(mountArgs(p, 6)).toEqual([
      ["MOUNT_IN_ROOT", R, "/sys/fs/cgroup", "/sys/fs/cgroup/berth/t", "", MS_BIND | MS_REC, "", CREATE_DIR, 0],
      ["MOUNT_IN_ROOT", R, "/sys/fs/cgroup", "", "", MS_BIND | MS_REMOUNT | CG_FLAGS, "", CREATE_NONE, 0],
    ]);
  });

  test("v2 bind without flags needs no remount", () => {
    const p = plan((s) => (s.mounts![6]!.options = ["rw"]), { cgroup: V2 });
    expect(mountArgs(p, 6).length).toBe(1);
  });

  test("hybrid without a cgroup namespace: tmpfs, each hierarchy and unified bound in, then / read-only", () => {
    expect(mountArgs(plan(undefined, { cgroup: HYBRID }), 6)).toEqual([
      ["MOUNT_IN_ROOT", R, "/sys/fs/cgroup", "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755", CREATE_DIR, 0],
      ["MOUNT_IN_ROOT", R, "/sys/fs/cgroup/memory", "/sys/fs/cgroup/memory/berth/t", "", MS_BIND | MS_REC, "", CREATE_DIR, 0],
      ["MOUNT_IN_ROOT", R, "/sys/fs/cgroup/memory", "", "", MS_BIND | MS_REMOUNT | CG_FLAGS, "", CREATE_NONE, 0],
      ["MOUNT_IN_ROOT", R, "/sys/fs/cgroup/unified", "/sys/fs/cgroup/unified/berth/t", "", MS_BIND | MS_REC, "", CREATE_DIR, 0],
      ["MOUNT_IN_ROOT", R, "/sys/fs/cgroup/unified", "", "", MS_BIND | MS_REMOUNT | CG_FLAGS, "", CREATE_NONE, 0],
      ["MOUNT_IN_ROOT", R, "/sys/fs/cgroup", "", "", MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755", CREATE_NONE, 0],
    ]);
  });

  test("hybrid with a cgroup namespace: fresh cgroup mounts with the controllers as data", () => {
    const p = plan((s) => s.linux!.namespaces!.push({ type: "cgroup" }), { cgroup: HYBRID });
    expect(mountArgs(p, 6)).toEqual([
      ["MOUNT_IN_ROOT", R, "/sys/fs/cgroup", "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755", CREATE_DIR, 0],
      ["MOUNT_IN_ROOT", R, "/sys/fs/cgroup/memory", "cgroup", "cgroup", CG_FLAGS, "memory", CREATE_DIR, 0],
      ["MOUNT_IN_ROOT", R, "/sys/fs/cgroup/unified", "cgroup", "cgroup2", CG_FLAGS, "", CREATE_DIR, 0],
      ["MOUNT_IN_ROOT", R, "/sys/fs/cgroup", "", "", MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755", CREATE_NONE, 0],
    ]);
  });

  test("v1: a co-mounted hierarchy lists all its controllers; no unified; writable stays writable", () => {
    const cgroup: PlanContext["cgroup"] = {
      mode: "v1",
      v1: [
        { name: "cpu,cpuacct", controllers: ["cpu", "cpuacct"], hostDir: "/sys/fs/cgroup/cpu,cpuacct/berth/t" },
        { name: "systemd", controllers: ["name=systemd"], hostDir: "/sys/fs/cgroup/systemd/berth/t" },
      ],
    };
    const p = plan((s) => {
      s.linux!.namespaces!.push({ type: "cgroup" });
      s.mounts![6]!.options = ["nosuid"];
    }, { cgroup });
    expect(mountArgs(p, 6)).toEqual([
      ["MOUNT_IN_ROOT", R, "/sys/fs/cgroup", "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755", CREATE_DIR, 0],
      ["MOUNT_IN_ROOT", R, "/sys/fs/cgroup/cpu,cpuacct", "cgroup", "cgroup", MS_NOSUID, "cpu,cpuacct", CREATE_DIR, 0],
      ["MOUNT_IN_ROOT", R, "/sys/fs/cgroup/systemd", "cgroup", "cgroup", MS_NOSUID, "name=systemd", CREATE_DIR, 0],
    ]);
  });

  test("a cgroup mount's flags keep only nosuid/nodev/noexec/ro and atime ones", () => {
    const p = plan((s) => s.linux!.namespaces!.push({ type: "cgroup" }), { cgroup: V2 });
    const q = plan((s) => {
      s.linux!.namespaces!.push({ type: "cgroup" });
      s.mounts![6]!.options = ["nosuid", "sync", "dirsync", "remount"];
    }, { cgroup: V2 });
    expect(mountArgs(p, 6)[0]![5]).toBe(CG_FLAGS);
    expect(mountArgs(q, 6)[0]![5]).toBe(MS_NOSUID);
  });

  test("a cgroup2-typed mount is handled like a cgroup one", () => {
    const p = plan((s) => (s.mounts![6]!.type = "cgroup2"), { cgroup: V2 });
    expect(mountArgs(p, 6)[0]!.slice(0, 5)).toEqual(["MOUNT_IN_ROOT", R, "/sys/fs/cgroup", "/sys/fs/cgroup/berth/t", ""]);
  });

  test("without a cgroup of its own (rootless, no delegation) the cgroup mount is skipped with a warning", () => {
    const p = plan(() => {}, { cgroup: undefined });
    expect(mountArgs(p, 6)).toEqual([]);
    expect(p.warnings).toEqual([{ field: "mounts[6]", message: "the container has no cgroup of its own; /sys/fs/cgroup is left as the image has it" }]);
  });

  test("a v2 host without a cgroup2 hierarchy is an error", () => {
    const err = compileError(() => {}, { cgroup: { mode: "v2", v1: [] } });
    expect(err.message).toBe("mounts[6]: host has no cgroup2 hierarchy");
  });
});

describe("compilePlan: bind mounts and mount options", () => {
  test("an ro bind is a bind, then a remount with MS_RDONLY", () => {
    expect(extraMountOps({ destination: "/data", type: "bind", source: "/srv/data", options: ["rbind", "ro"] })).toEqual([
      ["MOUNT_IN_ROOT", R, "/data", "/srv/data", "", MS_BIND | MS_REC, "", CREATE_LIKE_SOURCE, 0],
      ["MOUNT_IN_ROOT", R, "/data", "", "", MS_BIND | MS_REMOUNT | MS_RDONLY, "", CREATE_NONE, 0],
    ]);
  });

  test("a plain rbind is one op", () => {
    expect(extraMountOps({ destination: "/data", type: "bind", source: "/srv/data", options: ["rbind"] })).toEqual([
      ["MOUNT_IN_ROOT", R, "/data", "/srv/data", "", MS_BIND | MS_REC, "", CREATE_LIKE_SOURCE, 0],
    ]);
  });

  test("the bind option without a type is a bind mount, not recursive", () => {
    expect(extraMountOps({ destination: "/data", source: "/srv/data", options: ["bind"] })).toEqual([
      ["MOUNT_IN_ROOT", R, "/data", "/srv/data", "", MS_BIND, "", CREATE_LIKE_SOURCE, 0],
    ]);
  });

  test("type bind without options is a non-recursive bind", () => {
    expect(extraMountOps({ destination: "/data", type: "bind", source: "/srv/data" })[0]![5]).toBe(MS_BIND);
  });

  test("a relative bind source is resolved against the bundle", () => {
    const p = plan((s) => addMount(s, { destination: "/data", type: "bind", source: "data/x", options: ["rbind"] }));
    const op = p.ops.find((o) => o.field === "mounts[7] (/data)")!;
    expect(op.args[2]).toBe("/b/data/x");
    expect(op.what).toBe("bind /b/data/x on /data");
  });

  test("nosuid,nodev,noexec on a bind go into the remount", () => {
    expect(extraMountOps({ destination: "/data", type: "bind", source: "/srv", options: ["bind", "nosuid", "nodev", "noexec"] })[1]).toEqual(
      ["MOUNT_IN_ROOT", R, "/data", "", "", MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC, "", CREATE_NONE, 0],
    );
  });

  test("each propagation option is its own op after the mount, in order", () => {
    expect(extraMountOps({ destination: "/data", type: "bind", source: "/srv", options: ["rbind", "rprivate", "shared"] }).slice(1)).toEqual([
      ["MOUNT_IN_ROOT", R, "/data", "", "", MS_PRIVATE | MS_REC, "", CREATE_NONE, 0],
      ["MOUNT_IN_ROOT", R, "/data", "", "", MS_SHARED, "", CREATE_NONE, 0],
    ]);
  });

  test("rro becomes a recursive MOUNT_SETATTR", () => {
    expect(extraMountOps({ destination: "/data", type: "bind", source: "/srv", options: ["rbind", "rro"] })).toEqual([
      ["MOUNT_IN_ROOT", R, "/data", "/srv", "", MS_BIND | MS_REC, "", CREATE_LIKE_SOURCE, 0],
      ["MOUNT_SETATTR", R, "/data", 0x1, 0, 0, 1],
    ]);
  });

  test("rnoatime on a tmpfs sets NOATIME and clears the atime mask", () => {
    expect(extraMountOps({ destination: "/scratch", type: "tmpfs", options: ["rnoatime", "size=1m"] })).toEqual([
      ["MOUNT_IN_ROOT", R, "/scratch", "tmpfs", "tmpfs", 0, "size=1m", CREATE_DIR, 0],
      ["MOUNT_SETATTR", R, "/scratch", 0x10, 0x70, 0, 1],
    ]);
  });

  test("remount in the options of a new mount is not passed to mount(2)", () => {
    expect(extraMountOps({ destination: "/scratch", type: "mqueue", options: ["remount", "ro"] })[0]![5]).toBe(MS_RDONLY);
  });

  test("a read-only /dev or tmpfs is mounted writable, its submounts and devices made, and remounted read-only after pivot_root (runc's order)", () => {
    const p = plan((s) => {
      s.mounts = s.mounts!.map((m) => (m.destination === "/dev" ? { ...m, options: [...(m.options ?? []), "ro"] } : m));
      addMount(s, { destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["ro", "nosuid"] });
      addMount(s, { destination: "/scratch/sub", type: "tmpfs", source: "tmpfs" });
    });
    const dev = p.ops.find((o) => o.what === "mount tmpfs on /dev")!;
    expect((dev.args[4] as number) & MS_RDONLY).toBe(0);
    expect((p.ops.find((o) => o.what === "mount tmpfs on /scratch")!.args[4] as number) & MS_RDONLY).toBe(0);
    const late = p.ops.filter((o) => o.op === "MOUNT" && (o.what.startsWith("remount /dev") || o.what.startsWith("remount /scratch")));
    expect(late.map((o) => [o.args[1], (o.args[3] as number) & (MS_REMOUNT | MS_RDONLY | MS_NOSUID)])).toEqual([
      ["/dev", MS_REMOUNT | MS_RDONLY | MS_NOSUID],
      ["/scratch", MS_REMOUNT | MS_RDONLY | MS_NOSUID],
    ]);
    for (const o of late) expect(p.ops.indexOf(o)).toBeGreaterThan(indexOf(p, "PIVOT_ROOT"));
    expect(indexOf(p, "CONSOLE")).toBeLessThan(p.ops.indexOf(late[0]!));
    // a bind is read-only at once, as before (its remount follows the bind)
    const bind = plan((s) => addMount(s, { destination: "/b", type: "bind", source: "/srv", options: ["rbind", "ro"] }));
    expect(bind.ops.filter((o) => o.op === "MOUNT" && o.what === "remount /b read-only")).toEqual([]);
  });

  test("/dev bind-mounted from the host: no default devices and no /dev symlinks", () => {
    const p = plan((s) => addMount(s, { destination: "/dev", type: "bind", source: "/dev", options: ["rbind"] }));
    expect(names(p)).not.toContain("MKNOD_IN_ROOT");
    expect(names(p)).not.toContain("SYMLINK_IN_ROOT");
  });

  test("/dev with the rbind option (type none) counts as bind-mounted too", () => {
    const p = plan((s) => addMount(s, { destination: "/dev", type: "none", source: "/dev", options: ["rbind"] }));
    expect(names(p)).not.toContain("MKNOD_IN_ROOT");
  });

  test("the mounts are planned in spec order, before the devices", () => {
    const p = plan((s) => addMount(s, { destination: "/data", type: "bind", source: "/srv", options: ["rbind"] }));
    const last = p.ops.findLastIndex((o) => o.field.startsWith("mounts["));
    expect(p.ops[last]!.field).toBe("mounts[7] (/data)");
    expect(last).toBeLessThan(indexOf(p, "MKNOD_IN_ROOT"));
  });
});

describe("compilePlan: linux.devices", () => {
  test("a spec device is made after the defaults with its own mode, owner and makedev number", () => {
    const p = plan((s) => (s.linux!.devices = [{ type: "c", path: "/dev/fuse", major: 10, minor: 229, fileMode: 0o660, uid: 0, gid: 6 }]));
    const mk = all(p, "MKNOD_IN_ROOT");
    expect(mk.length).toBe(7);
    expect(mk[6]!.args).toEqual([R, "/dev/fuse", S_IFCHR | 0o660, 2789n, 0, 6]);
    expect(mk[6]!.field).toBe("linux.devices[0]");
  });

  test("makedev splits large majors and minors as glibc does", () => {
    const p = plan((s) => (s.linux!.devices = [
      { type: "b", path: "/dev/big", major: 4096, minor: 256 },
      { type: "b", path: "/dev/nvme0n1", major: 259, minor: 0 },
    ]));
    const [big, nvme] = all(p, "MKNOD_IN_ROOT").slice(6);
    // (major & 0xfffff000) << 32 | (minor & 0xffffff00) << 12
    expect(big!.args[3]).toBe(17592186044416n + 1048576n);
    expect(big!.args[2]).toBe(S_IFBLK | 0o666);
    // (major & 0xfff) << 8
    expect(nvme!.args[3]).toBe(66304n);
  });

  test("a fifo gets S_IFIFO and device number 0", () => {
    const p = plan((s) => (s.linux!.devices = [{ type: "p", path: "/dev/pipe", fileMode: 0o600 }]));
    expect(all(p, "MKNOD_IN_ROOT")[6]!.args).toEqual([R, "/dev/pipe", S_IFIFO | 0o600, 0n, 0, 0]);
  });

  test("a spec device with a default's path replaces the default", () => {
    const p = plan((s) => (s.linux!.devices = [{ type: "c", path: "/dev/null", major: 1, minor: 3, fileMode: 0o600, uid: 5, gid: 5 }]));
    const mk = all(p, "MKNOD_IN_ROOT");
    expect(mk.length).toBe(6);
    expect(mk[0]!.args).toEqual([R, "/dev/null", S_IFCHR | 0o600, 259n, 5, 5]);
    expect(mk[0]!.field).toBe("linux.devices[0]");
  });
});

describe("compilePlan: device cgroup rules", () => {
  test("the default rules are appended after the spec's own", () => {
    const p = plan();
    expect(p.resources.devices).toEqual([{ allow: false, access: "rwm" }, ...DEFAULT_DEVICE_RULES]);
  });

  test("the default rules are runc's: mknod for all, the six devices, console, ptys, ptmx, tun", () => {
    const short = DEFAULT_DEVICE_RULES.map((r) => `${r.type} ${r.major ?? "*"}:${r.minor ?? "*"} ${r.access}`);
    expect(short).toEqual([
      "c *:* m", "b *:* m",
      "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm",
      "c 5:1 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm",
    ]);
    expect(DEFAULT_DEVICE_RULES.every((r) => r.allow)).toBe(true);
  });

  test("a spec device gets its node but no device cgroup rule: only resources.devices and the default set grant access (runc)", () => {
    const p = plan((s) => (s.linux!.devices = [
      { type: "c", path: "/dev/kmsg", major: 1, minor: 11 },
      { type: "b", path: "/dev/sda", major: 8, minor: 0 },
    ]));
    expect(all(p, "MKNOD_IN_ROOT").map((o) => o.args[1])).toContain("/dev/kmsg");
    expect(p.resources.devices).toEqual([{ allow: false, access: "rwm" }, ...DEFAULT_DEVICE_RULES]);
  });

  test("the spec's linux.resources is left untouched", () => {
    const s = quietSpec();
    compilePlan(s, CTX);
    expect(s.linux!.resources).toEqual({ devices: [{ allow: false, access: "rwm" }] });
  });
});

describe("compilePlan: sysctl", () => {
  test("a sysctl is a WRITE_FILE under /proc/sys, before /proc/sys is made read-only", () => {
    const p = plan((s) => (s.linux!.sysctl = { "net.ipv4.ip_forward": "1" }));
    const op = one(p, "WRITE_FILE");
    expect(op.args).toEqual(["/proc/sys/net/ipv4/ip_forward", "1"]);
    expect(op.field).toBe('linux.sysctl["net.ipv4.ip_forward"]');
    expect(indexOf(p, "WRITE_FILE")).toBeLessThan(indexOf(p, "BIND_SELF_IN_ROOT"));
  });

  test("ipc and uts sysctls are allowed with those namespaces", () => {
    const p = plan((s) => (s.linux!.sysctl = { "kernel.shmmax": "4096", "fs.mqueue.msg_max": "10", "kernel.domainname": "x" }));
    expect(all(p, "WRITE_FILE").map((o) => o.args[0])).toEqual(["/proc/sys/kernel/shmmax", "/proc/sys/fs/mqueue/msg_max", "/proc/sys/kernel/domainname"]);
  });

  test("a net sysctl is fine in a joined network namespace", () => {
    const p = plan((s) => {
      s.linux!.namespaces![1] = { type: "network", path: "/var/run/netns/cni-1" };
      s.linux!.sysctl = { "net.ipv4.ping_group_range": "0 0" };
    });
    expect(one(p, "WRITE_FILE").args).toEqual(["/proc/sys/net/ipv4/ping_group_range", "0 0"]);
  });
});

describe("compilePlan: rootfsPropagation", () => {
  test("private: / is made rprivate first and private after pivot_root", () => {
    const p = plan((s) => (s.linux!.rootfsPropagation = "private"));
    const mounts = all(p, "MOUNT");
    expect(mounts[0]!.args).toEqual(["", "/", "", MS_PRIVATE | MS_REC, ""]);
    expect(mounts[0]!.what).toBe("make / rprivate");
    expect(mounts.at(-1)!.args).toEqual(["", "/", "", MS_PRIVATE, ""]);
    expect(mounts.at(-1)!.field).toBe("linux.rootfsPropagation");
  });

  test("shared: / stays rslave while building, and is made shared only after pivot_root", () => {
    const p = plan((s) => (s.linux!.rootfsPropagation = "rshared"));
    const mounts = all(p, "MOUNT");
    expect(mounts[0]!.args[3]).toBe(MS_SLAVE | MS_REC);
    expect(mounts.at(-1)!.args[3]).toBe(MS_SHARED | MS_REC);
  });

  test("unbindable: / is rprivate while the rootfs is bound (an unbindable tree refuses the bind), unbindable after pivot_root", () => {
    const mounts = all(plan((s) => (s.linux!.rootfsPropagation = "unbindable")), "MOUNT");
    expect(mounts[0]!.args[3]).toBe(MS_PRIVATE | MS_REC);
    expect(mounts[0]!.what).toBe("make / rprivate");
    expect(mounts.at(-1)!.args).toEqual(["", "/", "", MS_UNBINDABLE, ""]);
  });
});

describe("compilePlan: no mount namespace listed — the runtime's is inherited (config-linux.md)", () => {
  const inherited = (edit?: (s: Spec) => void, ctx: Partial<PlanContext> = {}) =>
    plan((s) => {
      namespaces(s, s.linux!.namespaces!.filter((n) => n.type !== "mount"));
      edit?.(s);
    }, ctx);

  test("the mounts are made under the root, / keeps its propagation, and the init chroots (never pivot_root or MS_MOVE)", () => {
    const p = inherited((s) => (s.root = { path: "rootfs", readonly: false }), { noPivot: true });
    expect(p.mountsOnHost).toBe(true);
    expect(all(p, "MOUNT").filter((o) => o.args[1] === "/")).toEqual([]);
    expect(names(p)).not.toContain("PIVOT_ROOT");
    expect(names(p)).not.toContain("MOVE_CHROOT");
    expect(one(p, "CHROOT").args).toEqual([R]);
    expect(all(p, "MOUNT_IN_ROOT").map((o) => o.args[1])).toContain("/proc");
    expect(p.newNamespaces.has("mount")).toBe(false);
  });

  test("a read-only root is bound onto itself first, so the remount after chroot is the bind's, never the host's mount", () => {
    const p = inherited((s) => (s.root = { path: "rootfs", readonly: true }));
    const mounts = all(p, "MOUNT");
    expect(mounts[0]!.args).toEqual([R, R, "", MS_BIND | MS_REC, ""]);
    expect(indexOf(p, "CHROOT")).toBeLessThan(p.ops.indexOf(mounts.at(-1)!));
    expect(mounts.at(-1)!.args).toEqual(["", "/", "", MS_REMOUNT | MS_BIND | MS_RDONLY, ""]);
  });

  test("rootfsPropagation is ignored with a warning: it would change the host's mounts", () => {
    const p = inherited((s) => (s.linux!.rootfsPropagation = "shared"));
    expect(all(p, "MOUNT").some((o) => (o.args[3] as number) & MS_SHARED)).toBe(false);
    expect(p.warnings.map((w) => w.field)).toContain("linux.rootfsPropagation");
  });

  test("with a mount namespace of its own nothing is left on the host", () => {
    expect(plan().mountsOnHost).toBe(false);
  });
});

describe("compilePlan refuses configs it cannot build, naming the field", () => {
  test("a terminal without --console-socket when create returns before the container ends", () => {
    expect(() => compilePlan(defaultSpec(), CTX)).toThrow("process.terminal: cannot allocate a terminal when berth-runtime returns before the container ends; pass --console-socket");
  });

  test("--console-socket without a terminal", () => {
    expect(() => plan(() => {}, { consoleSocket: "/run/c.sock" })).toThrow("--console-socket: --console-socket needs process.terminal set to true");
  });


  test("no process: the init is built, reports ready and waits, with nothing to exec (start refuses it)", () => {
    const p = plan((s) => delete s.process);
    expect(names(p).slice(-3)).toEqual(["CLOSE_FROM", "READY", "WAIT_START"]);
    expect(names(p)).toContain("PIVOT_ROOT");
    for (const op of ["EXEC", "FIND_EXEC", "CHDIR", "SETRESUID", "CAPS"] as const) expect(names(p)).not.toContain(op);
  });

  test("a hostname without a uts namespace", () => {
    const err = compileError((s) => namespaces(s, s.linux!.namespaces!.filter((n) => n.type !== "uts")));
    expect(err.field).toBe("hostname");
    expect(err.message).toBe('hostname: cannot be set without a uts namespace; add {"type": "uts"} to linux.namespaces');
  });

  test("a hostname in a uts namespace joined by path is set there, as runc does", () => {
    const p = plan((s) => (s.linux!.namespaces![3] = { type: "uts", path: "/run/uts/pod" }));
    expect(one(p, "SETHOSTNAME").args).toEqual([quietSpec().hostname!]);
  });

  test("a hostname in the runtime's own uts namespace (joined by path) would rename the host", () => {
    const err = compileError((s) => (s.linux!.namespaces![3] = { type: "uts", path: "/proc/1/ns/uts" }), { runtimeNamespaces: ["uts"] });
    expect(err.field).toBe("hostname");
    expect(err.message).toBe("hostname: cannot be set in the uts namespace /proc/1/ns/uts: it is berth-runtime's own, so the host would be renamed; join another or drop the path");
  });

  test("a namespaced sysctl in the runtime's own namespace (joined by path) would change the host's", () => {
    const err = compileError((s) => {
      s.linux!.namespaces![1] = { type: "network", path: "/proc/1/ns/net" };
      s.linux!.sysctl = { "net.ipv4.ip_forward": "1" };
    }, { runtimeNamespaces: ["network"] });
    expect(err.field).toBe('linux.sysctl["net.ipv4.ip_forward"]');
  });

  test("an empty hostname needs no uts namespace", () => {
    const p = plan((s) => {
      s.hostname = "";
      namespaces(s, s.linux!.namespaces!.filter((n) => n.type !== "uts"));
    });
    expect(names(p)).not.toContain("SETHOSTNAME");
  });

  test("a domainname without a uts namespace", () => {
    const err = compileError((s) => {
      delete s.hostname;
      s.domainname = "example.org";
      namespaces(s, s.linux!.namespaces!.filter((n) => n.type !== "uts"));
    });
    expect(err.field).toBe("domainname");
  });

  test("uidMappings without a user namespace", () => {
    const err = compileError((s) => Object.assign(s.linux!, USERNS));
    expect(err.field).toBe("linux.uidMappings");
    expect(err.message).toBe('linux.uidMappings: need a user namespace; add {"type": "user"} to linux.namespaces');
  });

  test("gidMappings alone without a user namespace names gidMappings", () => {
    const err = compileError((s) => (s.linux!.gidMappings = USERNS.gidMappings));
    expect(err.field).toBe("linux.gidMappings");
  });

  test("a new user namespace without mappings", () => {
    const err = compileError((s) => {
      s.linux!.namespaces!.push({ type: "user" });
      s.linux!.uidMappings = USERNS.uidMappings;
    });
    expect(err.field).toBe("linux.namespaces[5]");
    expect(err.message).toBe("linux.namespaces[5]: a new user namespace needs linux.uidMappings and linux.gidMappings");
  });

  test("timeOffsets without a time namespace", () => {
    const err = compileError((s) => (s.linux!.timeOffsets = { monotonic: { secs: 1 } }));
    expect(err.field).toBe("linux.timeOffsets");
    expect(err.message).toBe('linux.timeOffsets: need a new time namespace; add {"type": "time"} to linux.namespaces');
  });

  test("a sysctl that is not namespaced (kernel.panic)", () => {
    const err = compileError((s) => (s.linux!.sysctl = { "kernel.panic": "1" }));
    expect(err.field).toBe('linux.sysctl["kernel.panic"]');
    expect(err.message).toBe('linux.sysctl["kernel.panic"]: is not a namespaced sysctl: setting it would change the host; remove it or set it on the host');
  });

  test("a net sysctl without a network namespace", () => {
    const err = compileError((s) => {
      namespaces(s, s.linux!.namespaces!.filter((n) => n.type !== "network"));
      s.linux!.sysctl = { "net.ipv4.ip_forward": "1" };
    });
    expect(err.field).toBe('linux.sysctl["net.ipv4.ip_forward"]');
    expect(err.message).toBe(
      `linux.sysctl["net.ipv4.ip_forward"]: needs the container's own network namespace (it would change the host's); add {"type": "network"} to linux.namespaces`,
    );
  });

  test("an ipc sysctl without an ipc namespace", () => {
    const err = compileError((s) => {
      namespaces(s, s.linux!.namespaces!.filter((n) => n.type !== "ipc"));
      s.linux!.sysctl = { "kernel.msgmax": "8192" };
    });
    expect(err.message).toStartWith(`linux.sysctl["kernel.msgmax"]: needs the container's own ipc namespace`);
  });

  test("an unknown rlimit type", () => {
    const err = compileError((s) => (s.process!.rlimits = [{ type: "RLIMIT_FILES", soft: 1, hard: 1 }]));
    expect(err.field).toBe("process.rlimits[0].type");
    expect(err.message).toStartWith(`process.rlimits[0].type: "RLIMIT_FILES" is not a resource limit; use one of RLIMIT_CPU, RLIMIT_FSIZE`);
  });

  test("an unknown capability name", () => {
    const err = compileError((s) => (s.process!.capabilities!.effective = ["CAP_KILL", "CAP_NET_BIND"]));
    expect(err.field).toBe("process.capabilities.effective[1]");
    expect(err.message).toStartWith(`process.capabilities.effective[1]: "CAP_NET_BIND" is not a capability`);
  });

  test("a bind mount without a source", () => {
    const err = compileError((s) => addMount(s, { destination: "/data", type: "bind", options: ["rbind"] }));
    expect(err.field).toBe("mounts[7].source");
    expect(err.message).toBe("mounts[7].source: a bind mount needs a source; set the host path to bind");
  });

  test("a mount without a type that is not a bind", () => {
    const err = compileError((s) => addMount(s, { destination: "/data", source: "tmpfs", options: ["nosuid"] }));
    expect(err.field).toBe("mounts[7].type");
    expect(err.message).toStartWith("mounts[7].type: has no type; set type (e.g. tmpfs, proc) or use the bind option");
  });

  test("a seccomp profile the caller did not compile is a programming error, not a user one", () => {
    expect(() => plan((s) => (s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW" }))).toThrow("PlanContext.seccomp");
  });
});

describe("compilePlan: the reference client configs", () => {
  for (const name of clientSpecNames().filter((n) => !n.includes("exec-process"))) {
    test(`${name} compiles`, () => {
      const s = validateSpec(clientSpec(name), { needProcess: true });
      const p = compilePlan(s, { ...CTX, seccomp: s.linux?.seccomp ? FAKE_PROGRAM : undefined });
      // with no_new_privs the filter is the last thing before exec
      const tail: OpName[] = s.process?.noNewPrivileges && s.linux?.seccomp ? ["READY", "WAIT_START", "SECCOMP", "EXEC"] : ["READY", "WAIT_START", "EXEC"];
      expect(names(p).slice(-tail.length)).toEqual(tail);
      expect(p.warnings).toEqual([]);
    });
  }
});

describe("execCandidates", () => {
  test("a bare name is looked up in each PATH directory, in order", () => {
    expect(execCandidates("sh", ["PATH=/bin:/usr/bin"])).toEqual({ candidates: ["/bin/sh", "/usr/bin/sh"], searched: "/bin:/usr/bin" });
  });

  test("without PATH the default PATH is searched", () => {
    const { candidates, searched } = execCandidates("ls", ["TERM=xterm"]);
    expect(searched).toBe("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    expect(candidates).toEqual(["/usr/local/sbin/ls", "/usr/local/bin/ls", "/usr/sbin/ls", "/usr/bin/ls", "/sbin/ls", "/bin/ls"]);
  });

  test("a name with a slash is used as it is, with no search", () => {
    expect(execCandidates("/bin/sh", ["PATH=/usr/bin"])).toEqual({ candidates: ["/bin/sh"] });
    expect(execCandidates("bin/app", [])).toEqual({ candidates: ["bin/app"] });
  });

  test("the last PATH in the env wins", () => {
    expect(execCandidates("sh", ["PATH=/first", "PATH=/second"]).candidates).toEqual(["/second/sh"]);
  });

  test("an empty PATH entry means the current directory; a trailing slash is not doubled", () => {
    expect(execCandidates("app", ["PATH=/opt/bin/::/usr/bin"]).candidates).toEqual(["/opt/bin/app", "./app", "/usr/bin/app"]);
  });

  test("a variable that only starts like PATH is not PATH", () => {
    expect(execCandidates("sh", ["PATHS=/nope"]).searched).toBe(DEFAULT_PATH);
  });
});

/** A stand-in for what security/seccomp.ts would compile: the planner only places it. */
const FAKE_PROGRAM = { program: new Uint8Array(16), flags: 0, notify: false };
const ALLOW_ALL = { defaultAction: "SCMP_ACT_ALLOW" } as NonNullable<NonNullable<Spec["linux"]>["seccomp"]>;

describe("compilePlan: seccomp placement", () => {
  test("with no_new_privs the filter is loaded last, after WAIT_START, right before EXEC", () => {
    const p = plan((s) => (s.linux!.seccomp = ALLOW_ALL), { seccomp: { ...FAKE_PROGRAM, flags: 2 } });
    expect(names(p).slice(-4)).toEqual(["READY", "WAIT_START", "SECCOMP", "EXEC"]);
    expect(one(p, "SECCOMP").args).toEqual([2, FAKE_PROGRAM.program]);
  });

  // the helper's own calls (faccessat2, close_range…) must never meet the container's filter
  const SET_UP = ["FIND_EXEC", "UMASK", "CLOSE_FROM", "RESET_SIGNALS", "SETRESUID"] as const;
  const SYS_ADMIN = 1n << 21n;
  const ALL = (1n << 64n) - 1n;

  test("without no_new_privs: the user, the lookup and the fd set-up first, CAP_SYS_ADMIN held for the filter and dropped right after it", () => {
    const p = plan((s) => {
      s.linux!.seccomp = ALLOW_ALL;
      s.process!.noNewPrivileges = false;
      s.process!.user = { uid: 1000, gid: 1000 };
    }, { seccomp: FAKE_PROGRAM });
    for (const op of SET_UP) expect(indexOf(p, op)).toBeLessThan(indexOf(p, "SECCOMP"));
    expect(names(p).slice(-5)).toEqual(["SECCOMP", "CAPS", "READY", "WAIT_START", "EXEC"]);
    const [held, dropped] = p.ops.filter((o) => o.op === "CAPS").map((o) => o.args as bigint[]);
    const want = 0x20000400n | (1n << 5n); // the default spec's AUDIT_WRITE, NET_BIND_SERVICE, KILL
    expect(held).toEqual([want, want | SYS_ADMIN, want | SYS_ADMIN, 0n, 0n]);
    // all ones: nothing left to drop from the bounding set, which would need CAP_SETPCAP
    expect(dropped).toEqual([ALL, want, want, 0n, 0n]);
    expect(p.ops.filter((o) => o.op === "KEEPCAPS").map((o) => o.args)).toEqual([[1], [0]]);
  });

  test("without no_new_privs and with CAP_SYS_ADMIN granted, one CAPS before the filter", () => {
    const p = plan((s) => {
      s.linux!.seccomp = ALLOW_ALL;
      s.process!.noNewPrivileges = false;
      for (const set of ["bounding", "effective", "permitted"] as const) s.process!.capabilities![set]!.push("CAP_SYS_ADMIN");
    }, { seccomp: FAKE_PROGRAM });
    expect(names(p).filter((n) => n === "CAPS")).toHaveLength(1);
    expect(indexOf(p, "CAPS")).toBeLessThan(indexOf(p, "SECCOMP"));
    expect(names(p).slice(-4)).toEqual(["SECCOMP", "READY", "WAIT_START", "EXEC"]);
  });

  test("without no_new_privs, a user with no capabilities listed holds CAP_SYS_ADMIN only for the filter; root keeps the runtime's", () => {
    const user = plan((s) => {
      s.linux!.seccomp = ALLOW_ALL;
      s.process!.noNewPrivileges = false;
      delete s.process!.capabilities;
      s.process!.user = { uid: 1000, gid: 1000 };
    }, { seccomp: FAKE_PROGRAM });
    expect(user.ops.filter((o) => o.op === "CAPS").map((o) => o.args)).toEqual([[ALL, SYS_ADMIN, SYS_ADMIN, 0n, 0n], [ALL, 0n, 0n, 0n, 0n]]);
    const root = plan((s) => {
      s.linux!.seccomp = ALLOW_ALL;
      s.process!.noNewPrivileges = false;
      delete s.process!.capabilities;
    }, { seccomp: FAKE_PROGRAM });
    expect(names(root)).not.toContain("CAPS");
    expect(names(root)).not.toContain("KEEPCAPS");
  });

  test("without a filter nothing is held: one CAPS, as before", () => {
    const p = plan((s) => {
      s.process!.noNewPrivileges = false;
      s.process!.user = { uid: 1000, gid: 1000 };
    });
    expect(names(p).filter((n) => n === "CAPS")).toHaveLength(1);
    expect((one(p, "CAPS").args[1] as bigint) & SYS_ADMIN).toBe(0n);
  });

  test("SCMP_ACT_NOTIFY: the agent socket is connected first, in the host's namespaces; the filter goes before READY", () => {
    const p = plan((s) => (s.linux!.seccomp = { ...ALLOW_ALL, listenerPath: "/run/agent.sock", listenerMetadata: "m" }), { seccomp: { ...FAKE_PROGRAM, notify: true } });
    expect(one(p, "CONNECT_UNIX").args).toEqual([0, "/run/agent.sock"]);
    expect(indexOf(p, "CONNECT_UNIX")).toBeLessThan(indexOf(p, "UNSHARE"));
    expect(one(p, "SECCOMP_NOTIFY").args).toEqual([0, FAKE_PROGRAM.program, 0]);
    expect(indexOf(p, "SECCOMP_NOTIFY")).toBeGreaterThan(indexOf(p, "NO_NEW_PRIVS"));
    for (const op of SET_UP) expect(indexOf(p, op)).toBeLessThan(indexOf(p, "SECCOMP_NOTIFY"));
    expect(indexOf(p, "SECCOMP_NOTIFY")).toBe(indexOf(p, "READY") - 1);
    expect(p.seccompAgent).toEqual({ listenerPath: "/run/agent.sock", metadata: "m" });
  });

  test("SCMP_ACT_NOTIFY without listenerPath is refused", () => {
    const err = compileError((s) => (s.linux!.seccomp = ALLOW_ALL), { seccomp: { ...FAKE_PROGRAM, notify: true } });
    expect(err.field).toBe("linux.seccomp.listenerPath");
  });
});

describe("compilePlan: idmapped mounts", () => {
  const idmapped = (options: string[]): Mount => ({
    destination: "/data", type: "bind", source: "/srv/data", options,
    uidMappings: [{ containerID: 0, hostID: 1000, size: 10 }], gidMappings: [{ containerID: 0, hostID: 2000, size: 10 }],
  });

  test("the idmapped tree is made first, in the host's namespaces, and attached where the bind would be", () => {
    const p = plan((s) => addMount(s, idmapped(["rbind", "ro"])));
    expect(one(p, "IDMAP_TREE").args).toEqual([0, "/srv/data", "0 1000 10\n", "0 2000 10\n", 1]);
    expect(indexOf(p, "IDMAP_TREE")).toBeLessThan(indexOf(p, "UNSHARE"));
    expect(mountArgs(p, 7).slice(1)).toEqual([
      ["MOVE_TREE_IN_ROOT", 0, R, "/data", "/srv/data"],
      ["MOUNT_IN_ROOT", R, "/data", "", "", MS_BIND | MS_REMOUNT | MS_RDONLY, "", CREATE_NONE, 0],
    ]);
  });

  test("bind without rbind or ridmap maps only the top mount; ridmap maps submounts too", () => {
    expect(one(plan((s) => addMount(s, idmapped(["bind"]))), "IDMAP_TREE").args[4]).toBe(0);
    expect(one(plan((s) => addMount(s, idmapped(["bind", "ridmap"]))), "IDMAP_TREE").args[4]).toBe(1);
    expect(one(plan((s) => addMount(s, idmapped(["rbind", "idmap"]))), "IDMAP_TREE").args[4]).toBe(0);
  });

  test("two idmapped mounts get slots 0 and 1, and a seccomp agent the next one", () => {
    const p = plan((s) => {
      addMount(s, idmapped(["rbind"]));
      addMount(s, { ...idmapped(["rbind"]), destination: "/more" });
      s.linux!.seccomp = { ...ALLOW_ALL, listenerPath: "/a.sock" };
    }, { seccomp: { ...FAKE_PROGRAM, notify: true } });
    expect(all(p, "IDMAP_TREE").map((o) => o.args[0])).toEqual([0, 1]);
    expect(all(p, "MOVE_TREE_IN_ROOT").map((o) => o.args[0])).toEqual([0, 1]);
    expect(one(p, "CONNECT_UNIX").args[0]).toBe(2);
  });

  test("in a new user namespace every bind source is opened on the host as a detached copy, then attached; without one it is a plain bind", () => {
    const bind = (s: Spec) => addMount(s, { destination: "/data", type: "bind", source: "/root/secret", options: ["rbind", "ro"] });
    const p = plan((s) => {
      withUserns(s);
      bind(s);
      addMount(s, { destination: "/one", source: "/srv/one", options: ["bind"] });
    });
    expect(all(p, "OPEN_TREE").map((o) => o.args)).toEqual([[0, "/root/secret", 1], [1, "/srv/one", 0]]);
    expect(indexOf(p, "OPEN_TREE")).toBeLessThan(indexOf(p, "UNSHARE"));
    expect(all(p, "MOVE_TREE_IN_ROOT").map((o) => o.args)).toEqual([[0, R, "/data", "/root/secret"], [1, R, "/one", "/srv/one"]]);
    // the remount with the options follows the attached copy, as after a bind
    expect(p.ops[indexOf(p, "MOVE_TREE_IN_ROOT") + 1]!.args).toEqual([R, "/data", "", "", MS_BIND | MS_REMOUNT | MS_RDONLY, "", CREATE_NONE, 0]);
    const plain = plan(bind);
    expect(names(plain)).not.toContain("OPEN_TREE");
    // a rootless runtime may not clone mounts; its sources are its own to reach
    expect(names(plan((s) => { withUserns(s); bind(s); }, { rootless: true }))).not.toContain("OPEN_TREE");
    expect(mountArgs(plain, 7)[0]).toEqual(["MOUNT_IN_ROOT", R, "/data", "/root/secret", "", MS_BIND | MS_REC, "", CREATE_LIKE_SOURCE, 0]);
  });

  test("needs a bind mount and both maps", () => {
    expect(compileError((s) => addMount(s, { ...idmapped([]), type: "tmpfs" })).message).toBe("mounts[7]: uidMappings/gidMappings need a bind mount; add the bind or rbind option");
    expect(compileError((s) => addMount(s, { ...idmapped(["rbind"]), gidMappings: undefined })).message).toBe("mounts[7]: an idmapped mount needs both uidMappings and gidMappings");
  });
});

describe("compilePlan: personality, I/O priority, scheduler, Intel RDT", () => {
  test("each becomes one op before the identity changes", () => {
    const p = plan((s) => {
      s.linux!.personality = { domain: "LINUX32" };
      s.process!.ioPriority = { class: "IOPRIO_CLASS_BE", priority: 3 };
      s.process!.scheduler = { policy: "SCHED_BATCH", nice: 5 };
    });
    expect(one(p, "PERSONALITY").args).toEqual([8]);
    expect(one(p, "IOPRIO").args).toEqual([(2 << 13) | 3]);
    expect((one(p, "SCHED_SETATTR").args[0] as Uint8Array).length).toBe(56);
    for (const op of ["PERSONALITY", "IOPRIO", "SCHED_SETATTR"] as const) expect(indexOf(p, op)).toBeLessThan(indexOf(p, "CAPS"));
  });

  test("linux.intelRdt is refused: berth does not drive resctrl", () => {
    expect(compileError((s) => (s.linux!.intelRdt = { closID: "c" })).field).toBe("linux.intelRdt");
  });
});

describe("compilePlan: AppArmor and SELinux", () => {
  const ON = { lsm: { apparmor: true, selinux: true } };
  test("with the LSM active, the profile and label are written for the next exec, before the identity changes", () => {
    const p = plan((s) => {
      s.process!.apparmorProfile = "berth-default";
      s.process!.selinuxLabel = "system_u:system_r:container_t:s0";
    }, ON);
    const writes = all(p, "WRITE_FILE").map((o) => o.args);
    expect(writes).toContainEqual(["/proc/self/attr/apparmor/exec", "exec berth-default"]);
    expect(writes).toContainEqual(["/proc/self/attr/exec", "system_u:system_r:container_t:s0"]);
  });

  test("mountLabel becomes context= on the tmpfs, devpts and mqueue mounts only", () => {
    const p = plan((s) => (s.linux!.mountLabel = "system_u:object_r:container_file_t:s0"), ON);
    expect(mountArgs(p, 3)[0]![6]).toBe('nosuid,noexec,nodev,mode=1777,size=65536k,context="system_u:object_r:container_file_t:s0"'.replace("nosuid,noexec,nodev,", ""));
    expect(mountArgs(p, 0)[0]![6]).toBe(""); // proc
  });

  test("without the LSM, a profile or label is an error, unconfined is fine, mountLabel a warning", () => {
    expect(compileError((s) => (s.process!.apparmorProfile = "p")).field).toBe("process.apparmorProfile");
    expect(compileError((s) => (s.process!.selinuxLabel = "l")).field).toBe("process.selinuxLabel");
    expect(() => plan((s) => (s.process!.apparmorProfile = "unconfined"))).not.toThrow();
    expect(plan((s) => (s.linux!.mountLabel = "l")).warnings.map((w) => w.field)).toEqual(["linux.mountLabel"]);
  });
});

describe("compilePlan: hooks", () => {
  test("create-time hooks: one HOOK_SYNC after the mounts and before the masks and pivot_root", () => {
    const p = plan((s) => (s.hooks = { prestart: [{ path: "/usr/bin/netsetup" }] }));
    expect(one(p, "HOOK_SYNC").args).toEqual([]);
    expect(indexOf(p, "HOOK_SYNC")).toBeGreaterThan(p.ops.findLastIndex((o) => o.field.startsWith("mounts[")));
    expect(indexOf(p, "HOOK_SYNC")).toBeLessThan(indexOf(p, "MASK_PATH"));
    expect(indexOf(p, "HOOK_SYNC")).toBeLessThan(indexOf(p, "PIVOT_ROOT"));
  });

  test("startContainer hooks run in the init after start, under the container's seccomp filter (runc's order), before exec: timeout, path, argc, argv, env", () => {
    const p = plan((s) => {
      s.hooks = { startContainer: [{ path: "/bin/hook", args: ["hook", "-v"], env: ["A=1"], timeout: 5 }, { path: "/bin/two" }] };
      s.linux!.seccomp = ALLOW_ALL;
    }, { seccomp: FAKE_PROGRAM });
    expect(names(p).slice(-6)).toEqual(["READY", "WAIT_START", "SECCOMP", "RUN_HOOK", "RUN_HOOK", "EXEC"]);
    expect(all(p, "RUN_HOOK").map((o) => o.args)).toEqual([[5, "/bin/hook", 2, "hook", "-v", "A=1"], [0, "/bin/two", 1, "/bin/two"]]);
    expect(all(p, "RUN_HOOK").map((o) => o.field)).toEqual(["hooks.startContainer[0]", "hooks.startContainer[1]"]);
    // the state they read comes through HOOK_SYNC
    expect(all(p, "HOOK_SYNC")).toHaveLength(1);
  });

  test("poststart and poststop alone need nothing from the init; empty lists neither", () => {
    expect(all(plan((s) => (s.hooks = { poststart: [{ path: "/x" }], poststop: [{ path: "/y" }], prestart: [] })), "HOOK_SYNC")).toEqual([]);
  });
});

describe("compilePlan: terminals", () => {
  test("create --console-socket: connected first (a host path), the pty made after /dev/pts and before pivot_root, the slave the init's stdio", () => {
    const p = compilePlan(defaultSpec(), { ...CTX, consoleSocket: "/run/c.sock" });
    expect(one(p, "CONNECT_UNIX").args).toEqual([1, "/run/c.sock"]);
    expect(indexOf(p, "CONNECT_UNIX")).toBeLessThan(indexOf(p, "UNSHARE"));
    expect(one(p, "FORK").args).toEqual([0, 0, NO_SLOT]);
    expect(one(p, "CONSOLE").args).toEqual([R, 1, 0, 0]);
    expect(indexOf(p, "CONSOLE")).toBeGreaterThan(p.ops.findIndex((o) => o.what === "mount devpts on /dev/pts"));
    expect(indexOf(p, "CONSOLE")).toBeLessThan(indexOf(p, "PIVOT_ROOT"));
    // the pty becomes stdio and is given to the process's uid while the init may still chown
    expect(indexOf(p, "CONSOLE_STDIO")).toBeGreaterThan(indexOf(p, "PIVOT_ROOT"));
    expect(indexOf(p, "CHOWN_STDIO")).toBe(indexOf(p, "CONSOLE_STDIO") + 1);
    expect(indexOf(p, "CHOWN_STDIO")).toBeLessThan(indexOf(p, "SETGROUPS"));
    expect(one(p, "CHOWN_STDIO").args).toEqual([0]);
    const user = defaultSpec();
    user.process!.user = { uid: 1000, gid: 1000 };
    const q = compilePlan(user, { ...CTX, consoleSocket: "/run/c.sock" });
    expect(one(q, "CHOWN_STDIO").args).toEqual([1000]);
    expect(indexOf(q, "CHOWN_STDIO")).toBeLessThan(indexOf(q, "SETRESUID"));
    const noTerminal = defaultSpec();
    noTerminal.process!.terminal = false;
    expect(names(compilePlan(noTerminal, CTX))).not.toContain("CHOWN_STDIO"); // the caller's stdio is left alone
  });

  test("run in the foreground: the helper's waiting parent gets the master and proxies; consoleSize sets the window", () => {
    const s = defaultSpec();
    s.process!.consoleSize = { height: 40, width: 120 };
    const p = compilePlan(s, { ...CTX, foreground: true });
    expect(one(p, "FORK").args).toEqual([1, 1, NO_SLOT]);
    expect(one(p, "CONSOLE").args).toEqual([R, 64, 40, 120]);
    expect(all(p, "CONNECT_UNIX")).toEqual([]);
  });
});
