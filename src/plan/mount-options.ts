/**
 * OCI mount options → mount(2) flags, propagation, mount_setattr attributes and the
 * filesystem's data string. Pure. The table is runc's (libcontainer/specconv), so a
 * config written for runc means the same here.
 */
import { MOUNT_ATTR, MS } from "./ops.ts";

export interface ParsedMountOptions {
  /** flags for mount(2) (MS_RDONLY, MS_NOSUID, MS_BIND, MS_REC …) */
  flags: number;
  /** flags to clear (an explicit `rw`, `suid` … after a default) */
  clear: number;
  /** propagation flags, each applied by its own mount(2) call after the mount */
  propagation: number[];
  /** recursive attributes for mount_setattr(AT_RECURSIVE) (`rro`, `rnosuid` …) */
  attrSet: number;
  attrClr: number;
  /** `idmap`/`ridmap`: how mounts[].uidMappings apply (ridmap: to submounts as well) */
  idmap?: "idmap" | "ridmap";
  /** what the filesystem gets as its data argument (`size=64m,mode=755`) */
  data: string;
  bind: boolean;
}

const FLAGS: Record<string, [set: boolean, flag: number]> = {
  defaults: [true, 0],
  ro: [true, MS.RDONLY], rw: [false, MS.RDONLY],
  nosuid: [true, MS.NOSUID], suid: [false, MS.NOSUID],
  nodev: [true, MS.NODEV], dev: [false, MS.NODEV],
  noexec: [true, MS.NOEXEC], exec: [false, MS.NOEXEC],
  sync: [true, MS.SYNCHRONOUS], async: [false, MS.SYNCHRONOUS],
  dirsync: [true, MS.DIRSYNC],
  remount: [true, MS.REMOUNT],
  mand: [true, MS.MANDLOCK], nomand: [false, MS.MANDLOCK],
  noatime: [true, MS.NOATIME], atime: [false, MS.NOATIME],
  nodiratime: [true, MS.NODIRATIME], diratime: [false, MS.NODIRATIME],
  relatime: [true, MS.RELATIME], norelatime: [false, MS.RELATIME],
  strictatime: [true, MS.STRICTATIME], nostrictatime: [false, MS.STRICTATIME],
  lazytime: [true, MS.LAZYTIME], nolazytime: [false, MS.LAZYTIME],
  // config.md's MUST list; runc's table has them too
  iversion: [true, MS.I_VERSION], noiversion: [false, MS.I_VERSION],
  nosymfollow: [true, MS.NOSYMFOLLOW], symfollow: [false, MS.NOSYMFOLLOW],
  silent: [true, MS.SILENT], loud: [false, MS.SILENT],
  bind: [true, MS.BIND], rbind: [true, MS.BIND | MS.REC],
};

export const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};

/** Recursive (mount_setattr) options: [set?, attribute]. The atime ones also clear the atime mask. */
const RECURSIVE: Record<string, [set: boolean, attr: number]> = {
  rro: [true, MOUNT_ATTR.RDONLY], rrw: [false, MOUNT_ATTR.RDONLY],
  rnosuid: [true, MOUNT_ATTR.NOSUID], rsuid: [false, MOUNT_ATTR.NOSUID],
  rnodev: [true, MOUNT_ATTR.NODEV], rdev: [false, MOUNT_ATTR.NODEV],
  rnoexec: [true, MOUNT_ATTR.NOEXEC], rexec: [false, MOUNT_ATTR.NOEXEC],
  rnodiratime: [true, MOUNT_ATTR.NODIRATIME], rdiratime: [false, MOUNT_ATTR.NODIRATIME],
  rnosymfollow: [true, MOUNT_ATTR.NOSYMFOLLOW], rsymfollow: [false, MOUNT_ATTR.NOSYMFOLLOW],
  rrelatime: [true, MOUNT_ATTR.RELATIME], rnorelatime: [false, MOUNT_ATTR.RELATIME],
  rnoatime: [true, MOUNT_ATTR.NOATIME], ratime: [false, MOUNT_ATTR.NOATIME],
  rstrictatime: [true, MOUNT_ATTR.STRICTATIME], rnostrictatime: [false, MOUNT_ATTR.STRICTATIME],
};

const ATIME = new Set(["rrelatime", "rnoatime", "rstrictatime"]);

/** Is `opt` a flag, propagation, recursive attribute or idmap option (not filesystem data)? */
export function isMountFlagOption(opt: string): boolean {
  return [FLAGS, PROPAGATION, RECURSIVE].some((t) => Object.hasOwn(t, opt)) || opt === "idmap" || opt === "ridmap";
}

/** Parse a mount's options; anything not a known flag goes to the filesystem as data, as runc does. */
export function parseMountOptions(options: string[] = []): ParsedMountOptions {
  const out: ParsedMountOptions = { flags: 0, clear: 0, propagation: [], attrSet: 0, attrClr: 0, data: "", bind: false };
  const data: string[] = [];
  for (const opt of options) {
    // runc 1.2's options for a bind mount with uidMappings/gidMappings: ridmap maps the submounts too
    if (opt === "idmap" || opt === "ridmap") {
      out.idmap = opt;
      continue;
    }
    // own keys only: "constructor" or "__proto__" in a config are data, not Object's members
    const f = Object.hasOwn(FLAGS, opt) ? FLAGS[opt] : undefined;
    if (f) {
      if (f[0]) {
        out.flags |= f[1];
        out.clear &= ~f[1];
      } else {
        out.flags &= ~f[1];
        out.clear |= f[1];
      }
      if (f[1] & MS.BIND) out.bind = true;
      continue;
    }
    const p = Object.hasOwn(PROPAGATION, opt) ? PROPAGATION[opt] : undefined;
    if (p !== undefined) {
      out.propagation.push(p);
      continue;
    }
    const r = Object.hasOwn(RECURSIVE, opt) ? RECURSIVE[opt] : undefined;
    if (r) {
      if (ATIME.has(opt)) out.attrClr |= MOUNT_ATTR.ATIME_MASK;
      if (r[0]) {
        // one access-time mode at a time: a later rnoatime/rstrictatime/rrelatime replaces an earlier one
        if (ATIME.has(opt)) out.attrSet &= ~MOUNT_ATTR.ATIME_MASK;
        out.attrSet |= r[1];
        out.attrClr &= ~r[1] | (ATIME.has(opt) ? MOUNT_ATTR.ATIME_MASK : 0);
      } else {
        out.attrClr |= r[1];
        out.attrSet &= ~r[1];
      }
      continue;
    }
    data.push(opt);
  }
  out.data = data.join(",");
  return out;
}
