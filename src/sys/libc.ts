/**
 * The project's one handle on libc: raw syscall(2) for the calls Bun has no API for
 * (bpf, memfd_create), flock, and the plain file calls berth-runtime's lifecycle verbs
 * and the observe paths make — through native/libc-binding.c, a Node-API module built
 * by `npm install` beside berth-init and loaded with process.dlopen.
 *
 * Why not node:fs: in Bun 1.4, `import "node:fs"` costs 3.5–4 ms and ~9 MiB of peak RSS
 * per process, and `start`, `state`, `kill` and `delete` are exec'd by engines for every
 * container, each doing a handful of small reads and writes. Why not bun:ffi (used until
 * 2026-11-24): it loads its module and compiles a TinyCC trampoline per symbol in every
 * process — 1.3–1.5 ms and ~3.5 MiB of peak RSS, against 0.2 ms and 1.5 MiB for the
 * binding (measured in compiled executables; docs/performance.md).
 *
 * Every binding returns -errno on failure, so errno is read from the call itself; no
 * other libc call the engine makes in between can overwrite it.
 *
 * Loaded on first use, never at import.
 */
import { BerthError } from "../errors.ts";
import { errnoMeaning, errnoName } from "./errno.ts";
import { nativeBuildCandidates } from "./native-path.ts";

/** A typed array (or Buffer) passed by address. */
type Bytes = ArrayBufferView;

/** native/libc-binding.c's exports: each returns its result, or -errno. */
interface LibcBinding {
  syscall(nr: number, ...args: SyscallArg[]): number;
  addressOf(bytes: Bytes): number;
  open(path: string, flags: number, mode: number): number;
  close(fd: number): number;
  flock(fd: number, op: number): number;
  read(fd: number, buf: Bytes, len: number): number;
  write(fd: number, buf: Bytes, len: number): number;
  pread(fd: number, buf: Bytes, len: number, offset: number): number;
  unlink(path: string): number;
  rmdir(path: string): number;
  mkdir(path: string, mode: number): number;
  access(path: string, mode: number): number;
  chmod(path: string, mode: number): number;
  mkfifo(path: string, mode: number): number;
  rename(from: string, to: string): number;
  stat(path: string, buf: Bytes): number;
  lstat(path: string, buf: Bytes): number;
  fstat(fd: number, buf: Bytes): number;
  realpath(path: string): string | number;
  readlink(path: string): string | number;
  /** [name, d_type, name, d_type, …], . and .. included */
  listDir(path: string): (string | number)[] | number;
  socketpair(domain: number, type: number, protocol: number, fds: Int32Array): number;
  poll(fd: number, events: number, timeoutMs: number): number;
  /** the whole file; -errno when open fails, -(READ_FAILED + errno) when a read does */
  readFile(path: string): string | number;
  /** posix_spawn(path, argv) with the environment env ("K=V"), child fd i = fds[i], every other fd closed: the pid */
  spawn(path: string, argv: string[], fds: number[], env: string[]): number;
  /** blocking waitpid(pid): the raw wait status */
  waitpid(pid: number): number;
}

/** libc-binding.c's marker for a readFile that opened the file but could not read it */
const READ_FAILED = 0x10000;

const LIBC_BINDING = "libc-binding.node";

/** native/build/libc-binding.node is missing or broken: nothing through this module works. */
export class LibcBindingError extends BerthError {}

function load(): LibcBinding {
  const failures: string[] = [];
  const candidates = nativeBuildCandidates(LIBC_BINDING, process.execPath, import.meta.dir);
  for (const path of candidates) {
    const mod = { exports: {} as LibcBinding };
    try {
      process.dlopen(mod, path);
      return mod.exports;
    } catch (err) {
      // a file that is there but cannot be loaded says more than the places it is not
      const why = (err as Error).message.split("\n")[0]!;
      if (!/no such file/i.test(why)) failures.push(`${path}: ${why}`);
    }
  }
  throw new LibcBindingError(
    `native/build/${LIBC_BINDING} ${failures.length ? `cannot be loaded (${failures[0]})` : `is missing (looked in ${candidates.length} places, last ${candidates.at(-1)})`}; build it with npm install (scripts/build-native.sh)`,
  );
}

