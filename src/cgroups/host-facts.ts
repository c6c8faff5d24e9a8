/**
 * Facts about the host that resource planning checks requests against: the online CPUs
 * and memory nodes (a cpuset outside them is refused up front, by name) and the hugepage
 * sizes the kernel supports — sys/host-facts.ts's, in the cgroup layer's units.
 */
import { hugepageSizesKib, onlineCpus, onlineMems } from "../sys/host-facts.ts";
import type { PlanContext } from "./plan.ts";
import { hugepageSizeName, parseCpuList } from "./units.ts";

/** Host facts planning needs: online CPUs and memory nodes, hugepage sizes. */
export interface HostFacts {
  cpus: number[];
  mems: number[];
  hugepageSizes: string[];
}

let cpus: number[] | undefined;
let mems: number[] | undefined;
let hugepageSizes: string[] | undefined;

/** Each fact is read when first asked for, then kept for the process. */
const hostFacts: HostFacts = {
  get cpus() {
    return (cpus ??= parseCpuList(onlineCpus(), "/sys/devices/system/cpu/online"));
  },
  get mems() {
    return (mems ??= parseCpuList(onlineMems(), "/sys/devices/system/node/online"));
  },
  // none without hugetlbfs: every hugepageLimits entry is then refused by name
  get hugepageSizes() {
    return (hugepageSizes ??= hugepageSizesKib().map(hugepageSizeName));
  },
};

export function readHostFacts(): HostFacts {
  return hostFacts;
}

type HostPlanFacts = Pick<PlanContext, "hostCpus" | "hostMems" | "hugepageSizes">;

/**
 * A resource plan's context with the host's facts, each read only if the plan asks: only
 * a cpuset or a hugepage limit does, so most creates read none of the three (two sysfs
 * files and a directory, 0.15 ms).
 */
export function withHostFacts<T extends Omit<PlanContext, keyof HostPlanFacts>>(ctx: T): T & HostPlanFacts {
  return Object.defineProperties(ctx, {
    hostCpus: { get: () => hostFacts.cpus, enumerable: true },
    hostMems: { get: () => hostFacts.mems, enumerable: true },
    hugepageSizes: { get: () => hostFacts.hugepageSizes, enumerable: true },
  }) as T & HostPlanFacts;
}
