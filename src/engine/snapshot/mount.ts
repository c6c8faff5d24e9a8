/**
 * Mount and unmount a snapshot's Mount list at a target directory (a bundle's rootfs),
 * as containerd's mount.All: bind mounts by MS_BIND (then remounted read-only for "ro"),
 * overlay with its options joined, made from Mount.cwd so relative lowerdirs resolve.
 */
import { BerthError } from "../../errors.ts";
import { mountFs, unmountIfMounted } from "../../sys/mount.ts";
import type { Mount } from "./snapshotter.ts";

const MS_RDONLY = 1;
const MS_REMOUNT = 32;
const MS_BIND = 4096;
const MS_REC = 16384;

/** Mount `mounts` at `target` (an existing directory); throws BerthError naming the target. */
export function mountSnapshot(mounts: Mount[], target: string): void {
  for (const m of mounts) {
    try {
      if (m.type === "bind") {
        const ro = m.options.includes("ro");
        mountFs(m.source, target, "", MS_BIND | (m.options.includes("rbind") ? MS_REC : 0), "");
        if (ro) mountFs("", target, "", MS_BIND | MS_REMOUNT | MS_RDONLY, "");
      } else {
        mountFs(m.source, target, m.type, 0, m.options.join(","), m.cwd);
      }
    } catch (err) {
      throw new BerthError(`mount ${m.type} at ${target}: ${(err as Error).message}${m.type === "overlay" ? "; the kernel needs overlayfs (modprobe overlay) and the store (--root) on a filesystem overlay accepts as upper (ext4, xfs, btrfs, tmpfs)" : ""}`, { cause: err });
    }
  }
}

/** Unmount what mountSnapshot mounted at `target` (lazily when busy, unless `keepBusy`); nothing mounted is fine. */
export function unmountSnapshot(target: string, opts: { keepBusy?: boolean } = {}): void {
  unmountIfMounted(target, opts);
}
