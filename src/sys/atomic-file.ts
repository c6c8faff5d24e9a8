/**
 * Replace a file so that a reader sees the old contents or the new, never a part: write
 * a temporary file beside it, then rename(2) it over the old one. A crash half-way leaves
 * the old file and, at worst, a `.NAME.PID.RAND.tmp` beside it.
 *
 * With `fsync` (the default) the data is on disk before the rename and the rename is on
 * disk before this returns, so a power cut cannot leave an empty file under the new name
 * (ext4 and xfs may otherwise commit the rename before the data). The engine's records
 * and content store need that; berth-runtime's state under /run (tmpfs, gone at reboot)
 * does not, as runc does not fsync its state.json either.
 *
 * File calls go through sys/libc.ts, not node:fs: berth-runtime's create writes its state
 * with this.
 */
import { close, fsyncFd, O, openPath, renamePath, unlinkPath, writeAll } from "./libc.ts";

export interface AtomicWriteOptions {
  /** permission bits of the new file, less the umask (default 0o644) */
  mode?: number;
  /** flush the data and the rename to disk (default true) */
  fsync?: boolean;
}

/**
 * Write `data` to `path` atomically (temp file + rename); throws SysError with the path
 * that failed. Concurrent writers of one path each rename a complete file: the last one
 * wins.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const tmp = tempNameBeside(path, "tmp");
  const durable = options.fsync !== false;
  const fd = openPath(tmp, O.WRONLY | O.CREAT | O.EXCL, options.mode ?? 0o644);
  try {
    try {
      writeAll(fd, data, path);
      if (durable) fsyncFd(fd);
    } finally {
      close(fd);
    }
    renamePath(tmp, path);
  } catch (err) {
    try {
      unlinkPath(tmp);
    } catch {} // renamed already, or never written
    throw err;
  }
  if (durable) syncDir(dirOf(path));
}

/**
 * `DIR/.NAME.PID.RAND.SUFFIX`: a hidden name in the same directory (so rename and link
 * stay on one filesystem), unique per writer, so that two processes writing one path
 * never share a temporary file.
 */
export function tempNameBeside(path: string, suffix: string): string {
  const slash = path.lastIndexOf("/");
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.${suffix}`;
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
}

/** fsync a directory: a rename or a new entry in it reaches the disk. */
export function syncDir(dir: string): void {
  const fd = openPath(dir, O.RDONLY | O.DIRECTORY);
  try {
    fsyncFd(fd);
  } finally {
    close(fd);
  }
}
