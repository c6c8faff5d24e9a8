/**
 * The cgroups one process is in, as one manager. `openCgroup` takes a single path for
 * every hierarchy, which is what a container runtime creates; a process the operator
 * points at can sit at different paths in each v1 hierarchy (this host's own shell is
 * in memory:/a but cpu:/), so its stats must be read from each hierarchy's own path.
 */
import { detectHostCgroups, type CgroupLayout, type HostCgroups } from "./layout.ts";
import type { CgroupManager } from "./manager.ts";
import type { ProcCgroupEntry } from "./mountinfo.ts";
import { cgroupDir } from "./path.ts";
import { V1Manager, type V1Dir } from "./v1.ts";
import { V2Manager } from "./v2.ts";

export interface ProcessCgroupDir {
  /** the hierarchy: its controllers joined by "," (v1), or "unified" */
  hierarchy: string;
  /** the process's cgroup path in that hierarchy */
  path: string;
  dir: string;
}

/** The entry of /proc/PID/cgroup for a v1 hierarchy (by its controllers) or, with none, the v2 one. */
function entryFor(entries: ProcCgroupEntry[], controllers?: string[]): ProcCgroupEntry | undefined {
  if (!controllers) return entries.find((e) => e.hierarchyId === 0 && e.controllers.length === 0);
  return entries.find((e) => e.controllers.some((c) => controllers.includes(c)));
}

/**
 * Every cgroup directory of a process on this layout, from its /proc/PID/cgroup. Pure.
 *
 * @example processCgroupDirs(parseProcCgroup("4:memory:/a\n0::/\n"), layout)
 * // → [{ hierarchy: "memory", path: "/a", dir: "/sys/fs/cgroup/memory/a" }, { hierarchy: "unified", path: "/", … }]
 */
export function processCgroupDirs(entries: ProcCgroupEntry[], layout: CgroupLayout): ProcessCgroupDir[] {
  const out: ProcessCgroupDir[] = [];
  for (const h of layout.v1) {
    const e = entryFor(entries, h.controllers);
    if (e) out.push({ hierarchy: h.controllers.join(","), path: e.path, dir: cgroupDir(h.mountPoint, h.root, e.path) });
  }
  const u = layout.unified;
  const e = u ? entryFor(entries) : undefined;
  if (u && e) out.push({ hierarchy: "unified", path: e.path, dir: cgroupDir(u.mountPoint, u.root, e.path) });
  return out;
}

/**
 * A manager over the cgroups of a process (stats, pids), each hierarchy at the process's
 * own path there.
 *
 * @example openProcessCgroups(parseProcCgroup(readFileSync("/proc/42/cgroup", "utf8"))).stats()
 */
export function openProcessCgroups(entries: ProcCgroupEntry[], host: HostCgroups = detectHostCgroups()): CgroupManager {
  const { layout } = host;
  const dirs = processCgroupDirs(entries, layout);
  const unifiedDir = dirs.find((d) => d.hierarchy === "unified");
  const unified = unifiedDir ? new V2Manager(unifiedDir.dir, unifiedDir.path, layout) : undefined;
  if (layout.mode === "v2") return unified ?? new V2Manager(layout.unified!.mountPoint, "/", layout);
  const v1: V1Dir[] = layout.v1.flatMap((hierarchy) => {
    const d = dirs.find((x) => x.hierarchy === hierarchy.controllers.join(","));
    return d ? [{ hierarchy, path: d.path, dir: d.dir }] : [];
  });
  return new V1Manager(v1, layout, unified);
}
