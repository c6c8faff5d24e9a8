/**
 * node:path's `resolve` for the runtime's host paths (--bundle, root.path, --pid-file,
 * --console-socket), without node:path: `create`, `run` and `exec` load no Node module,
 * which costs Bun milliseconds and megabytes per process. Pure but for process.cwd().
 */

/** Collapse ".", ".." and repeated slashes of an absolute path. */
function normalizeAbsolute(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return `/${out.join("/")}`;
}

/**
 * The absolute, normalized path `paths` lead to from the working directory; each
 * absolute one starts over, as with node:path's resolve.
 *
 * @example resolvePath("/b/bundle", "rootfs") // → "/b/bundle/rootfs"
 * @example resolvePath("/b/bundle", "../shared/rootfs/") // → "/b/shared/rootfs"
 */
export function resolvePath(...paths: string[]): string {
  let joined = "";
  for (const p of paths) {
    if (p === "") continue;
    joined = p.startsWith("/") || joined === "" ? p : `${joined}/${p}`;
  }
  if (!joined.startsWith("/")) joined = `${process.cwd()}/${joined}`;
  return normalizeAbsolute(joined);
}
