/**
 * The init plan: the flat list of operations the native helper (native/berth-init/)
 * runs between clone and execve. Every decision is made here, in TypeScript; the helper
 * only executes, in order, and stops at the first failure with the step's index, the
 * errno and the system call that failed. native/PROTOCOL.md is the wire format.
 *
 * Each op carries `field` (the spec path that produced it, e.g. `mounts[3]`) and `what`
 * (a human description, e.g. `mount proc on /proc`) so a failure reads
 * `mounts[3] (/proc): mount proc on /proc: operation not permitted`. Neither is sent to
 * the helper.
 */

/** Op codes: the numbers are the wire interface with native/berth-init/ (native/op-table.test.ts checks the three tables agree). */
export const OP = {
  SETNS: 1,
  UNSHARE: 2,
  USERNS_SYNC: 3,
  FORK: 4,
  WRITE_FILE: 5,
  MOUNT: 6,
  MOUNT_IN_ROOT: 7,
  MOUNT_SETATTR: 8,
  MKNOD_IN_ROOT: 9,
  SYMLINK_IN_ROOT: 10,
  PIVOT_ROOT: 11,
  MOVE_CHROOT: 12,
  SETHOSTNAME: 13,
  SETDOMAINNAME: 14,
  SETRLIMIT: 15,
  LOOPBACK_UP: 16,
  CHDIR: 17,
  SETGROUPS: 18,
  SETRESGID: 19,
  SETRESUID: 20,
  UMASK: 21,
  KEEPCAPS: 22,
  CAPS: 23,
  NO_NEW_PRIVS: 24,
  SECCOMP: 25,
  OPEN_DIR: 26,
  READY: 27,
  WAIT_START: 28,
  FIND_EXEC: 29,
  EXEC: 30,
  CLOSE_FROM: 31,
  RESET_SIGNALS: 32,
  SETSID: 33,
  JOIN_KEYRING: 34,
  MASK_PATH: 35,
  BIND_SELF_IN_ROOT: 36,
  MKDIR_IN_ROOT: 37,
  PERSONALITY: 38,
  IOPRIO: 39,
  SCHED_SETATTR: 40,
  IDMAP_TREE: 41,
  MOVE_TREE_IN_ROOT: 42,
  CONNECT_UNIX: 43,
  SECCOMP_NOTIFY: 44,
  HOOK_SYNC: 45,
  RUN_HOOK: 46,
  CONSOLE: 47,
  CONSOLE_STDIO: 48,
  OPEN_PATH: 49,
  CHROOT: 50,
  OPEN_TREE: 51,
  CHOWN_STDIO: 52,
} as const;

/** CONSOLE's slot argument meaning "send the master to the waiting parent" (native NSLOTS). */
export const CONSOLE_TO_PARENT = 64;
/** FORK's cgroup slot argument meaning "a plain fork, no cgroup to clone into" (native NSLOTS). */
export const NO_SLOT = 64;
/** The slot OPEN_PATH keeps the cgroup2 directory in for FORK: the last one, clear of those counted up from 0. */
export const CGROUP_SLOT = 63;

export type OpName = keyof typeof OP;

/** An argument on the wire: a string (sent NUL-terminated), an integer (u64), or raw bytes. */
export type OpArg = string | number | bigint | Uint8Array;

/** `create` values for MOUNT_IN_ROOT: what to make at the destination when it is missing. */
export const CREATE = { NONE: 0, DIR: 1, FILE: 2, LIKE_SOURCE: 3 } as const;

export interface PlanOp {
  op: OpName;
  args: OpArg[];
  /** the spec path this step comes from (`mounts[3]`, `process.rlimits[0]`, `linux.namespaces[1]`) */
  field: string;
  /** what the step does, for the error line (`mount proc on /proc`) */
  what: string;
  /** what to do when the kernel fails this step with `errno` (a mount a user namespace may not make …) */
  hint?: { errno: number; text: string };
}

export interface InitPlan {
  ops: PlanOp[];
}

/** Linux mount(2) flags (include/uapi/linux/mount.h). */
export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  SYNCHRONOUS: 16,
  REMOUNT: 32,
  MANDLOCK: 64,
  DIRSYNC: 128,
  NOSYMFOLLOW: 256,
  NOATIME: 1024,
  NODIRATIME: 2048,
  BIND: 4096,
  MOVE: 8192,
  REC: 16384,
  SILENT: 32768,
  UNBINDABLE: 1 << 17,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  RELATIME: 1 << 21,
  I_VERSION: 1 << 23,
  STRICTATIME: 1 << 24,
  LAZYTIME: 1 << 25,
} as const;

/** mount_setattr(2) attributes (MOUNT_ATTR_*). */
export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  ATIME_MASK: 0x70,
  RELATIME: 0x0,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  IDMAP: 0x100000,
  NOSYMFOLLOW: 0x200000,
} as const;

/** clone(2) namespace flags. */
export const CLONE = {
  NEWTIME: 0x80,
  NEWNS: 0x20000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;
