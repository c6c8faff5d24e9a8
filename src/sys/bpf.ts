/**
 * bpf(2) for cgroup device filters: load a BPF_PROG_TYPE_CGROUP_DEVICE program and make
 * it the one filter attached to a cgroup2 directory.
 *
 * Bun has no bpf API and no npm package wraps the syscall, so `union bpf_attr` is laid
 * out here by hand (offsets from include/uapi/linux/bpf.h) on a zeroed buffer.
 */
import { BerthError, errnoOf } from "../errors.ts";
import { describeErrno, errnoName } from "./errno.ts";
import { addressOf, close, errno, O, openPath, syscall } from "./libc.ts";

const SYS_BPF = 321; // x86_64

const COMMANDS = {
  BPF_PROG_LOAD: 5,
  BPF_PROG_ATTACH: 8,
  BPF_PROG_DETACH: 9,
  BPF_PROG_GET_FD_BY_ID: 13,
  BPF_PROG_QUERY: 16,
} as const;
type Command = keyof typeof COMMANDS;

const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
const BPF_CGROUP_DEVICE = 6; // attach type
const BPF_F_ALLOW_MULTI = 2;
const ENOENT = 2, ENOSPC = 28;

/**
 * sizeof(union bpf_attr) on Linux 6.18 (BPF_PROG_LOAD's struct is the largest). Older
 * kernels take a longer attr as long as the bytes past their own size are zero, and
 * newer ones zero-fill a shorter one, so one size serves every kernel.
 */
const ATTR_SIZE = 168;

/** A zeroed `union bpf_attr`; `keep` holds the buffers its pointers name until the call is done. */
class Attr {
  readonly bytes = new Uint8Array(ATTR_SIZE);
  private readonly view = new DataView(this.bytes.buffer);
  private readonly keep: Uint8Array[] = [];

  u32(offset: number, value: number): this {
    this.view.setUint32(offset, value, true);
    return this;
  }

  pointer(offset: number, buf: Uint8Array): this {
    this.keep.push(buf);
    this.view.setBigUint64(offset, addressOf(buf), true);
    return this;
  }

  getU32(offset: number): number {
    return this.view.getUint32(offset, true);
  }
}

/** bpf(cmd, attr, size): the result (an fd for most commands) or the errno. */
function bpf(cmd: Command, attr: Attr): { ret: number } | { errno: number } {
  const ret = syscall(SYS_BPF, COMMANDS[cmd], attr.bytes, ATTR_SIZE);
  return ret >= 0 ? { ret } : { errno: errno() };
}

function failure(cgroupDir: string, cmd: Command, err: number, detail = ""): BerthError {
  const hint = err === 1 ? "; cgroup device filters need root (CAP_SYS_ADMIN, or CAP_BPF with CAP_NET_ADMIN)" : "";
  return new BerthError(`bpf(${cmd}) for cgroup ${cgroupDir}: ${describeErrno(err)}${detail}${hint}`, { errno: errnoName(err) });
}

function must(cgroupDir: string, cmd: Command, attr: Attr): number {
  const r = bpf(cmd, attr);
  if ("errno" in r) throw failure(cgroupDir, cmd, r.errno);
  return r.ret;
}

const cString = (s: string) => new TextEncoder().encode(`${s}\0`);

function loadDeviceProgram(cgroupDir: string, insns: Uint8Array): number {
  if (insns.length === 0 || insns.length % 8 !== 0) {
    throw new BerthError(`device filter for cgroup ${cgroupDir} is ${insns.length} bytes; use whole 8-byte eBPF instructions`);
  }
  const name = new Uint8Array(16); // BPF_OBJ_NAME_LEN; shows in `bpftool prog`
  name.set(new TextEncoder().encode("berth_devices"));
  const attr = new Attr()
    .u32(0, BPF_PROG_TYPE_CGROUP_DEVICE)
    .u32(4, insns.length / 8)
    .pointer(8, insns)
    // Not GPL: the program calls no helpers, and only GPL-only helpers need that licence.
    .pointer(16, cString("Apache-2.0"));
  attr.bytes.set(name, 48);
  const first = bpf("BPF_PROG_LOAD", attr);
  if ("ret" in first) return first.ret;

  // Ask for the verifier's log only now: with a log requested, Linux 6.4+ fails even a
  // valid program with ENOSPC when the log does not fit, and logging slows verification.
  // Since 6.4 the log rotates, so a short buffer keeps the last lines, the ones that say why.
  const log = new Uint8Array(64 * 1024);
  attr.u32(24, 1).u32(28, log.length).pointer(32, log);
  const second = bpf("BPF_PROG_LOAD", attr);
  if ("ret" in second) return second.ret;
  const end = log.indexOf(0);
  const lines = new TextDecoder().decode(log.subarray(0, end < 0 ? log.length : end)).split("\n").filter((l) => l.trim());
  const detail = lines.length ? `; verifier: ${lines.slice(-4).join(" | ")}` : "";
  throw failure(cgroupDir, "BPF_PROG_LOAD", first.errno, detail);
}

