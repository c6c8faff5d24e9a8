/**
 * Claim a name so that of any number of processes claiming it at once, exactly one wins:
 * the kernel's create-exclusive calls decide — mkdir(2) for a directory, link(2) for a
 * record (EEXIST for everyone but the first). berth-runtime claims a container id with
 * the container's state directory; the engine claims ids and names with its records.
 *
 * File calls go through sys/libc.ts, not node:fs: berth-runtime's create claims with this.
 */
import { syncDir, tempNameBeside } from "./atomic-file.ts";
import { close, fsyncFd, linkPath, mkdirParents, mkdirPath, O, openPath, pathExists, unlinkPath, writeAll } from "./libc.ts";

export interface ClaimOptions {
  /** permission bits of what is created, less the umask */
  mode?: number;
  /** make the missing parent directories with this mode first (mkdir -p) */
  parentMode?: number;
}

export interface FileClaimOptions extends ClaimOptions {
  /** flush the claim to disk (default true); without it a crash may lose the claim or leave its file empty */
  fsync?: boolean;
}

/** Make directory `path` (default mode 0o700): true when this call made it, false when it existed; other failures throw SysError. */
export function claimDir(path: string, options: ClaimOptions = {}): boolean {
  if (options.parentMode !== undefined) makeParents(path, options.parentMode);
  try {
    mkdirPath(path, options.mode ?? 0o700);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === "EEXIST") return false;
    throw err;
  }
}

/**
 * Create file `path` holding `data` (default mode 0o600) only if nothing is there: true
 * when this call created it, false when it existed; other failures throw SysError. A
 * reader never sees it half-written: the data is written (and flushed) under a temporary
 * name first, then linked into place, which fails when the name is taken.
 *
 * A claim that wins costs two fsyncs, and both are needed for it to survive a crash once
 * the caller reports success: the file's, before the link, so the name never reaches the
 * disk ahead of its data (ext4's delayed allocation and xfs would otherwise leave an
 * empty file under it: a name held by no one, that no one can take again); the
 * directory's, after, so the new name itself is on disk. A claim that is going to lose
 * pays neither: a name already there is refused before anything is written. A claim that
 * need not outlive a crash skips both (`fsync: false`): its reader must then take an
 * empty file for no claim.
 */
export function claimFile(path: string, data: string | Uint8Array, options: FileClaimOptions = {}): boolean {
  const durable = options.fsync !== false;
  if (options.parentMode !== undefined) makeParents(path, options.parentMode);
  // taken now is as good an answer as link's EEXIST a moment later, and skips the write and the fsync
  if (pathExists(path)) return false;
  // the temporary name is this writer's alone: written and flushed there, it needs no rename of its own
  const tmp = tempNameBeside(path, "claim");
  const fd = openPath(tmp, O.WRONLY | O.CREAT | O.EXCL, options.mode ?? 0o600);
  try {
    try {
      writeAll(fd, data, path);
      if (durable) fsyncFd(fd);
    } finally {
      close(fd);
    }
    linkPath(tmp, path);
  } catch (err) {
    if ((err as { code?: string }).code === "EEXIST") return false;
    throw err;
  } finally {
    unlinkPath(tmp);
  }
  // the new name on disk before the claim counts (the unlink of the temporary name goes with it)
  const slash = path.lastIndexOf("/");
  if (durable) syncDir(slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash));
  return true;
}

function makeParents(path: string, mode: number): void {
  const slash = path.lastIndexOf("/");
  if (slash > 0) mkdirParents(path.slice(0, slash), mode);
}
