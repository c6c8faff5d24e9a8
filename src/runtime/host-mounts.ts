/**
 * A container without a mount namespace of its own inherits the runtime's (config-linux.md):
 * the mounts its config lists are made under its root in the host's mount table. These
 * find them again — every mount at or below the root that was not there when `create`
 * began — and take them away when the container is deleted (or its create fails), so the
 * host's mountinfo is as it was. runc 1.1 leaves them mounted.
 */
import { BerthError } from "../errors.ts";
import { parseMountinfo, type MountInfo } from "../cgroups/mountinfo.ts";
import { readText, realPath, unmountDetached } from "../sys/libc.ts";

/** What `create` records before the helper runs: the root as the mount table names it, and the mounts already below it. */
export interface HostMounts {
  root: string;
  /** mount ids at or below `root` before the container's (an overlay the engine mounted as the rootfs, say) */
  keep: number[];
}

const below = (root: string, m: MountInfo) => m.mountPoint === root || m.mountPoint.startsWith(`${root}/`);

/**
 * The mounts at or below `root` that are not in `keep`, the newest first. Pure.
 *
 * @example
 * addedMounts(parseMountinfo(text), { root: "/b/rootfs", keep: [] }).map((m) => m.mountPoint)
 * // → ["/b/rootfs/dev/pts", "/b/rootfs/dev", "/b/rootfs/proc"]
 */
export function addedMounts(mounts: MountInfo[], host: HostMounts): MountInfo[] {
  const keep = new Set(host.keep);
  return mounts.filter((m) => below(host.root, m) && !keep.has(m.mountId)).reverse();
}

function hostMountTable(): MountInfo[] {
  return parseMountinfo(readText("/proc/self/mountinfo"));
}

/** Before the helper runs: the root's real path and the mounts already there. */
export function recordHostMounts(rootfs: string): HostMounts {
  const root = realPath(rootfs);
  return { root, keep: hostMountTable().filter((m) => below(root, m)).map((m) => m.mountId) };
}

/**
 * Unmount (lazily: a process still using one does not keep it in the tree) every mount
 * the container added below its root. A mount that is already gone is fine; one that
 * stays after a few passes (something mounting while we unmount) is an error naming it.
 */
export function releaseHostMounts(host: HostMounts): void {
  for (let pass = 0; pass < 8; pass++) {
    const added = addedMounts(hostMountTable(), host);
    if (added.length === 0) return;
    for (const m of added) {
      try {
        unmountDetached(m.mountPoint);
      } catch {
        // gone with its parent, or stacked under another: the next pass reads the table again
      }
    }
  }
  const left = addedMounts(hostMountTable(), host);
  if (left.length > 0) {
    throw new BerthError(`cannot unmount ${left.map((m) => m.mountPoint).join(", ")} below the container's root; unmount by hand (umount -l PATH), then delete again`, { field: "root.path" });
  }
}
