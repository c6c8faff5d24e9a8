/**
 * The project's one handle on libc.so.6, through Bun's FFI: raw syscall(2) for the
 * calls Bun has no API for (bpf, and later others), errno, flock, and the plain file
 * calls berth-runtime's lifecycle verbs make.
 *
 * Why file calls here rather than node:fs: in Bun 1.4, `import "node:fs"` costs 3.5–4 ms
 * per process (measured: an empty script 6.0 ms, one that imports node:fs 10.3 ms), and
 * `start`, `state`, `kill` and `delete` are exec'd by engines for every container, each
 * doing a handful of small reads and writes. Loading bun:ffi and binding these symbols
 * costs about 1 ms, and `start`/`delete` need it for flock anyway.
 *
 * Opened on first use, never at import.
 */
import type { Pointer } from "bun:ffi";
import { errnoMeaning, errnoName } from "./errno.ts";

// bun:ffi is required on first use, not imported: loading it costs a few ms, and
// `berth-runtime state` (exec'd by callers in loops) never needs it.
const ffi = () => require("bun:ffi") as typeof import("bun:ffi");

const I64 = "i64" as const;

function open() {
  return ffi().dlopen("libc.so.6", {
    // long syscall(long nr, ...): variadic in C, but on x86_64 every integer argument
    // travels in a register either way, so a fixed six-i64 signature is the same call.
    syscall: { args: [I64, I64, I64, I64, I64, I64], returns: I64 },
    __errno_location: { args: [], returns: "ptr" },
    close: { args: ["i32"], returns: "i32" },
    flock: { args: ["i32", "i32"], returns: "i32" },
    mkfifo: { args: ["cstring", "u32"], returns: "i32" },
    socketpair: { args: ["i32", "i32", "i32", "ptr"], returns: "i32" },
    open: { args: ["cstring", "i32", "u32"], returns: "i32" },
    read: { args: ["i32", "ptr", "u64"], returns: "i64" },
    write: { args: ["i32", "ptr", "u64"], returns: "i64" },
    unlink: { args: ["cstring"], returns: "i32" },
    rmdir: { args: ["cstring"], returns: "i32" },
    mkdir: { args: ["cstring", "u32"], returns: "i32" },
    rename: { args: ["cstring", "cstring"], returns: "i32" },
    access: { args: ["cstring", "i32"], returns: "i32" },
    chmod: { args: ["cstring", "u32"], returns: "i32" },
    // glibc 2.33+ exports stat/lstat as functions (before, only __xstat)
    stat: { args: ["cstring", "ptr"], returns: "i32" },
    lstat: { args: ["cstring", "ptr"], returns: "i32" },
    fstat: { args: ["i32", "ptr"], returns: "i32" },
    pread: { args: ["i32", "ptr", "u64", "i64"], returns: "i64" },
    realpath: { args: ["cstring", "ptr"], returns: "ptr" },
    readlink: { args: ["cstring", "ptr", "u64"], returns: "i64" },
    opendir: { args: ["cstring"], returns: "ptr" },
    readdir: { args: ["ptr"], returns: "ptr" },
    closedir: { args: ["ptr"], returns: "i32" },
  }).symbols;
}

let lib: ReturnType<typeof open> | undefined;
const libc = () => (lib ??= open());

export type SyscallArg = number | bigint | Pointer;

/**
 * syscall(2): the raw return value, -1 on failure with the reason in {@link errno}.
 * Read errno right after, before anything else can call into libc.
 */
export function syscall(nr: number, a1: SyscallArg = 0, a2: SyscallArg = 0, a3: SyscallArg = 0, a4: SyscallArg = 0, a5: SyscallArg = 0): number {
  return Number(libc().syscall(nr, a1, a2, a3, a4, a5));
}

/** The calling thread's errno: the reason the last failed libc call gave. */
export function errno(): number {
  const at = libc().__errno_location();
  if (at === null) throw new Error("__errno_location returned NULL");
  return ffi().read.i32(at as Pointer);
}

/** close(2); returns 0, or -1 with {@link errno} set. */
export function close(fd: number): number {
  return libc().close(fd);
}

export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/** flock(2) on an open fd; returns 0, or -1 with {@link errno} set. */
export function flock(fd: number, op: number): number {
  return libc().flock(fd, op);
}

/** mkfifo(3); returns 0, or -1 with {@link errno} set. */
export function mkfifo(path: string, mode: number): number {
  return libc().mkfifo(Buffer.from(`${path}\0`), mode);
}

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0x80000;

/** socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC): two connected fds, or -1 with {@link errno} set. */
export function socketPair(): [number, number] | -1 {
  const fds = new Int32Array(2);
  if (libc().socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ffi().ptr(fds)) !== 0) return -1;
  return [fds[0]!, fds[1]!];
}

// ---- files: node:fs's synchronous calls, for the verbs that must not load node:fs ------

/** A failed libc call, shaped like node:fs's errors (`code` is the errno name) so callers test `code` either way. */
export class SysError extends Error {
  constructor(readonly syscall: string, readonly errno: number, readonly path?: string) {
    super(`${errnoName(errno)}: ${errnoMeaning(errno)}, ${syscall}${path === undefined ? "" : ` '${path}'`}`);
  }
  get code(): string {
    return errnoName(this.errno);
  }
}

const cstr = (s: string) => Buffer.from(`${s}\0`);

/** x86_64 open(2) flags: the same numbers node:fs's `constants` gives. */
export const O = { RDONLY: 0, WRONLY: 1, RDWR: 2, CREAT: 0o100, EXCL: 0o200, TRUNC: 0o1000, APPEND: 0o2000, NONBLOCK: 0o4000, DIRECTORY: 0o200000, CLOEXEC: 0o2000000 } as const;

function check(r: number | bigint, syscall: string, path?: string): number {
  const n = Number(r);
  if (n < 0) throw new SysError(syscall, errno(), path);
  return n;
}

/** open(2), close-on-exec always; throws SysError. */
export function openPath(path: string, flags: number, mode = 0o666): number {
  return check(libc().open(cstr(path), flags | O.CLOEXEC, mode), "open", path);
}

/** read(2) into buf; the byte count (0 at the end); throws SysError (EAGAIN for an empty non-blocking pipe). */
export function readFd(fd: number, buf: Uint8Array): number {
  return check(libc().read(fd, buf, buf.length), "read");
}

/** Write all of `data` to fd, waiting out EAGAIN (a non-blocking pipe the caller handed down); throws SysError. */
export function writeAll(fd: number, data: string | Uint8Array): void {
  const buf = typeof data === "string" ? Buffer.from(data) : data;
  let at = 0;
  while (at < buf.length) {
    const n = Number(libc().write(fd, buf.subarray(at), buf.length - at));
    if (n >= 0) {
      at += n;
      continue;
    }
    const e = errno();
    if (e !== 11 /* EAGAIN */ && e !== 4 /* EINTR */) throw new SysError("write", e);
    Bun.sleepSync(1);
  }
}

// One buffer for every readText: most files read here are a few hundred bytes.
let scratch = new Uint8Array(16384);
const utf8 = new TextDecoder();

/** The whole file's bytes (a copy); throws SysError. */
export function readBytes(path: string): Uint8Array {
  return readAll(path).slice();
}

/** The whole file as UTF-8 (proc and cgroup files included: read until the end, not st_size); throws SysError. */
export function readText(path: string): string {
  return utf8.decode(readAll(path));
}

/** The whole file in `scratch` (valid until the next call). */
function readAll(path: string): Uint8Array {
  const fd = openPath(path, O.RDONLY);
  try {
    let total = 0;
    for (;;) {
      if (total === scratch.length) {
        const bigger = new Uint8Array(scratch.length * 2);
        bigger.set(scratch);
        scratch = bigger;
      }
      const n = check(libc().read(fd, scratch.subarray(total), scratch.length - total), "read", path);
      if (n === 0) break;
      total += n;
    }
    return scratch.subarray(0, total);
  } finally {
    close(fd);
  }
}

/** Create (with `mode`, less the umask) or truncate `path` and write `data`; throws SysError. */
export function writeText(path: string, data: string, mode = 0o644, flags: number = O.TRUNC): void {
  const fd = openPath(path, O.WRONLY | O.CREAT | flags, mode);
  try {
    writeAll(fd, data);
  } finally {
    close(fd);
  }
}

/** Does `path` exist (access F_OK): a FIFO is not opened, so nothing blocks. */
export function pathExists(path: string): boolean {
  return libc().access(cstr(path), 0) === 0;
}

export function unlinkPath(path: string): void {
  check(libc().unlink(cstr(path)), "unlink", path);
}

export function rmdirPath(path: string): void {
  check(libc().rmdir(cstr(path)), "rmdir", path);
}

