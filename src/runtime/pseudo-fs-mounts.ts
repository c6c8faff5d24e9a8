/**
 * procfs and sysfs go on ordinary directories of the image, never through a symlink:
 * with `/proc -> /x` in the image, proc would be mounted on /x and the container's
 * /proc would be whatever the image put there — the AppArmor-bypass class of
 * CVE-2019-16884 and CVE-2019-19921, where a fake /proc/self/attr swallows the LSM
 * label. runc refuses such a destination ("must be mounted on ordinary directory");
 * so does berth, before anything is created.
 */
import { BerthError } from "../errors.ts";
import type { Spec } from "../spec/runtime-spec.ts";
import { statPath } from "../sys/libc.ts";

/** Each component of every proc and sysfs mount destination in `rootfs`: a directory or missing, never a symlink. */
export function checkPseudoFsDestinations(spec: Spec, rootfs: string): void {
  (spec.mounts ?? []).forEach((m, i) => {
    if (m.type !== "proc" && m.type !== "sysfs") return;
    let path = rootfs;
    for (const part of m.destination.split("/").filter((p) => p !== "" && p !== ".")) {
      path = `${path}/${part}`;
      let st;
      try {
        st = statPath(path, { follow: false });
      } catch {
        return; // missing: the helper creates it as a directory
      }
      const field = `mounts[${i}] (${m.destination})`;
      const fix = `${m.type} must be mounted on an ordinary directory — make ${m.destination} a directory in the image`;
      if (st.isSymbolicLink) throw new BerthError(`${path} is a symlink; ${fix}`, { field });
      if (!st.isDirectory) throw new BerthError(`${path} is not a directory; ${fix}`, { field });
    }
  });
}