function openCgroup(cgroupDir: string): number {
  try {
    return openPath(cgroupDir, O.RDONLY | O.DIRECTORY);
  } catch (err) {
    throw new BerthError(`cannot open cgroup ${cgroupDir}: ${errnoOf(err) ?? String(err)}; create it first (a cgroup2 directory)`, {
      errno: errnoOf(err),
      cause: err,
    });
  }
}

/** IDs of the device programs attached directly to the cgroup (not inherited ones). */
function attachedIds(cgroupDir: string, dirFd: number): number[] {
  let room = 64; // BPF_CGROUP_MAX_PROGS
  for (;;) {
    const ids = new Uint8Array(room * 4);
    const attr = new Attr().u32(0, dirFd).u32(4, BPF_CGROUP_DEVICE).pointer(16, ids).u32(24, room);
    const r = bpf("BPF_PROG_QUERY", attr);
    const count = attr.getU32(24); // the kernel writes the real count back, also on ENOSPC
    if ("ret" in r) return [...new Uint32Array(ids.buffer, 0, count)];
    if (r.errno !== ENOSPC || count <= room) throw failure(cgroupDir, "BPF_PROG_QUERY", r.errno);
    room = count;
  }
}

/**
 * Make `insns` (from cgroups/devices.ts deviceFilterProgram) the cgroup's only device
 * filter. The new program is attached before the old ones are detached, as runc does:
 * with BPF_F_ALLOW_MULTI every attached program must allow an access, so in between the
 * cgroup is filtered by both — never by none.
 *
 * @example
 * replaceDeviceFilter("/sys/fs/cgroup/berth/abc", deviceFilterProgram(rules));
 */
export function replaceDeviceFilter(cgroupDir: string, insns: Uint8Array): void {
  const fds: number[] = [];
  try {
    fds.push(loadDeviceProgram(cgroupDir, insns));
    const progFd = fds[0]!;
    const dirFd = openCgroup(cgroupDir);
    fds.push(dirFd);
    const old = attachedIds(cgroupDir, dirFd);
    must(cgroupDir, "BPF_PROG_ATTACH", new Attr().u32(0, dirFd).u32(4, progFd).u32(8, BPF_CGROUP_DEVICE).u32(12, BPF_F_ALLOW_MULTI));
    for (const id of old) {
      const got = bpf("BPF_PROG_GET_FD_BY_ID", new Attr().u32(0, id));
      // ENOENT: someone else detached it since the query; that is the state we want.
      if ("errno" in got) {
        if (got.errno === ENOENT) continue;
        throw failure(cgroupDir, "BPF_PROG_GET_FD_BY_ID", got.errno);
      }
      fds.push(got.ret);
      const detached = bpf("BPF_PROG_DETACH", new Attr().u32(0, dirFd).u32(4, got.ret).u32(8, BPF_CGROUP_DEVICE));
      if ("errno" in detached && detached.errno !== ENOENT) throw failure(cgroupDir, "BPF_PROG_DETACH", detached.errno);
    }
  } finally {
    // The cgroup keeps its own reference to the attached program; ours can go.
    for (const fd of fds) close(fd);
  }
}

/** How many device filters are attached directly to the cgroup (1 after replaceDeviceFilter). */
export function attachedDeviceFilterCount(cgroupDir: string): number {
  const dirFd = openCgroup(cgroupDir);
  try {
    const attr = new Attr().u32(0, dirFd).u32(4, BPF_CGROUP_DEVICE);
    must(cgroupDir, "BPF_PROG_QUERY", attr);
    return attr.getU32(24);
  } finally {
    close(dirFd);
  }
}
