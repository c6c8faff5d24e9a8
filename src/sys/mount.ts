/**
 * mount(2) and umount2(2) for the engine's overlay snapshots (raw syscalls through
 * sys/libc.ts, x86_64 numbers). berth-init does a container's own mounts; these are the
 * host-side ones the engine makes before it calls the runtime — the rootfs overlay — and
 * when it unpacks through one.
 */
import { errno, syscall, SysError } from "./libc.ts";

const SYS_MOUNT = 165;
const SYS_UMOUNT2 = 166;
export const MNT_DETACH = 2;

const encoder = new TextEncoder();
const cString = (s: string) => encoder.encode(`${s}\0`);

/**
 * mount(source, target, fstype, flags, data). With `cwd`, the call is made from that
 * directory, so relative paths in `data` (overlay's lowerdir) resolve there — how a deep
 * image's options stay under the kernel's one-page limit. Throws SysError.
 */
export function mountFs(source: string, target: string, fstype: string, flags: number, data: string, cwd?: string): void {
  const back = cwd === undefined ? undefined : process.cwd();
  if (cwd !== undefined) process.chdir(cwd);
  try {
    if (syscall(SYS_MOUNT, cString(source), cString(target), cString(fstype), flags, cString(data)) !== 0) throw new SysError("mount", errno(), target);
  } finally {
    if (back !== undefined) process.chdir(back);
  }
}

/** umount2(target, flags); throws SysError (EINVAL: nothing is mounted there). */
export function unmount(target: string, flags = 0): void {
  if (syscall(SYS_UMOUNT2, cString(target), flags) !== 0) throw new SysError("umount2", errno(), target);
}

/**
 * Unmount what is mounted on `target`; nothing mounted there (EINVAL, ENOENT) is fine.
 * Busy: detached lazily (MNT_DETACH), or with `keepBusy` left mounted.
 */
export function unmountIfMounted(target: string, opts: { keepBusy?: boolean } = {}): void {
  try {
    unmount(target);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "EINVAL" || code === "ENOENT" || (code === "EBUSY" && opts.keepBusy)) return;
    if (code !== "EBUSY") throw err;
    unmount(target, MNT_DETACH);
  }
}
