/**
 * The OCI runtime-spec `linux.resources` object (config-linux.md, runtime-spec v1.2),
 * as the JSON in config.json spells it. One model only: the cgroup layer consumes
 * these types directly, and the CLI's flags are converted into them.
 */

export interface LinuxDeviceCgroup {
  allow: boolean;
  /** `a` (all), `c` (char) or `b` (block); unset means `a` */
  type?: string;
  /** unset or null means every major (`*`) */
  major?: number | null;
  minor?: number | null;
  /** a combination of `r`, `w`, `m`; unset means `rwm` */
  access?: string;
}

export interface LinuxMemory {
  limit?: number;
  reservation?: number;
  /** memory+swap total, as cgroup v1's memsw; -1 is unlimited */
  swap?: number;
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;
}

export interface LinuxCPU {
  shares?: number;
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
  idle?: number;
}

export interface LinuxPids {
  limit: number;
}

export interface LinuxWeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}

export interface LinuxThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

export interface LinuxBlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: LinuxWeightDevice[];
  throttleReadBpsDevice?: LinuxThrottleDevice[];
  throttleWriteBpsDevice?: LinuxThrottleDevice[];
  throttleReadIOPSDevice?: LinuxThrottleDevice[];
  throttleWriteIOPSDevice?: LinuxThrottleDevice[];
}

export interface LinuxHugepageLimit {
  /** `<size><unit>B`, e.g. `2MB`, `1GB`, `64KB` */
  pageSize: string;
  limit: number;
}

export interface LinuxInterfacePriority {
  name: string;
  priority: number;
}

export interface LinuxNetwork {
  classID?: number;
  priorities?: LinuxInterfacePriority[];
}

export interface LinuxRdma {
  hcaHandles?: number;
  hcaObjects?: number;
}

export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  pids?: LinuxPids;
  blockIO?: LinuxBlockIO;
  hugepageLimits?: LinuxHugepageLimit[];
  network?: LinuxNetwork;
  rdma?: Record<string, LinuxRdma>;
  /** raw cgroup v2 file name → content */
  unified?: Record<string, string>;
}
