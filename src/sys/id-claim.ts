/**
 * Claim a name so that of any number of processes claiming it at once, exactly one wins:
 * the kernel's create-exclusive calls decide — mkdir(2) for a directory, link(2) for a
 * record (EEXIST for everyone but the first). berth-runtime claims a container id with
 * the container's state directory; the engine claims ids and names with its records.
 *
 * File calls go through sys/libc.ts, not node:fs: berth-runtime's create claims with this.
 */
import { tempNameBeside, writeFileAtomic } from "./atomic-file.ts";
import { linkPath, mkdirParents, mkdirPath, unlinkPath } from "./libc.ts";

export interface ClaimOptions {
  /** permission bits of what is created, less the umask */
  mode?: number;
  /** make the missing parent directories with this mode first (mkdir -p) */
  parentMode?: number;
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
 */
export function claimFile(path: string, data: string | Uint8Array, options: ClaimOptions = {}): boolean {
  if (options.parentMode !== undefined) makeParents(path, options.parentMode);
  const tmp = tempNameBeside(path, "claim");
  writeFileAtomic(tmp, data, { mode: options.mode ?? 0o600 });
  try {
    linkPath(tmp, path);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === "EEXIST") return false;
    throw err;
  } finally {
    unlinkPath(tmp);
  }
}

function makeParents(path: string, mode: number): void {
  const slash = path.lastIndexOf("/");
  if (slash > 0) mkdirParents(path.slice(0, slash), mode);
}
