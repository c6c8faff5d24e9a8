/**
 * The bytes a directory tree holds (du's apparent size: the sum of regular files' sizes,
 * symlinks not followed), for `berth system df`. A missing path is 0.
 */
import { DT_DIR, listDir, statPath } from "./libc.ts";

const DT_REG = 8;
const DT_UNKNOWN = 0;

export function treeSize(path: string): number {
  let entries;
  try {
    entries = listDir(path);
  } catch {
    try {
      return statPath(path, { follow: false }).size;
    } catch {
      return 0;
    }
  }
  let total = 0;
  for (const e of entries) {
    const child = `${path}/${e.name}`;
    if (e.type === DT_DIR) total += treeSize(child);
    else if (e.type === DT_REG || e.type === DT_UNKNOWN) {
      try {
        const st = statPath(child, { follow: false });
        total += st.isDirectory ? treeSize(child) : st.isFile ? st.size : 0;
      } catch {}
    }
  }
  return total;
}
