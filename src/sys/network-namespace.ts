/**
 * Persistent network namespaces: a new namespace bind-mounted on a file (as `ip netns add`
 * does under /run/netns), so it outlives the processes in it and the CNI plugins and the
 * OCI runtime can be given it by path. Made by util-linux's `unshare --net=FILE`: a
 * one-shot process, because unshare(2) in this multi-threaded process would move only
 * the calling thread.
 */
import { BerthError } from "../errors.ts";
import { listDir, mkdirParents, pathExists, statPath, unlinkPath, writeText } from "./libc.ts";
import { MNT_DETACH, unmount } from "./mount.ts";

/** Make a new network namespace held by a bind mount on `path` (its parent made as needed). */
export function createNetworkNamespace(path: string): void {
  mkdirParents(path.slice(0, path.lastIndexOf("/")), 0o755);
  writeText(path, "", 0o444);
  const p = Bun.spawnSync(["unshare", `--net=${path}`, "true"], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  if (p.exitCode !== 0) {
    try {
      unlinkPath(path);
    } catch {}
    throw new BerthError(`cannot make a network namespace at ${path}: ${p.stderr.toString().trim() || `unshare exited ${p.exitCode}`}`);
  }
}

/** Unmount and remove a namespace made by createNetworkNamespace; a missing one is fine. */
export function removeNetworkNamespace(path: string): void {
  try {
    unmount(path, MNT_DETACH);
  } catch {}
  try {
    unlinkPath(path);
  } catch {}
}

/** The inode of a network namespace file (a bind mount or /proc/PID/ns/net), undefined when gone. */
export function networkNamespaceInode(path: string): number | undefined {
  if (!pathExists(path)) return undefined;
  try {
    return Number(statPath(path, { follow: true }).ino);
  } catch {
    return undefined;
  }
}

/** The interfaces enslaved to bridge `name` (its /sys/class/net/NAME/brif), undefined when it does not exist. */
export function bridgePorts(name: string): string[] | undefined {
  if (!pathExists(`/sys/class/net/${name}/brif`)) return undefined;
  return listDir(`/sys/class/net/${name}/brif`).map((e) => e.name);
}

/** Whether network interface `name` exists on the host. */
export function linkExists(name: string): boolean {
  return pathExists(`/sys/class/net/${name}`);
}

/** Delete host interface `name` (`ip link del`); a missing one is fine. */
export function deleteLink(name: string): void {
  if (!linkExists(name)) return;
  const p = Bun.spawnSync(["ip", "link", "del", name], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  if (p.exitCode !== 0 && linkExists(name)) throw new BerthError(`cannot delete interface ${name}: ${p.stderr.toString().trim()}`);
}