let lib: LibcBinding | undefined;
const libc = () => (lib ??= load());

export type SyscallArg = number | bigint | Bytes;

/** The errno of the last call through this module that failed. */
let lastErrno = 0;

/** A binding's result: the value, or -1 with {@link errno} set. */
function orMinusOne(r: number): number {
  if (r >= 0) return r;
  lastErrno = -r;
  return -1;
}

/**
 * syscall(2): the raw return value, -1 on failure with the reason in {@link errno}.
 * A typed-array argument is passed by address.
 */
export function syscall(nr: number, a1: SyscallArg = 0, a2: SyscallArg = 0, a3: SyscallArg = 0, a4: SyscallArg = 0, a5: SyscallArg = 0): number {
  return orMinusOne(libc().syscall(nr, a1, a2, a3, a4, a5));
}

/** Where a typed array's bytes are: for a pointer stored inside a struct passed to {@link syscall} (bpf attrs). */
export function addressOf(bytes: Bytes): bigint {
  return BigInt(libc().addressOf(bytes));
}

/** The reason the last failed call of this module gave (its errno). */
export function errno(): number {
  return lastErrno;
}

/** close(2); returns 0, or -1 with {@link errno} set. */
export function close(fd: number): number {
  return orMinusOne(libc().close(fd));
}

export const LOCK_EX = 2;
export const LOCK_NB = 4;

/** flock(2) on an open fd; returns 0, or -1 with {@link errno} set. */
export function flock(fd: number, op: number): number {
  return orMinusOne(libc().flock(fd, op));
}

/** mkfifo(3); returns 0, or -1 with {@link errno} set. */
export function mkfifo(path: string, mode: number): number {
  return orMinusOne(libc().mkfifo(path, mode));
}

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0x80000;

/** socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC): two connected fds, or -1 with {@link errno} set. */
export function socketPair(): [number, number] | -1 {
  const fds = new Int32Array(2);
  if (orMinusOne(libc().socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds)) !== 0) return -1;
  return [fds[0]!, fds[1]!];
}

export const POLLIN = 1;

const SYS_PIDFD_OPEN = 434;

/**
 * Wait at most `ms` for process `pid` (any process, not only a child) to end, woken the
 * moment it does: pidfd_open(2) and poll. True when it has ended (or there was none);
 * false when it still runs — or when the kernel has no pidfd (before 5.3), after
 * sleeping `ms`.
 */
export function waitProcessEnd(pid: number, ms: number): boolean {
  const fd = pid > 0 ? syscall(SYS_PIDFD_OPEN, pid, 0) : -1;
  if (fd < 0) {
    if (pid <= 0 || lastErrno === 3 /* ESRCH */) return true;
    Bun.sleepSync(ms);
    return false;
  }
  try {
    return pollFd(fd, POLLIN, ms) > 0;
  } finally {
    close(fd);
  }
}

/** poll(2) on one fd: its revents, 0 when `timeoutMs` passed first (EINTR counts as that); throws SysError. */
export function pollFd(fd: number, events: number, timeoutMs: number): number {
  const r = libc().poll(fd, events, timeoutMs);
  return r === -4 /* EINTR */ ? 0 : check(r, "poll");
}

/**
 * Start `path` with `argv` and the environment `env` (empty when not given); the child's
 * fd i is this process's `fds[i]`, every other fd is closed, every signal default and
 * unblocked. Nothing reaps it for you: {@link waitPid} it. The pid; throws SysError
 * (ENOENT/EACCES for the program itself).
 */
export function spawnProcess(path: string, argv: string[], fds: number[], env?: Record<string, string>): number {
  return check(libc().spawn(path, argv, fds, Object.entries(env ?? {}).map(([k, v]) => `${k}=${v}`)), "posix_spawn", path);
}

