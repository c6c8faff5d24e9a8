/**
 * What the running kernel says about this host, read in one place and once per process:
 * the runtime plans with these facts (capabilities, LSMs, clone3 into a cgroup, /dev/core),
 * the cgroup layer checks cpusets and hugepage sizes against them, and `berth doctor`
 * reports them. Raw facts only: what they mean for a container is the callers' policy.
 *
 * Through sys/libc.ts, not node:os or node:fs: `create` reads several of these.
 */
import { listDir, pathExists, readTextIfExists } from "./libc.ts";

const cache = new Map<string, unknown>();

function once<T>(key: string, read: () => T): T {
  if (cache.has(key)) return cache.get(key) as T;
  const value = read();
  cache.set(key, value);
  return value;
}

/** `uname -r` (/proc/sys/kernel/osrelease), "0.0" when /proc does not say: no feature check passes on it. */
export function kernelRelease(): string {
  return once("release", () => (readTextIfExists("/proc/sys/kernel/osrelease") ?? "0.0").trim());
}

/** `uname -v` (/proc/sys/kernel/version): the build, which changes with a rebuilt kernel of one release. */
export function kernelBuild(): string {
  return once("build", () => (readTextIfExists("/proc/sys/kernel/version") ?? "").trim());
}

/** The highest capability number the kernel knows (/proc/sys/kernel/cap_last_cap); 40 (CAP_CHECKPOINT_RESTORE, Linux 5.9) where the file is missing. */
export function lastCap(): number {
  return once("lastCap", () => {
    const text = readTextIfExists("/proc/sys/kernel/cap_last_cap");
    return text === undefined ? 40 : Number(text);
  });
}

/**
 * This process's capability bounding set (CapBnd of /proc/self/status): what a container
 * it starts can be given at most — a root without CAP_SYS_RESOURCE cannot grant it.
 */
export function boundingCapabilities(): bigint {
  return once("capBnd", () => {
    const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readTextIfExists("/proc/self/status") ?? "");
    return m ? BigInt(`0x${m[1]}`) : (1n << 64n) - 1n;
  });
}

/** Which LSMs confine processes here (runc's apparmor.IsEnabled and selinux.GetEnabled read the same files). */
export function activeLsms(): { apparmor: boolean; selinux: boolean } {
  return once("lsms", () => ({
    apparmor: (readTextIfExists("/sys/module/apparmor/parameters/enabled") ?? "N").startsWith("Y"),
    selinux: pathExists("/sys/fs/selinux/enforce"),
  }));
}

/** /proc/kcore exists (runc links a container's /dev/core to it) */
export function hasKcore(): boolean {
  return once("kcore", () => pathExists("/proc/kcore"));
}

/** The online CPUs as the kernel lists them ("0-3,6"); "0" where sysfs does not say. */
export function onlineCpus(): string {
  return once("cpus", () => (readTextIfExists("/sys/devices/system/cpu/online") ?? "0").trim());
}

/** The online memory nodes as the kernel lists them ("0"); "0" on a kernel without NUMA support. */
export function onlineMems(): string {
  return once("mems", () => (readTextIfExists("/sys/devices/system/node/online") ?? "0").trim());
}

/** The hugepage sizes the kernel supports, in KiB (/sys/kernel/mm/hugepages/hugepages-<N>kB); none without hugetlbfs. */
export function hugepageSizesKib(): number[] {
  return once("hugepages", () => {
    const sizes: number[] = [];
    let entries;
    try {
      entries = listDir("/sys/kernel/mm/hugepages");
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return sizes;
      throw err;
    }
    for (const e of entries) {
      const m = /^hugepages-(\d+)kB$/.exec(e.name);
      if (m) sizes.push(Number(m[1]));
    }
    return sizes;
  });
}

/** MemTotal of /proc/meminfo in bytes (docker info's Total Memory; what "no limit" is out of in stats); 0 when /proc does not say. */
export function memTotalBytes(): number {
  return once("memTotal", () => {
    const m = /^MemTotal:\s+(\d+) kB$/m.exec(readTextIfExists("/proc/meminfo") ?? "");
    return m ? Number(m[1]) * 1024 : 0;
  });
}

/** The host's name (/proc/sys/kernel/hostname, uname -n). */
export function hostName(): string {
  return once("hostname", () => (readTextIfExists("/proc/sys/kernel/hostname") ?? "").trim());
}

/**
 * The distribution's name as /etc/os-release gives it (PRETTY_NAME, else NAME), as docker
 * info's Operating System; "Linux" without one.
 */
export function osPrettyName(): string {
  return once("os", () => {
    const text = readTextIfExists("/etc/os-release") ?? readTextIfExists("/usr/lib/os-release") ?? "";
    const field = (key: string) => new RegExp(`^${key}=("?)(.*)\\1$`, "m").exec(text)?.[2];
    return field("PRETTY_NAME") ?? field("NAME") ?? "Linux";
  });
}
