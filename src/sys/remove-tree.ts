/**
 * rm -rf through sys/libc.ts: the rare clean-up of a directory someone put more in than
 * its owner made (a state directory with a stray file) — without loading node:fs, whose
 * import costs Bun 3.5–4 ms per process.
 */
import { DT_DIR, listDir, rmdirPath, statPath, unlinkPath } from "./libc.ts";

/** d_type of a filesystem that does not fill it in: ask lstat */
const DT_UNKNOWN = 0;

/** Remove `path` and, if it is a directory, everything below it; symlinks are removed, never followed. A missing path is fine; other failures throw SysError. */
export function removeTree(path: string): void {
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
      if (e.type === DT_DIR || e.type === DT_UNKNOWN) removeTree(child);
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
