/**
 * The cgroup a `berth cgroup` command is pointed at. PATH is always taken from the
 * hierarchy root (`demo` = `/demo`), never relative to berth's own cgroup as an OCI
 * relative cgroupsPath would be: an operator names the cgroup they see. A full path
 * under a cgroup mount (`/sys/fs/cgroup/memory/demo`) is accepted too.
 */
import { BerthError } from "../../errors.ts";
import { detectHostCgroups } from "../../cgroups/layout.ts";
import { openCgroup } from "../../cgroups/open-cgroup.ts";
import type { CgroupManager } from "../../cgroups/manager.ts";

export function cgroupPathFromArg(arg: string): string {
  const { layout } = detectHostCgroups();
  const mounts = [...layout.v1.map((h) => h.mountPoint), ...(layout.unified ? [layout.unified.mountPoint] : [])]
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    if (arg === m || arg.startsWith(m + "/")) return arg.slice(m.length) || "/";
  }
  return arg.startsWith("/") ? arg : `/${arg}`;
}

export function openTarget(arg: string): CgroupManager {
  return openCgroup(cgroupPathFromArg(arg), { field: "PATH" });
}

/** Guard for commands that change a cgroup: never the root, never berth's own. */
export function openForChange(arg: string, verb: string): CgroupManager {
  const cg = openTarget(arg);
  if (cg.path === "/") throw new BerthError(`refusing to ${verb} the root cgroup; name a cgroup below it, e.g. /demo`, { field: "PATH" });
  return cg;
}

export function requireExisting(cg: CgroupManager, arg: string): void {
  if (!cg.exists()) throw new BerthError(`no cgroup ${cg.path}; create it with \`berth cgroup create ${arg}\``, { field: "PATH" });
}
