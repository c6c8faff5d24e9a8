/**
 * How a helper gets into the container's cgroup without the runtime writing a pid into
 * cgroup.procs. That write takes the kernel's global cgroup_threadgroup_rwsem for
 * writing, which waits for an RCU grace period: 10–25 ms per container measured on this
 * project's host, the largest single cost of `create` (docs/performance.md). Instead:
 *
 * - cgroup v1: the helper, still single-threaded and host root, writes "0" (itself) into
 *   each hierarchy's `tasks` file as its first step. Moving one's own thread, when it is
 *   the only one, skips the global lock (0.2 ms for nine hierarchies).
 * - cgroup v2: the helper forks with clone3(CLONE_INTO_CGROUP), which takes the lock only
 *   for reading. Not when the helper is in a user namespace at the fork (its credentials
 *   there may not write the host's cgroup.procs) or joins a cgroup namespace by path
 *   before it (with nsdelegate the fork's source cgroup must be inside that namespace),
 *   nor before Linux 5.7: then the runtime writes the helper's pid, as runc does.
 *
 * Pure: the runtime passes the directories and facts; the plans (compile.ts,
 * exec-plan.ts) place the steps.
 */
import { CGROUP_SLOT, NO_SLOT } from "./ops.ts";
import type { PlanBuilder } from "./process-ops.ts";

const ENOSPC = 28;

export interface CgroupJoin {
  /** v1 hierarchies the helper joins through `tasks` */
  v1Tasks: string[];
  /** the cgroup2 directory FORK clones the child into ("" for a plain fork) */
  cloneInto: string;
  /** directories whose cgroup.procs the runtime writes the helper's pid into */
  runtime: string[];
}

export function cgroupJoin(
  dirs: { v1: string[]; v2?: string },
  o: { cloneIntoCgroup?: boolean; userns: boolean; joinsCgroupNs: boolean },
): CgroupJoin {
  if (!dirs.v2) return { v1Tasks: dirs.v1, cloneInto: "", runtime: [] };
  if (o.cloneIntoCgroup && !o.userns && !o.joinsCgroupNs) return { v1Tasks: dirs.v1, cloneInto: dirs.v2, runtime: [] };
  return { v1Tasks: dirs.v1, cloneInto: "", runtime: [dirs.v2] };
}

/**
 * The plan's first steps, while the helper is host root with one thread and sees the
 * host's paths: the v1 joins, and the cgroup2 directory opened into CGROUP_SLOT for FORK.
 * Returns FORK's cgroup slot argument.
 */
export function addCgroupJoinSteps(b: PlanBuilder, join: CgroupJoin): number {
  for (const dir of join.v1Tasks) {
    const step = b.add("WRITE_FILE", [`${dir}/tasks`, "0"], "linux.cgroupsPath", `join the cgroup ${dir}`);
    step.hint = { errno: ENOSPC, text: "its cpuset.cpus or cpuset.mems is empty; set them (linux.resources.cpu.cpus/mems) or copy the parent's" };
  }
  if (!join.cloneInto) return NO_SLOT;
  b.add("OPEN_PATH", [CGROUP_SLOT, join.cloneInto], "linux.cgroupsPath", `open the cgroup ${join.cloneInto}`);
  return CGROUP_SLOT;
}

const EBUSY = 16;

/** FORK's hint when the clone into the cgroup fails because the directory has children with controllers. */
export function cloneIntoHint(dir: string): { errno: number; text: string } {
  return { errno: EBUSY, text: `${dir} has child cgroups with controllers enabled, so it cannot hold processes (cgroup v2's no-internal-process rule); use a leaf cgroupsPath` };
}
