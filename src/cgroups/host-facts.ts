/**
 * Facts about the host that resource planning checks requests against: the online CPUs
 * and memory nodes (a cpuset outside them is refused up front, by name) and the hugepage
 * sizes the kernel supports — sys/host-facts.ts's, in the cgroup layer's units.
 */
import { hugepageSizesKib, onlineCpus, onlineMems } from "../sys/host-facts.ts";
import { hugepageSizeName, parseCpuList } from "./units.ts";

/** Host facts planning needs: online CPUs and memory nodes, hugepage sizes. */
export interface HostFacts {
  cpus: number[];
  mems: number[];
  hugepageSizes: string[];
}

let hostFacts: HostFacts | undefined;

export function readHostFacts(): HostFacts {
  hostFacts ??= {
    cpus: parseCpuList(onlineCpus(), "/sys/devices/system/cpu/online"),
    mems: parseCpuList(onlineMems(), "/sys/devices/system/node/online"),
    // none without hugetlbfs: every hugepageLimits entry is then refused by name
    hugepageSizes: hugepageSizesKib().map(hugepageSizeName),
  };
  return hostFacts;
}
