/**
 * An exclusive lock on a path (flock(2) on an fd of the file or directory), held until
 * release() or the process's exit — the kernel drops it when the last fd closes, so a
 * killed holder never leaves a stale lock behind. berth-runtime locks a container's state
 * directory with it so that commands on one id are serialised; the engine locks its
 * records the same way.
 *
 * File calls go through sys/libc.ts, not node:fs: `start` and `delete` take this lock.
 */
import { BerthError } from "../errors.ts";
import { errnoName } from "./errno.ts";
import { close, errno, flock, LOCK_EX, LOCK_NB, mkdirParents, O, openPath } from "./libc.ts";
import { writeFileAtomic } from "./atomic-file.ts";

export interface HeldLock {
  release(): void;
}

export interface LockOptions {
  /**
   * How long to wait for another holder, in milliseconds: 0 fails at once when the lock
   * is held; undefined (the default) waits as long as it takes.
   */
  timeoutMs?: number;
  /** create the file (mode 0600) when it does not exist; otherwise a missing path is ENOENT */
  create?: boolean;
}

/** The lock is held by another process and `timeoutMs` passed. */
export class LockBusyError extends BerthError {
  constructor(readonly path: string, timeoutMs: number) {
    super(`${path} is locked by another process${timeoutMs > 0 ? ` (waited ${timeoutMs} ms)` : ""}; retry when its command has finished`, { errno: "EWOULDBLOCK" });
  }
}

/** flock itself failed (an NFS or FUSE filesystem without lock support): no lock can be had there. */
export class LockUnsupportedError extends BerthError {
  constructor(readonly path: string, code: string) {
    super(`cannot lock ${path} (flock: ${code}); it must be on a local filesystem that supports flock`, { errno: code });
  }
}

const EWOULDBLOCK = 11;
const EINTR = 4;
const RETRY_MS = 5;

/**
 * Take an exclusive lock on `path` (a file or a directory). A missing path throws
 * SysError ENOENT (callers say what is gone); a held lock waits, or throws LockBusyError
 * after `timeoutMs`; a filesystem without flock throws LockUnsupportedError.
 */
export function lockPath(path: string, options: LockOptions = {}): HeldLock {
  const fd = options.create ? openPath(path, O.RDONLY | O.CREAT, 0o600) : openPath(path, O.RDONLY);
  const timeoutMs = options.timeoutMs;
  const deadline = timeoutMs === undefined ? 0 : Date.now() + timeoutMs;
  for (;;) {
    if (flock(fd, timeoutMs === undefined ? LOCK_EX : LOCK_EX | LOCK_NB) === 0) return { release: () => close(fd) };
    const e = errno();
    if (e === EINTR) continue;
    if (e === EWOULDBLOCK && timeoutMs !== undefined && Date.now() < deadline) {
      Bun.sleepSync(RETRY_MS);
      continue;
    }
    close(fd);
    if (e === EWOULDBLOCK) throw new LockBusyError(path, timeoutMs ?? 0);
    throw new LockUnsupportedError(path, errnoName(e));
  }
}

export interface LockedFile<D> {
  /** the file holding the document */
  path: string;
  /** the lock file that serialises its writers */
  lock: string;
  /** made (0700, with its parents) before locking */
  dir: string;
  /** the document as it is on disk now */
  read: () => D;
  /** the document's bytes on disk */
  serialize: (doc: D) => string;
}

/**
 * Read–change–write of one document under its lock file: `fn` changes the document `read`
 * returned, and it is written back atomically (mode 0600; flushed to disk unless `fsync`
 * is false — or, given as a function, says false of the document as read, before `fn`)
 * only when its bytes changed — a reader never sees a half-written file, two writers
 * never lose each other's change.
 */
export function updateLocked<D, T>(file: LockedFile<D>, fn: (doc: D) => T, options: { fsync?: boolean | ((doc: D) => boolean) } = {}): T {
  mkdirParents(file.dir, 0o700);
  const lock = lockPath(file.lock, { create: true });
  try {
    const doc = file.read();
    const before = file.serialize(doc);
    const fsync = typeof options.fsync === "function" ? options.fsync(doc) : (options.fsync ?? true);
    const out = fn(doc);
    const after = file.serialize(doc);
    if (after !== before) writeFileAtomic(file.path, after, { mode: 0o600, fsync });
    return out;
  } finally {
    lock.release();
  }
}
