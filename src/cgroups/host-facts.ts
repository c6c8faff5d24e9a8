/**
 * Facts about the host that resource planning checks requests against: the online CPUs
 * and memory nodes (a cpuset outside them is refused up front, by name) and the hugepage
 * sizes the kernel supports. Read once per process.
 */
import { listDir, readText } from "../sys/libc.ts";
import { hugepageSizeName, parseCpuList } from "./units.ts";

/** Host facts planning needs: online CPUs and memory nodes, hugepage sizes. */
export interface HostFacts {
  cpus: number[];
  mems: number[];
  hugepageSizes: string[];
}

let hostFacts: HostFacts | undefined;

export function readHostFacts(): HostFacts {
  if (hostFacts) return hostFacts;
  const list = (file: string, fallback: string) => {
    try {
      return parseCpuList(readText(file), file);
    } catch {
      return parseCpuList(fallback, file);
    }
  };
  let hugepageSizes: string[] = [];
  try {
    hugepageSizes = listDir("/sys/kernel/mm/hugepages")
      .map((d) => /^hugepages-(\d+)kB$/.exec(d.name)?.[1])
      .filter((x): x is string => x !== undefined)
      .map((kb) => hugepageSizeName(Number(kb)));
  } catch {
    // no hugetlbfs support: every hugepageLimits entry is then refused by name
  }
  hostFacts = {
    cpus: list("/sys/devices/system/cpu/online", "0"),
    mems: list("/sys/devices/system/node/online", "0"),
    hugepageSizes,
  };
  return hostFacts;
}