export function mkdirPath(path: string, mode: number): void {
  check(libc().mkdir(cstr(path), mode), "mkdir", path);
}

/** mkdir -p: each missing directory with `mode`; one that appears meanwhile is fine. */
export function mkdirParents(path: string, mode: number): void {
  if (pathExists(path)) return;
  const slash = path.lastIndexOf("/");
  if (slash > 0) mkdirParents(path.slice(0, slash), mode);
  try {
    mkdirPath(path, mode);
  } catch (err) {
    if ((err as { code?: string }).code !== "EEXIST") throw err;
  }
}

export function renamePath(from: string, to: string): void {
  check(libc().rename(cstr(from), cstr(to)), "rename", from);
}

export function chmodPath(path: string, mode: number): void {
  check(libc().chmod(cstr(path), mode), "chmod", path);
}

const S_IFMT = 0o170000;

/** What stat(2) says of a path, the parts berth asks about. */
export interface PathStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  isFile: boolean;
  isDirectory: boolean;
  isSymbolicLink: boolean;
}

// struct stat on x86_64: st_mode u32 at 24, st_uid at 28, st_gid at 32, st_size i64 at
// 48, st_mtim (tv_sec, tv_nsec) at 88; 144 bytes in all
function decodeStat(raw: Uint8Array): PathStat {
  const buf = new DataView(raw.buffer);
  const mode = buf.getUint32(24, true);
  const type = mode & S_IFMT;
  return {
    mode, uid: buf.getUint32(28, true), gid: buf.getUint32(32, true), size: Number(buf.getBigInt64(48, true)),
    mtimeMs: Number(buf.getBigInt64(88, true)) * 1000 + Number(buf.getBigInt64(96, true)) / 1e6,
    isFile: type === 0o100000, isDirectory: type === 0o040000, isSymbolicLink: type === 0o120000,
  };
}

/** stat(2), or lstat(2) with `follow: false`; throws SysError. */
export function statPath(path: string, opts: { follow?: boolean } = {}): PathStat {
  const raw = new Uint8Array(144);
  const fn = opts.follow === false ? libc().lstat : libc().stat;
  check(fn(cstr(path), raw), opts.follow === false ? "lstat" : "stat", path);
  return decodeStat(raw);
}

/** fstat(2); throws SysError. */
export function statFd(fd: number): PathStat {
  const raw = new Uint8Array(144);
  check(libc().fstat(fd, raw), "fstat");
  return decodeStat(raw);
}

/** pread(2): up to buf.length bytes at `offset`, the count read (0 at the end); throws SysError. */
export function preadFd(fd: number, buf: Uint8Array, offset: number): number {
  return check(libc().pread(fd, buf, buf.length, offset), "pread");
}

/** realpath(3): the absolute path with every symlink resolved; throws SysError. */
export function realPath(path: string): string {
  const out = new Uint8Array(4096); // PATH_MAX
  if (libc().realpath(cstr(path), out) === null) throw new SysError("realpath", errno(), path);
  return utf8.decode(out.subarray(0, out.indexOf(0)));
}

/** readlink(2): a symlink's target as stored (for /proc/PID/ns/* links, "net:[4026531840]"); throws SysError. */
export function readLink(path: string): string {
  const n = check(libc().readlink(cstr(path), scratch, scratch.length), "readlink", path);
  return utf8.decode(scratch.subarray(0, n));
}

/** One entry of a directory, with its d_type (DT_DIR 4, DT_REG 8, DT_LNK 10; DT_UNKNOWN 0 on some filesystems). */
export interface DirEntry {
  name: string;
  type: number;
}

export const DT_DIR = 4;

/** The entries of a directory but . and .., in the kernel's order; throws SysError. */
export function listDir(path: string): DirEntry[] {
  const { read, CString } = ffi();
  const dir = libc().opendir(cstr(path));
  if (dir === null) throw new SysError("opendir", errno(), path);
  const out: DirEntry[] = [];
  try {
    for (;;) {
      const ent = libc().readdir(dir);
      if (ent === null) break;
      // struct dirent on x86_64 glibc: d_ino 8, d_off 8, d_reclen 2, d_type 1 (at 18), d_name (at 19)
      const name = new CString(ent, 19).toString();
      if (name !== "." && name !== "..") out.push({ name, type: read.u8(ent, 18) });
    }
  } finally {
    libc().closedir(dir);
  }
  return out;
}
