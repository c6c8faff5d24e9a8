/**
 * File creation confined to one directory — the system calls an image layer is unpacked
 * with. Every path is looked up by openat2(2) with RESOLVE_BENEATH under the directory's
 * fd, so neither `..` nor a symlink (absolute, or relative and climbing out) planted by an
 * earlier entry can take a lookup outside it: the kernel answers EXDEV instead, and the
 * caller names the entry. The last component of a new name is always created with the
 * *at call on its parent's fd, O_NOFOLLOW / AT_SYMLINK_NOFOLLOW, never followed.
 *
 * Why RESOLVE_BENEATH and not RESOLVE_IN_ROOT (what berth-init uses for mounts): a layer
 * entry that climbs out through a symlink is hostile or broken, and docker refuses it
 * (breakoutError) rather than re-rooting it; BENEATH fails where IN_ROOT would reinterpret.
 *
 * Raw syscalls through sys/libc.ts (x86_64 numbers), as the binding has no function of
 * its own for the *at calls; each returns -1 with errno(), turned into SysError here.
 */
import { close, decodeStat, errno, listDir, O, readFd, readLink, statFd, syscall, SysError, writeAll, type PathStat } from "./libc.ts";

const SYS = {
  fchmod: 91, fchown: 93, fsetxattr: 190, lsetxattr: 189, lgetxattr: 192, fgetxattr: 193, llistxattr: 195,
  openat: 257, mkdirat: 258, mknodat: 259, fchownat: 260, newfstatat: 262, unlinkat: 263,
  linkat: 265, symlinkat: 266, fchmodat: 268, utimensat: 280, openat2: 437,
} as const;

const O_PATH = 0o10000000;
const O_NOFOLLOW = 0o400000;
const O_NOCTTY = 0o400;
const RESOLVE_NO_MAGICLINKS = 0x02;
const RESOLVE_BENEATH = 0x08;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_REMOVEDIR = 0x200;
const UTIME_OMIT = (1 << 30) - 2;

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

const encoder = new TextEncoder();

/** A NUL-terminated copy of a string for a `const char *` argument; a NUL inside is EINVAL. */
function cString(s: string, call: string): Uint8Array {
  if (s.includes("\0")) throw new SysError(call, 22, s);
  return encoder.encode(`${s}\0`);
}

function check(r: number, call: string, path?: string): number {
  if (r < 0) throw new SysError(call, errno(), path);
  return r;
}

/** makedev(3): glibc's encoding of a device number. */
export function makeDev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return (mi & 0xffn) | ((ma & 0xfffn) << 8n) | ((mi & ~0xffn) << 12n) | ((ma & ~0xfffn) << 32n);
}

/**
 * major(3) and minor(3) of a device number: makeDev undone (tar's devmajor/devminor).
 * glibc's masks: each part is 32 bits, so a major's high bits (above bit 43) are not the minor's.
 */
export function devParts(rdev: bigint): { devmajor: number; devminor: number } {
  return {
    devmajor: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n)),
    devminor: Number((rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n)),
  };
}

/** What fstatat(2) says of a name (not followed), the parts unpacking asks about. */
export interface EntryStat {
  mode: number;
  /** st_nlink, st_ino: a hardlink's identity */
  ino: bigint;
  size: number;
  /** st_rdev: a device node's number (overlayfs's whiteout is a character device 0:0) */
  rdev: bigint;
}

/**
 * A directory opened for writing beneath. Directory fds (O_PATH) are cached by relative
 * path; `forget()` drops the cache when an entry may have replaced a directory.
 */
export class BeneathDir {
  private readonly dirs = new Map<string, number>();
  private readonly howBuf = new BigUint64Array(3);
  private readonly statBuf = new Uint8Array(144);

  private constructor(readonly path: string, readonly fd: number) {}

  /** Open `path` (a directory that exists) to create files beneath it; throws SysError. */
  static open(path: string): BeneathDir {
    const fd = check(syscall(SYS.openat, -100 /* AT_FDCWD */, cString(path, "open"), O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0), "open", path);
    return new BeneathDir(path, fd);
  }

