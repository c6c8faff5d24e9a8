/**
 * rm -rf through sys/libc.ts: the rare clean-up of a directory someone put more in than
 * its owner made (a state directory with a stray file) — without loading node:fs, whose
 * import costs Bun 3.5–4 ms per process.
 */
import { DT_DIR, listDir, pathExists, rmdirPath, statPath, unlinkPath } from "./libc.ts";
import { runProgram } from "./program.ts";

/** d_type of a filesystem that does not fill it in: ask lstat */
const DT_UNKNOWN = 0;

/**
 * Remove `path` and, if it is a directory, everything below it; symlinks are removed,
 * never followed. A missing path is fine; other failures throw SysError.
 *
 * A name that is not UTF-8 (a container's `touch $'\xff'`) comes back from listDir
 * changed and cannot be unlinked by it: what is left then goes with coreutils' `rm -rf`,
 * which takes names as bytes — never across a mount point, which the first pass never
 * meets where that happens (a container's own files).
 */
export function removeTree(path: string): void {
  try {
    removeNamed(path);
  } catch (err) {
    if ((err as { code?: string }).code !== "ENOTEMPTY") throw err;
    if (runProgram(["rm", "-rf", "--one-file-system", "--", path]).code !== 0 || pathExists(path)) throw err;
  }
}

function removeNamed(path: string): void {
  let isDir: boolean;
  try {
    isDir = statPath(path, { follow: false }).isDirectory;
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return;
    throw err;
  }
  if (isDir) {
    for (const e of listDir(path)) {
      const child = `${path}/${e.name}`;
      if (e.type === DT_DIR || e.type === DT_UNKNOWN) removeNamed(child);
      else ignoreMissing(() => unlinkPath(child));
    }
    ignoreMissing(() => rmdirPath(path));
  } else {
    ignoreMissing(() => unlinkPath(path));
  }
}

/** Something else removed it meanwhile: the goal is reached. */
function ignoreMissing(remove: () => void): void {
  try {
    remove();
  } catch (err) {
    if ((err as { code?: string }).code !== "ENOENT") throw err;
  }
}
