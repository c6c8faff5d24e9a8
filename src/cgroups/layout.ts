/**
 * Which cgroup layout this host has — pure v2, v1, or hybrid (v1 controllers plus a
 * cgroup2 mount, usually /sys/fs/cgroup/unified) — and where every controller lives.
 *
 * Detected from mountinfo, never guessed from paths: a v1 hierarchy is a `cgroup` mount
 * whose superblock options name its controllers; the v2 hierarchy is the `cgroup2` mount,
 * whose root `cgroup.controllers` lists the controllers not bound to a v1 hierarchy.
 */
import { readText } from "../sys/libc.ts";
import { BerthError } from "../errors.ts";
import { parseMountinfo, parseProcCgroup, type MountInfo, type ProcCgroupEntry } from "./mountinfo.ts";

/** Every controller a v1 hierarchy can carry (kernel/cgroup/cgroup.c, cgroup_subsys.h). */
export const V1_CONTROLLERS = [
  "cpuset", "cpu", "cpuacct", "blkio", "memory", "devices", "freezer",
  "net_cls", "perf_event", "net_prio", "hugetlb", "pids", "rdma", "misc",
] as const;

export interface V1Hierarchy {
  /** controllers co-mounted on this hierarchy, e.g. ["cpu", "cpuacct"] */
  controllers: string[];
  mountPoint: string;
  /** the cgroup path the mount shows as its root (not "/" inside a cgroup namespace) */
  root: string;
}

export interface UnifiedHierarchy {
  mountPoint: string;
  root: string;
  /** controllers the hierarchy's root offers (its `cgroup.controllers`) */
  controllers: string[];
}

export interface CgroupLayout {
  mode: "v1" | "v2" | "hybrid";
  v1: V1Hierarchy[];
  unified?: UnifiedHierarchy;
}

/**
 * Build the layout from parsed mountinfo. `unifiedControllers` is the content of the
 * cgroup2 mount's `cgroup.controllers` (the caller reads it; this stays pure).
 */
export function layoutFromMounts(mounts: MountInfo[], unifiedControllers = ""): CgroupLayout {
  const known = new Set<string>(V1_CONTROLLERS);
  const v1: V1Hierarchy[] = [];
  const seen = new Set<string>();
  let unified: UnifiedHierarchy | undefined;
  // mountinfo still lists a mount that something was mounted over later (e.g. a tmpfs
  // over /sys/fs/cgroup/unified in a private mount namespace): it is not reachable
  // by path, so it is not part of the layout. runc and crun check the path's fs type.
  for (const m of visibleMounts(mounts)) {
    if (m.fsType === "cgroup2" && !unified) {
      unified = {
        mountPoint: m.mountPoint,
        root: m.root,
        controllers: unifiedControllers.split(/\s+/).filter(Boolean),
      };
    } else if (m.fsType === "cgroup") {
      const controllers = m.superOptions.filter((o) => known.has(o));
      // A hierarchy can be mounted twice (bind mounts); the first mount is the one to use.
      if (controllers.length === 0 || controllers.some((c) => seen.has(c))) continue;
      controllers.forEach((c) => seen.add(c));
      v1.push({ controllers, mountPoint: m.mountPoint, root: m.root });
    }
  }
  if (v1.length === 0 && !unified) {
    throw new BerthError(
      "no cgroup filesystem is mounted; mount one with `mount -t cgroup2 none /sys/fs/cgroup`",
    );
  }
  const mode = v1.length === 0 ? "v2" : unified ? "hybrid" : "v1";
  return { mode, v1, unified };
}

/**
 * The mounts reachable by path: those no later mount sits on or above (a later mount on
 * "/" hides only an earlier "/"). From the last mount back, each looked up with its
 * ancestors in the set of later mount points: mountinfo has dozens to thousands of
 * lines, and comparing every pair cost ~1 ms of every berth call on a 60-mount host.
 */
export function visibleMounts(mounts: MountInfo[]): MountInfo[] {
  const later = new Set<string>();
  const hidden = (path: string): boolean => {
    if (later.has(path)) return true;
    for (let end = path.lastIndexOf("/"); end > 0; end = path.lastIndexOf("/", end - 1)) {
      if (later.has(path.slice(0, end))) return true;
    }
    return false;
  };
  const out: MountInfo[] = [];
  for (let i = mounts.length - 1; i >= 0; i--) {
    const m = mounts[i]!;
    if (!hidden(m.mountPoint)) out.push(m);
    later.add(m.mountPoint);
  }
  return out.reverse();
}

/** Where a controller lives: its v1 hierarchy, the unified hierarchy, or nowhere. */
export function placeOf(layout: CgroupLayout, controller: string): V1Hierarchy | "unified" | undefined {
  const h = layout.v1.find((x) => x.controllers.includes(controller));
  if (h) return h;
  if (layout.unified?.controllers.includes(controller)) return "unified";
  return undefined;
}

export interface HostCgroups {
  layout: CgroupLayout;
  /** this process's own cgroups, from /proc/self/cgroup (relative cgroupsPaths hang off them) */
  own: ProcCgroupEntry[];
}

let cached: HostCgroups | undefined;

/** Read the layout of the running host (once per process: mounts do not move under us). */
export function detectHostCgroups(): HostCgroups {
  if (cached) return cached;
  const mounts = parseMountinfo(readText("/proc/self/mountinfo"));
  const cg2 = visibleMounts(mounts).find((m) => m.fsType === "cgroup2");
  let controllers = "";
  if (cg2) {
    try {
      controllers = readText(`${cg2.mountPoint}/cgroup.controllers`);
    } catch {
      // an unreadable cgroup.controllers means "no controllers", not "no hierarchy"
    }
  }
  cached = {
    layout: layoutFromMounts(mounts, controllers),
    own: parseProcCgroup(readText("/proc/self/cgroup")),
  };
  return cached;
}