/** Wait for child `pid` to end: its exit code, or 128 + the signal that ended it, as a shell says; throws SysError (ECHILD). */
export function waitPid(pid: number): number {
  const status = check(libc().waitpid(pid), "waitpid");
  return (status & 0x7f) === 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
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

/** x86_64 open(2) flags: the same numbers node:fs's `constants` gives. */
export const O = { RDONLY: 0, WRONLY: 1, RDWR: 2, CREAT: 0o100, EXCL: 0o200, TRUNC: 0o1000, APPEND: 0o2000, NONBLOCK: 0o4000, DIRECTORY: 0o200000, CLOEXEC: 0o2000000 } as const;

/** A binding's result, or a SysError with its errno. */
function check(r: number, syscall: string, path?: string): number {
  if (r < 0) throw new SysError(syscall, (lastErrno = -r), path);
  return r;
}

/**
 * Whether this process has a terminal: one of stderr, stdout, stdin is one, or a
 * controlling terminal opens as /dev/tty (runc's initHostConsole looks in that order).
 */
export function hasTerminal(): boolean {
  // isatty without node:tty (a few ms of every create to load): what the fd is open on
  const onTerminal = (fd: number) => {
    try {
      return /^\/dev\/(?:pts\/\d+|tty\w*|console)$/.test(readLink(`/proc/self/fd/${fd}`));
    } catch {
      return false;
    }
  };
  if ([2, 1, 0].some(onTerminal)) return true;
  try {
    close(openPath("/dev/tty", O.RDWR | O_NOCTTY));
    return true;
  } catch {
    return false; // ENXIO: no controlling terminal
  }
}

const O_NOCTTY = 0o400;

/** open(2), close-on-exec always; throws SysError. */
export function openPath(path: string, flags: number, mode = 0o666): number {
  return check(libc().open(path, flags | O.CLOEXEC, mode), "open", path);
}

/** read(2) into buf; the byte count (0 at the end); throws SysError (EAGAIN for an empty non-blocking pipe). */
export function readFd(fd: number, buf: Uint8Array): number {
  return check(libc().read(fd, buf, buf.length), "read");
}

let utf8: TextEncoder | undefined;

/** Write all of `data` to fd, waiting out EAGAIN (a non-blocking pipe the caller handed down); throws SysError. */
/** Write all of `data`; a failure is a SysError naming `path` when given (ENOSPC: which file, not just "write"). */
export function writeAll(fd: number, data: string | Uint8Array, path?: string): void {
  // TextEncoder, not Buffer.from: Bun sets up Buffer on its first use (0.1–0.2 ms, measured),
  // and this is the one write of `state` and of every berth command's output
  const buf = typeof data === "string" ? (utf8 ??= new TextEncoder()).encode(data) : data;
  let at = 0;
  while (at < buf.length) {
    const n = libc().write(fd, buf.subarray(at), buf.length - at);
    if (n >= 0) {
      at += n;
      continue;
    }
    const e = (lastErrno = -n);
    if (e !== 11 /* EAGAIN */ && e !== 4 /* EINTR */) throw new SysError("write", e, path);
    Bun.sleepSync(1);
  }
}

// One buffer for every readBytes: most files read here are a few hundred bytes.
let scratch = new Uint8Array(16384);

/** The whole file's bytes (a copy); throws SysError. */
export function readBytes(path: string): Uint8Array {
  return readAll(path).slice();
}

/** The whole file as UTF-8 (proc and cgroup files included: read until the end, not st_size); throws SysError. */
export function readText(path: string): string {
  const r = libc().readFile(path);
  if (typeof r !== "number") return r;
  throw readFailure(r, path);
}

/** readFile's failure (-errno, offset by READ_FAILED when the read failed, not the open) as a SysError. */
function readFailure(r: number, path: string): SysError {
  // one call into the module instead of open, read… and close: berth stats reads a dozen files per container
  if (-r >= READ_FAILED) return new SysError("read", (lastErrno = -r - READ_FAILED), path);
  return new SysError("open", (lastErrno = -r), path);
}

/**
 * The whole file as UTF-8, or undefined when it is not there: ENOENT, ENOTDIR (a parent
 * on the path is a file), or ESRCH — a /proc/PID file whose process was reaped between
 * open and read (the kernel's proc_single_show and cmdline readers answer that), or
 * ENODEV — a cgroup file whose cgroup was removed between open and read (kernfs answers
 * that): host-wide scans meet both on a busy host. Every other failure (EACCES, EIO, EISDIR…) is
 * raised as a SysError naming the path: a file that exists but cannot be read is not
 * the same answer as no file.
 */
export function readTextIfExists(path: string): string | undefined {
  const r = libc().readFile(path);
  if (typeof r !== "number") return r;
  // the errno straight from the result: an Error for an expected ENOENT (its stack, its
  // message, the errno table the first time) cost `create` 0.2 ms for the files it probes
  const e = (lastErrno = -r >= READ_FAILED ? -r - READ_FAILED : -r);
  if (e === 2 /* ENOENT */ || e === 20 /* ENOTDIR */ || e === 3 /* ESRCH */ || e === 19 /* ENODEV */) return undefined;
  throw readFailure(r, path);
}

/** The whole file in `scratch` (valid until the next call). */
function readAll(path: string): Uint8Array {
  const fd = openPath(path, O.RDONLY);
  try {
    return readToEnd(fd, path);
  } finally {
    close(fd);
  }
}

/** Everything left to read on fd, in `scratch` (valid until the next call); a non-blocking fd is waited on. */
function readToEnd(fd: number, path?: string): Uint8Array {
  let total = 0;
  for (;;) {
    if (total === scratch.length) {
      const bigger = new Uint8Array(scratch.length * 2);
      bigger.set(scratch);
      scratch = bigger;
    }
    const n = libc().read(fd, scratch.subarray(total), scratch.length - total);
    if (n === -11 /* EAGAIN */) {
      pollFd(fd, POLLIN, -1);
      continue;
    }
    if (n === -4 /* EINTR */) continue;
    if (check(n, "read", path) === 0) break;
    total += n;
  }
  return scratch.subarray(0, total);
}

/** Everything left to read on an open fd (standard input: fd 0) as UTF-8, until its end; throws SysError. */
export function readFdText(fd: number): string {
  return new TextDecoder().decode(readToEnd(fd));
}

/** Create (with `mode`, less the umask) or truncate `path` and write `data`; throws SysError. */
export function writeText(path: string, data: string, mode = 0o644, flags: number = O.TRUNC): void {
  const fd = openPath(path, O.WRONLY | O.CREAT | flags, mode);
  try {
    writeAll(fd, data, path);
  } finally {
    close(fd);
  }
}

/**
 * Rewrite an existing file in place (same inode: where it is bind-mounted the new text
 * shows); false when it does not exist — it is never created, so a directory another
 * process is removing gets no new file. Throws SysError for other failures.
 */
export function rewriteText(path: string, data: string): boolean {
  let fd: number;
  try {
    fd = openPath(path, O.WRONLY | O.TRUNC);
  } catch (err) {
    if ((err as SysError).code === "ENOENT") return false;
    throw err;
  }
  try {
    writeAll(fd, data, path);
  } finally {
    close(fd);
  }
  return true;
}

/** access(2) modes: may the caller read, write, execute (search) the path. */
export const R_OK = 4, W_OK = 2, X_OK = 1;

/** access(2) with R_OK/W_OK/X_OK: may this process (its real ids) use the path so; false for any failure. */
export function canAccess(path: string, mode: number): boolean {
  return libc().access(path, mode) === 0;
}

/** Does `path` exist (access F_OK): a FIFO is not opened, so nothing blocks. */
export function pathExists(path: string): boolean {
  return libc().access(path, 0) === 0;
}

export function unlinkPath(path: string): void {
  check(libc().unlink(path), "unlink", path);
}

export function rmdirPath(path: string): void {
  check(libc().rmdir(path), "rmdir", path);
}

export function mkdirPath(path: string, mode: number): void {
  check(libc().mkdir(path, mode), "mkdir", path);
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
  check(libc().rename(from, to), "rename", from);
}

export function chmodPath(path: string, mode: number): void {
  check(libc().chmod(path, mode), "chmod", path);
}

// fsync, link and umount2 have no function of their own in the binding: raw syscalls (x86_64 numbers)
const SYS_FSYNC = 74;
const SYS_LINK = 86;
const SYS_UMOUNT2 = 166;
const MNT_DETACH = 2;
const UMOUNT_NOFOLLOW = 8;

/** fsync(2): the file's data and metadata reach the disk before this returns; throws SysError. */
export function fsyncFd(fd: number): void {
  if (syscall(SYS_FSYNC, fd) !== 0) throw new SysError("fsync", lastErrno);
}

const SYS_FCNTL = 72;
const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;

/**
 * fcntl(F_SETPIPE_SZ): a pipe's (or FIFO's) capacity raised to at least `bytes`. Returns
 * the capacity it has — what it got, or, when the kernel refused (above
 * /proc/sys/fs/pipe-max-size without CAP_SYS_RESOURCE, or past the user's pipe pages),
 * what it had, which may be one page: a writer must not count on more.
 */
export function setPipeSize(fd: number, bytes: number): number {
  const got = syscall(SYS_FCNTL, fd, F_SETPIPE_SZ, bytes);
  return got >= 0 ? got : syscall(SYS_FCNTL, fd, F_GETPIPE_SZ);
}

/** A NUL-terminated copy of a path, for a raw syscall's `const char *`. */
function cPath(path: string, syscallName: string): Uint8Array {
  // as the binding does for its own paths: a NUL would cut the path short, silently
  if (path.includes("\0")) throw new SysError(syscallName, (lastErrno = 22 /* EINVAL */), path);
  return (utf8 ??= new TextEncoder()).encode(`${path}\0`);
}

/** link(2): a second name for `from`; EEXIST when `to` exists (never replaced); throws SysError. */
export function linkPath(from: string, to: string): void {
  if (syscall(SYS_LINK, cPath(from, "link"), cPath(to, "link")) !== 0) throw new SysError("link", lastErrno, to);
}

/** umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW): the mount on top of `path` (a symlink there is not followed) leaves the tree now; throws SysError. */
export function unmountDetached(path: string): void {
  if (syscall(SYS_UMOUNT2, cPath(path, "umount2"), MNT_DETACH | UMOUNT_NOFOLLOW) !== 0) throw new SysError("umount2", lastErrno, path);
}

const S_IFMT = 0o170000;

/** What stat(2) says of a path, the parts berth asks about. */
export interface PathStat {
  /** st_dev and st_ino: together they name a file (two namespace files are the same namespace when both match) */
  dev: bigint;
  ino: bigint;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  /** st_nlink: how many names the file has */
  nlink: number;
  /** the device a device file stands for (st_rdev, glibc's dev_t encoding) */
  rdev: number;
  isFile: boolean;
  isDirectory: boolean;
  isSymbolicLink: boolean;
  isBlockDevice: boolean;
}

// struct stat on x86_64: st_dev u64 at 0, st_ino u64 at 8, st_nlink u64 at 16, st_mode u32 at 24, st_uid at 28, st_gid
// at 32, st_rdev u64 at 40, st_size i64 at 48, st_mtim (tv_sec, tv_nsec) at 88; 144 bytes in all
/** A struct stat the kernel filled in (144 bytes, at the start of its buffer), decoded. */
export function decodeStat(raw: Uint8Array): PathStat {
  const buf = new DataView(raw.buffer);
  const mode = buf.getUint32(24, true);
  const type = mode & S_IFMT;
  return {
    dev: buf.getBigUint64(0, true), ino: buf.getBigUint64(8, true),
    nlink: Number(buf.getBigUint64(16, true)), mode, uid: buf.getUint32(28, true), gid: buf.getUint32(32, true), size: Number(buf.getBigInt64(48, true)),
    mtimeMs: Number(buf.getBigInt64(88, true)) * 1000 + Number(buf.getBigInt64(96, true)) / 1e6, rdev: Number(buf.getBigUint64(40, true)),
    isFile: type === 0o100000, isDirectory: type === 0o040000, isSymbolicLink: type === 0o120000, isBlockDevice: type === 0o060000,
  };
}

/** stat(2), or lstat(2) with `follow: false`; throws SysError. */
export function statPath(path: string, opts: { follow?: boolean } = {}): PathStat {
  const raw = new Uint8Array(144);
  const fn = opts.follow === false ? libc().lstat : libc().stat;
  check(fn(path, raw), opts.follow === false ? "lstat" : "stat", path);
  return decodeStat(raw);
}

/** fstat(2); throws SysError. */
export function statFd(fd: number): PathStat {
  const raw = new Uint8Array(144);
  check(libc().fstat(fd, raw), "fstat");
  return decodeStat(raw);
}

const SYS_STATFS = 137;

/** What statfs(2) says of a filesystem: sizes in blocks of `bsize` bytes, inode counts. */
export interface FsStat {
  type: number;
  bsize: number;
  blocks: number;
  bfree: number;
  /** free blocks an unprivileged user may use */
  bavail: number;
  files: number;
  ffree: number;
}

/** statfs(2) of the filesystem holding `path`; throws SysError. */
export function statFs(path: string): FsStat {
  // struct statfs on x86_64: eleven 8-byte fields (type, bsize, blocks, bfree, bavail, files, ffree, …) and spare: 120 bytes
  const raw = new Uint8Array(120);
  if (syscall(SYS_STATFS, cPath(path, "statfs"), raw) !== 0) throw new SysError("statfs", lastErrno, path);
  const buf = new DataView(raw.buffer);
  const field = (i: number) => Number(buf.getBigUint64(i * 8, true));
  return { type: field(0), bsize: field(1), blocks: field(2), bfree: field(3), bavail: field(4), files: field(5), ffree: field(6) };
}

/** pread(2): up to buf.length bytes at `offset`, the count read (0 at the end); throws SysError. */
export function preadFd(fd: number, buf: Uint8Array, offset: number): number {
  return check(libc().pread(fd, buf, buf.length, offset), "pread");
}

/** realpath(3): the absolute path with every symlink resolved; throws SysError. */
export function realPath(path: string): string {
  const r = libc().realpath(path);
  if (typeof r === "number") throw new SysError("realpath", (lastErrno = -r), path);
  return r;
}

/** readlink(2): a symlink's target as stored (for /proc/PID/ns/* links, "net:[4026531840]"); throws SysError. */
export function readLink(path: string): string {
  const r = libc().readlink(path);
  if (typeof r === "number") throw new SysError("readlink", (lastErrno = -r), path);
  return r;
}

/** One entry of a directory, with its d_type (DT_DIR 4, DT_REG 8, DT_LNK 10; DT_UNKNOWN 0 on some filesystems). */
export interface DirEntry {
  name: string;
  type: number;
}

export const DT_DIR = 4;

/** The entries of a directory but . and .., in the kernel's order; throws SysError. */
export function listDir(path: string): DirEntry[] {
  const r = libc().listDir(path);
  if (typeof r === "number") throw new SysError("opendir", (lastErrno = -r), path);
  const out: DirEntry[] = [];
  for (let i = 0; i < r.length; i += 2) {
    const name = r[i] as string;
    if (name !== "." && name !== "..") out.push({ name, type: r[i + 1] as number });
  }
  return out;
}