  /** openat2 beneath the root: `rel` ("" for the root itself) with `flags`; throws SysError (EXDEV: it would leave the root). */
  openBeneath(rel: string, flags: number, mode = 0): number {
    if (rel === "") return check(syscall(SYS.openat, this.fd, cString(".", "openat2"), flags | O.CLOEXEC, mode), "openat2", this.path);
    const how = this.howBuf;
    how[0] = BigInt(flags | O.CLOEXEC);
    how[1] = BigInt(mode);
    how[2] = BigInt(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
    return check(syscall(SYS.openat2, this.fd, cString(rel, "openat2"), how, 24), "openat2", rel);
  }

  /** An O_PATH fd of directory `rel` beneath the root, cached; throws SysError (ENOENT, ENOTDIR, EXDEV). */
  dir(rel: string): number {
    if (rel === "") return this.fd;
    const cached = this.dirs.get(rel);
    if (cached !== undefined) return cached;
    const fd = this.openBeneath(rel, O_PATH | O.DIRECTORY);
    this.dirs.set(rel, fd);
    return fd;
  }

  /**
   * What `rel` is beneath the root, its last component not followed; undefined when
   * nothing is there or the lookup would leave the root (a symlink on the way out).
   */
  lstatBeneath(rel: string): EntryStat | undefined {
    const slash = rel.lastIndexOf("/");
    let dir: number;
    try {
      dir = slash < 0 ? this.fd : this.dir(rel.slice(0, slash));
    } catch (err) {
      if (err instanceof SysError && [2, 18, 20, 40].includes(err.errno)) return undefined; // ENOENT, EXDEV, ENOTDIR, ELOOP
      throw err;
    }
    return this.lstatAt(dir, rel.slice(slash + 1));
  }

  /** Extended attribute `name` of directory `rel` beneath the root: undefined when not set; throws SysError (ENOTDIR, ENOENT…). */
  dirXattr(rel: string, name: string): Uint8Array | undefined {
    const fd = this.openBeneath(rel, O.RDONLY | O.DIRECTORY | O_NOFOLLOW);
    try {
      return getXattrFd(fd, name);
    } finally {
      close(fd);
    }
  }

  /** Drop the cached directory fds: a directory may have been removed or replaced. */
  forget(): void {
    for (const fd of this.dirs.values()) close(fd);
    this.dirs.clear();
  }

  /** fstatat(dirFd, name) without following a symlink, with owner, mtime and link count: undefined when nothing is there; throws SysError. */
  statAt(dirFd: number, name: string): (EntryStat & Pick<PathStat, "uid" | "gid" | "mtimeMs" | "nlink">) | undefined {
    const st = this.lstatAt(dirFd, name);
    if (!st) return undefined;
    const { uid, gid, mtimeMs, nlink } = decodeStat(this.statBuf);
    return { ...st, uid, gid, mtimeMs, nlink };
  }

  /** fstatat(dirFd, name) without following a symlink: undefined when nothing is there; throws SysError. */
  lstatAt(dirFd: number, name: string): EntryStat | undefined {
    const r = syscall(SYS.newfstatat, dirFd, cString(name, "fstatat"), this.statBuf, AT_SYMLINK_NOFOLLOW);
    if (r < 0) {
      if (errno() === 2 /* ENOENT */) return undefined;
      throw new SysError("fstatat", errno(), name);
    }
    const view = new DataView(this.statBuf.buffer);
    return { mode: view.getUint32(24, true), ino: view.getBigUint64(8, true), size: Number(view.getBigInt64(48, true)), rdev: view.getBigUint64(40, true) };
  }

  mkdirAt(dirFd: number, name: string, mode: number): void {
    check(syscall(SYS.mkdirat, dirFd, cString(name, "mkdirat"), mode), "mkdirat", name);
  }

  /** A new regular file (never an existing one, never through a symlink), open for writing: its fd. */
  createFileAt(dirFd: number, name: string, mode: number): number {
    return check(syscall(SYS.openat, dirFd, cString(name, "openat"), O.WRONLY | O.CREAT | O.EXCL | O_NOFOLLOW | O.CLOEXEC, mode), "openat", name);
  }

  /** A directory beneath, opened for reading (for its xattrs): its fd. */
  openDirAt(dirFd: number, name: string): number {
    return check(syscall(SYS.openat, dirFd, cString(name, "openat"), O.RDONLY | O.DIRECTORY | O_NOFOLLOW | O.CLOEXEC, 0), "openat", name);
  }

  symlinkAt(target: string, dirFd: number, name: string): void {
    check(syscall(SYS.symlinkat, cString(target, "symlinkat"), dirFd, cString(name, "symlinkat")), "symlinkat", name);
  }

  /** A hardlink `dirFd/name` to `fromDirFd/fromName` (not followed when it is a symlink). */
  linkAt(fromDirFd: number, fromName: string, dirFd: number, name: string): void {
    check(syscall(SYS.linkat, fromDirFd, cString(fromName, "linkat"), dirFd, cString(name, "linkat"), 0), "linkat", name);
  }

  mknodAt(dirFd: number, name: string, mode: number, dev: bigint): void {
    check(syscall(SYS.mknodat, dirFd, cString(name, "mknodat"), mode, dev), "mknodat", name);
  }

  /** Remove a name: a file, or a directory with `dir`. */
  unlinkAt(dirFd: number, name: string, dir = false): void {
    check(syscall(SYS.unlinkat, dirFd, cString(name, "unlinkat"), dir ? AT_REMOVEDIR : 0), "unlinkat", name);
  }

  /** lchown: ownership of the name itself, a symlink included. */
  chownAt(dirFd: number, name: string, uid: number, gid: number): void {
    check(syscall(SYS.fchownat, dirFd, cString(name, "fchownat"), uid, gid, AT_SYMLINK_NOFOLLOW), "fchownat", name);
  }

  /** chmod of a name that is not a symlink (Linux cannot chmod one). */
  chmodAt(dirFd: number, name: string, mode: number): void {
    check(syscall(SYS.fchmodat, dirFd, cString(name, "fchmodat"), mode, 0), "fchmodat", name);
  }

  /** Set atime and mtime (ms since the epoch; atime undefined: left as it is) of the name itself. */
  utimesAt(dirFd: number, name: string, mtimeMs: number, atimeMs?: number): void {
    check(syscall(SYS.utimensat, dirFd, cString(name, "utimensat"), timespecs(mtimeMs, atimeMs), AT_SYMLINK_NOFOLLOW), "utimensat", name);
  }

  close(): void {
    this.forget();
    close(this.fd);
  }
}

function timespecs(mtimeMs: number, atimeMs?: number): BigInt64Array {
  const t = new BigInt64Array(4);
  const set = (i: number, ms: number | undefined) => {
    if (ms === undefined) {
      t[i] = 0n;
      t[i + 1] = BigInt(UTIME_OMIT);
      return;
    }
    const sec = Math.floor(ms / 1000);
    t[i] = BigInt(sec);
    t[i + 1] = BigInt(Math.round((ms - sec * 1000) * 1e6));
  };
  set(0, atimeMs ?? mtimeMs);
  set(2, mtimeMs);
  return t;
}

/** fchown(2) of an open file; throws SysError. */
export function chownFd(fd: number, uid: number, gid: number): void {
  check(syscall(SYS.fchown, fd, uid, gid), "fchown");
}

/** fchmod(2) of an open file; throws SysError. */
export function chmodFd(fd: number, mode: number): void {
  check(syscall(SYS.fchmod, fd, mode), "fchmod");
}

/** futimens(3): atime and mtime of an open file (ms since the epoch); throws SysError. */
export function utimesFd(fd: number, mtimeMs: number): void {
  check(syscall(SYS.utimensat, fd, 0, timespecs(mtimeMs), 0), "futimens");
}

/** fsetxattr(2); throws SysError. */
export function setXattrFd(fd: number, name: string, value: Uint8Array): void {
  check(syscall(SYS.fsetxattr, fd, cString(name, "fsetxattr"), value, value.length, 0), "fsetxattr", name);
}

/** lgetxattr(2) of a path: the value, or undefined when the attribute is not set (ENODATA); throws SysError. */
export function getXattr(path: string, name: string): Uint8Array | undefined {
  const buf = new Uint8Array(65536);
  const r = syscall(SYS.lgetxattr, cString(path, "lgetxattr"), cString(name, "lgetxattr"), buf, buf.length);
  if (r < 0) {
    if (errno() === 61 /* ENODATA */) return undefined;
    throw new SysError("lgetxattr", errno(), path);
  }
  return buf.slice(0, r);
}

/** fgetxattr(2) of an open file (not O_PATH): the value, or undefined when the attribute is not set (ENODATA); throws SysError. */
export function getXattrFd(fd: number, name: string): Uint8Array | undefined {
  const buf = new Uint8Array(65536);
  const r = syscall(SYS.fgetxattr, fd, cString(name, "fgetxattr"), buf, buf.length);
  if (r < 0) {
    if (errno() === 61 /* ENODATA */) return undefined;
    throw new SysError("fgetxattr", errno(), String(fd));
  }
  return buf.slice(0, r);
}

/** overlayfs's mark of a directory that hides the lower layers' one (`y`): an image layer's `.wh..wh..opq` unpacked, a directory a container replaced */
export const OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque";

/** overlayfs's whiteout: a character device 0:0 in an upper (or a layer's) directory. */
export function isOverlayWhiteout(st: { mode: number; rdev: bigint }): boolean {
  return (st.mode & S_IFMT) === S_IFCHR && st.rdev === 0n;
}

/** An opaque directory's xattr value ("y"): the layers below do not show through it. */
export function isOverlayOpaque(value: Uint8Array | undefined): boolean {
  return value !== undefined && value.length === 1 && value[0] === 0x79; // "y"
}

/** An entry of a tree walked beneath its root: its path from the root (`etc/passwd`), and what fstatat says of it. */
export interface WalkedEntry extends EntryStat, Pick<PathStat, "uid" | "gid" | "mtimeMs" | "nlink"> {
  rel: string;
  /** the fd of the directory holding it, and its name there: what the *at calls take, open while it is visited */
  parentFd: number;
  name: string;
  /** a directory's own fd (O_RDONLY, for fgetxattr), open while it and its children are visited */
  dirFd?: number;
  /** set by the consumer before asking for the next entry: do not walk into this directory */
  skip?: boolean;
}

/**
 * The tree under `root`, parents before children, names in byte order, yielded as it is
 * walked (a consumer may await between entries: the fds stay open meanwhile). Every
 * directory is opened by name on its parent's fd with O_NOFOLLOW and listed through that
 * fd, so a tree another process changes meanwhile — a running container's overlay upper
 * directory — cannot lead the walk out of it: a directory swapped for a symlink fails to
 * open (ELOOP/ENOTDIR) and is skipped, as an entry removed meanwhile is.
 *
 * A name that is not UTF-8 comes back from listDir changed (U+FFFD) and cannot be looked
 * up by it — or finds the UTF-8 name it decoded to: `undecodable` is told its path (a
 * consumer that must not lose it throws), else it is skipped.
 */
export function* entriesBeneath(root: string, opts: { undecodable?: (rel: string) => void } = {}): Generator<WalkedEntry> {
  const tree = BeneathDir.open(root);
  function* walk(dirFd: number, prefix: string): Generator<WalkedEntry> {
    const names = listDir(`/proc/self/fd/${dirFd}`).map((e) => e.name).sort();
    for (const [i, name] of names.entries()) {
      // a second name decoding the same (a\xff beside a\uFFFD): one of the two is not UTF-8, and its lookup finds the other
      if (i > 0 && names[i - 1] === name) {
        opts.undecodable?.(`${prefix}${name}`);
        continue;
      }
      const st = tree.statAt(dirFd, name);
      if (!st) {
        if (name.includes("\uFFFD")) opts.undecodable?.(`${prefix}${name}`);
        continue;
      }
      const rel = `${prefix}${name}`;
      if ((st.mode & S_IFMT) !== S_IFDIR) {
        yield { ...st, rel, parentFd: dirFd, name };
        continue;
      }
      let fd: number;
      try {
        fd = tree.openDirAt(dirFd, name);
      } catch (err) {
        if (err instanceof SysError && [2, 20, 40].includes(err.errno)) continue; // ENOENT, ENOTDIR, ELOOP: changed meanwhile
        throw err;
      }
      try {
        const entry: WalkedEntry = { ...st, rel, parentFd: dirFd, name, dirFd: fd };
        yield entry;
        if (!entry.skip) yield* walk(fd, `${rel}/`);
      } finally {
        close(fd);
      }
    }
  }
  try {
    yield* walk(tree.fd, "");
  } finally {
    tree.close();
  }
}

/** An open regular file `name` of directory `dirFd`, never through a symlink (ELOOP), never a FIFO's blocking open; throws SysError. */
export function openFileAt(dirFd: number, name: string): number {
  return check(syscall(SYS.openat, dirFd, cString(name, "openat"), O.RDONLY | O_NOFOLLOW | O.NONBLOCK | O.CLOEXEC | O_NOCTTY, 0), "openat", name);
}

/** readlinkat(2): a symlink's target, `name` of directory `dirFd`; throws SysError. */
export function readLinkAt(dirFd: number, name: string): string {
  return readLink(`/proc/self/fd/${dirFd}/${name}`);
}

/** lsetxattr(2) of a path itself; throws SysError. */
export function setXattr(path: string, name: string, value: Uint8Array): void {
  check(syscall(SYS.lsetxattr, cString(path, "lsetxattr"), cString(name, "lsetxattr"), value, value.length, 0), "lsetxattr", path);
}

/** llistxattr(2): the names of a path's extended attributes; throws SysError. */
export function listXattrs(path: string): string[] {
  const buf = new Uint8Array(65536);
  const r = check(syscall(SYS.llistxattr, cString(path, "llistxattr"), buf, buf.length), "llistxattr", path);
  return new TextDecoder().decode(buf.subarray(0, r)).split("\0").filter((n) => n !== "");
}

/** Write all of `data` to an open file (a layer's file contents). */
export { writeAll as writeFd };

const RESOLVE_IN_ROOT = 0x10;

/**
 * An fd of `path` (absolute, in the container's view) with symlinks resolved as if `root`
 * were / — openat2(2) RESOLVE_IN_ROOT, the kernel's answer to moby's
 * FollowSymlinkInScope: an image's symlink to /etc or ../../.. lands inside `root`,
 * never on the host's. Undefined when nothing is there; throws SysError otherwise.
 */
function openInRoot(root: string, path: string, flags: number): number | undefined {
  const dir = check(syscall(SYS.openat, -100 /* AT_FDCWD */, cString(root, "open"), O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0), "open", root);
  try {
    const how = new BigUint64Array([BigInt(flags | O.CLOEXEC), 0n, BigInt(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)]);
    const fd = syscall(SYS.openat2, dir, cString(path.replace(/^\/+/, "") || ".", "openat2"), how, 24);
    if (fd < 0) {
      if (errno() === 2 /* ENOENT */) return undefined;
      throw new SysError("openat2", errno(), path);
    }
    return fd;
  } finally {
    close(dir);
  }
}

/**
 * Where `path` (absolute, in the container's view) is on the host, symlinks resolved
 * inside `root` (openInRoot). Undefined when nothing is there; throws SysError otherwise.
 *
 * @example resolveInRoot("/var/lib/berth/containers/ID/rootfs", "/data") // → ".../rootfs/srv/data" when /data -> /srv/data
 */
export function resolveInRoot(root: string, path: string): string | undefined {
  const fd = openInRoot(root, path, O_PATH);
  if (fd === undefined) return undefined;
  try {
    return readLink(`/proc/self/fd/${fd}`);
  } finally {
    close(fd);
  }
}

/**
 * The text of the regular file at `path` inside `root` (symlinks resolved inside it, as
 * openInRoot): what the engine reads of an image it does not trust — /etc/passwd that is a
 * symlink to the host's /dev/zero, or a FIFO, once hung `berth run`; a device node is
 * looked at, never opened. Undefined when no regular file is there (ENOENT, ENOTDIR); a
 * file over `maxBytes` throws SysError EFBIG naming it.
 */
export function readFileInRoot(root: string, path: string, maxBytes: number): string | undefined {
  let pathFd: number | undefined;
  try {
    // O_PATH: found, not opened — a device node's open is its driver's (a watchdog's arms it), a FIFO's waits for a writer
    pathFd = openInRoot(root, path, O_PATH);
  } catch (err) {
    if ((err as SysError).errno === 20 /* ENOTDIR */) return undefined;
    throw err;
  }
  if (pathFd === undefined) return undefined;
  let fd: number;
  try {
    if (!statFd(pathFd).isFile) return undefined;
    // the same inode, opened for reading now that it is known to be a regular file
    fd = check(syscall(SYS.openat, -100 /* AT_FDCWD */, cString(`/proc/self/fd/${pathFd}`, "open"), O.RDONLY | O_NOCTTY | O.CLOEXEC, 0), "open", `${root}${path}`);
  } finally {
    close(pathFd);
  }
  try {
    const st = statFd(fd);
    if (st.size > maxBytes) throw new SysError("read", 27 /* EFBIG */, `${root}${path}`);
    const buf = new Uint8Array(st.size);
    let at = 0;
    for (let n; at < buf.length && (n = readFd(fd, buf.subarray(at))) > 0; ) at += n;
    return new TextDecoder().decode(buf.subarray(0, at));
  } finally {
    close(fd);
  }
}
