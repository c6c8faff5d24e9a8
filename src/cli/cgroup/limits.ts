/**
 * `berth cgroup` limit flags → OCI `linux.resources`, so the command line and
 * config.json share one validated path into the cgroup layer. Pure: device paths are
 * resolved to major:minor by a function the caller passes in.
 *
 * Each produced spec field remembers the flag it came from, so an error raised deep in
 * planning (`linux.resources.memory.swap: …`) reaches the user as `--memory-swap: …`.
 */
import { BerthError } from "../../errors.ts";
import type { LinuxDeviceCgroup, LinuxResources, LinuxThrottleDevice } from "../../spec/linux-resources.ts";
import { cpusToQuota, DEFAULT_CPU_PERIOD } from "../../cgroups/convert.ts";
import { parseCount, parseCpuCount, parseCpuList, parseSize } from "../../cgroups/units.ts";

export interface LimitFlags {
  cpus?: string;
  cpuShares?: string;
  cpuQuota?: string;
  cpuPeriod?: string;
  cpuBurst?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  cpuIdle?: boolean;
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
  memorySwappiness?: string;
  oomKillDisable?: boolean;
  pids?: string;
  ioWeight?: string;
  ioMax?: string[];
  hugetlb?: string[];
  device?: string[];
  set?: string[];
}

/** The flags that set limits, with their help text; shared by create, set and run. */
export const LIMIT_OPTIONS: [flags: string, help: string, repeatable?: true][] = [
  ["--cpus <n>", "CPU limit in CPUs, e.g. 0.5 (cpu.max / cpu.cfs_quota_us with a 100 ms period)"],
  ["--cpu-shares <n>", "relative CPU weight as cpu.shares, 2…262144 (v2: converted to cpu.weight)"],
  ["--cpu-quota <us>", "CFS quota in microseconds per period (needs --cpu-period)"],
  ["--cpu-period <us>", "CFS period in microseconds, 1000…1000000"],
  ["--cpu-burst <us>", "CFS burst in microseconds (Linux 5.14+)"],
  ["--cpuset-cpus <list>", "CPUs to run on, e.g. 0-1,3"],
  ["--cpuset-mems <list>", "memory nodes to allocate from, e.g. 0"],
  ["--cpu-idle", "SCHED_IDLE: run only when nothing else wants the CPU"],
  ["--memory <size>", "memory limit, e.g. 64m, 2g, max"],
  ["--memory-swap <size>", "memory+swap total as docker means it (-1 or max: unlimited swap)"],
  ["--memory-reservation <size>", "soft limit (v1 soft_limit_in_bytes, v2 memory.low)"],
  ["--memory-swappiness <n>", "0…100 (cgroup v1 only)"],
  ["--oom-kill-disable", "pause tasks at the limit instead of killing them (cgroup v1 only)"],
  ["--pids <n>", "maximum number of tasks (pids.max), or max"],
  ["--io-weight <n>", "I/O weight 10…1000 (needs the BFQ scheduler)"],
  ["--io-max <spec>", 'I/O limit "DEV rbps=N wbps=N riops=N wiops=N"; DEV is MAJ:MIN or a /dev path; sizes like 1m allowed', true],
  ["--hugetlb <size=limit>", "hugepage limit, e.g. 2MB=64m", true],
  ["--device <rule>", 'device access rule "allow|deny TYPE MAJ:MIN ACCESS", e.g. "deny a", "allow c 1:3 rw"', true],
  ["--set <file=value>", "raw cgroup v2 file write, e.g. memory.high=48m (cgroup v2 only)", true],
];

export interface ConvertedLimits {
  resources: LinuxResources;
  /** spec field prefix → the flag that set it */
  flagOf: Map<string, string>;
}

const R = "linux.resources";

/** Parse `MAJ:MIN` or a device path (through `deviceNumbers`) into numbers. */
function device(dev: string, flag: string, deviceNumbers: (path: string) => [number, number]): [number, number] {
  const m = /^(\d+):(\d+)$/.exec(dev);
  if (m) return [Number(m[1]), Number(m[2])];
  if (dev.startsWith("/")) return deviceNumbers(dev);
  throw new BerthError(`invalid device ${JSON.stringify(dev)}; use MAJ:MIN (e.g. 8:0) or a block device path (e.g. /dev/sda)`, { field: flag });
}

function parseDeviceRule(text: string, flag: string): LinuxDeviceCgroup {
  const form = 'use "allow|deny TYPE MAJ:MIN ACCESS" with TYPE a, b or c, e.g. "allow c 1:3 rw" or "deny a"';
  const parts = text.trim().split(/\s+/);
  const [verdict, type = "a", numbers = "*:*", access = "rwm"] = parts;
  const nums = /^(\*|\d+):(\*|\d+)$/.exec(numbers);
  if ((verdict !== "allow" && verdict !== "deny") || parts.length > 4 || !nums) {
    throw new BerthError(`invalid rule ${JSON.stringify(text)}; ${form}`, { field: flag });
  }
  if (!["a", "b", "c"].includes(type)) throw new BerthError(`invalid device type ${JSON.stringify(type)} in ${JSON.stringify(text)}; ${form}`, { field: flag });
  const num = (s: string) => (s === "*" ? null : Number(s));
  return { allow: verdict === "allow", type, major: num(nums[1]!), minor: num(nums[2]!), access };
}

/**
 * @example
 * limitsToResources({ cpus: "2", memory: "2g" }, statRdev).resources
 * // → { cpu: { quota: 200000, period: 100000 }, memory: { limit: 2147483648 } }
 */
export function limitsToResources(flags: LimitFlags, deviceNumbers: (path: string) => [number, number]): ConvertedLimits {
  const r: LinuxResources = {};
  const flagOf = new Map<string, string>();
  const cpu = () => (r.cpu ??= {});
  const memory = () => (r.memory ??= {});
  const blockIO = () => (r.blockIO ??= {});
  const from = (field: string, flag: string) => flagOf.set(`${R}.${field}`, flag);

  if (flags.cpus !== undefined) {
    if (flags.cpuQuota !== undefined) throw new BerthError("conflicts with --cpu-quota; use one of them", { field: "--cpus" });
    const period = flags.cpuPeriod !== undefined ? parseCount(flags.cpuPeriod, "--cpu-period", { min: 1000, max: 1_000_000 }) : DEFAULT_CPU_PERIOD;
    Object.assign(cpu(), cpusToQuota(parseCpuCount(flags.cpus), period));
    from("cpu.quota", "--cpus");
    from("cpu.period", flags.cpuPeriod !== undefined ? "--cpu-period" : "--cpus");
  } else {
    if (flags.cpuQuota !== undefined) {
      cpu().quota = parseCount(flags.cpuQuota, "--cpu-quota", { min: 1000, allowUnlimited: true });
      from("cpu.quota", "--cpu-quota");
    }
    if (flags.cpuPeriod !== undefined) {
      cpu().period = parseCount(flags.cpuPeriod, "--cpu-period", { min: 1000, max: 1_000_000 });
      from("cpu.period", "--cpu-period");
    }
  }
  if (flags.cpuShares !== undefined) {
    cpu().shares = parseCount(flags.cpuShares, "--cpu-shares", { min: 2, max: 262144 });
    from("cpu.shares", "--cpu-shares");
  }
  if (flags.cpuBurst !== undefined) {
    cpu().burst = parseCount(flags.cpuBurst, "--cpu-burst");
    from("cpu.burst", "--cpu-burst");
  }
  if (flags.cpuIdle) {
    cpu().idle = 1;
    from("cpu.idle", "--cpu-idle");
  }
  for (const [flag, key, value] of [["--cpuset-cpus", "cpus", flags.cpusetCpus], ["--cpuset-mems", "mems", flags.cpusetMems]] as const) {
    if (value === undefined) continue;
    parseCpuList(value, flag);
    cpu()[key] = value;
    from(`cpu.${key}`, flag);
  }

  if (flags.memory !== undefined) {
    memory().limit = parseSize(flags.memory, "--memory");
    from("memory.limit", "--memory");
  }
  if (flags.memorySwap !== undefined) {
    memory().swap = parseSize(flags.memorySwap, "--memory-swap");
    from("memory.swap", "--memory-swap");
  }
  if (flags.memoryReservation !== undefined) {
    memory().reservation = parseSize(flags.memoryReservation, "--memory-reservation");
    from("memory.reservation", "--memory-reservation");
  }
  if (flags.memorySwappiness !== undefined) {
    memory().swappiness = parseCount(flags.memorySwappiness, "--memory-swappiness", { max: 100 });
    from("memory.swappiness", "--memory-swappiness");
  }
  if (flags.oomKillDisable) {
    memory().disableOOMKiller = true;
    from("memory.disableOOMKiller", "--oom-kill-disable");
  }

  if (flags.pids !== undefined) {
    r.pids = { limit: parseCount(flags.pids, "--pids", { min: 1, allowUnlimited: true }) };
    from("pids", "--pids");
  }

  if (flags.ioWeight !== undefined) {
    blockIO().weight = parseCount(flags.ioWeight, "--io-weight", { min: 10, max: 1000 });
    from("blockIO.weight", "--io-weight");
  }
  const throttleKeys = {
    rbps: "throttleReadBpsDevice", wbps: "throttleWriteBpsDevice",
    riops: "throttleReadIOPSDevice", wiops: "throttleWriteIOPSDevice",
  } as const;
  for (const spec of flags.ioMax ?? []) {
    const [dev, ...pairs] = spec.trim().split(/\s+/);
    if (!dev || pairs.length === 0) {
      throw new BerthError(`invalid ${JSON.stringify(spec)}; use "DEV rbps=N wbps=N riops=N wiops=N", e.g. "8:0 wbps=1m"`, { field: "--io-max" });
    }
    const [major, minor] = device(dev, "--io-max", deviceNumbers);
    for (const pair of pairs) {
      const [key, value] = pair.split("=");
      const listKey = throttleKeys[key as keyof typeof throttleKeys];
      if (!listKey || value === undefined) {
        throw new BerthError(`invalid limit ${JSON.stringify(pair)}; use rbps=, wbps=, riops= or wiops= with a number (or max)`, { field: "--io-max" });
      }
      const rate = value === "max" ? 0 : key!.endsWith("bps") ? parseSize(value, "--io-max", { allowUnlimited: false }) : parseCount(value, "--io-max");
      const list: LinuxThrottleDevice[] = (blockIO()[listKey] ??= []);
      list.push({ major, minor, rate });
      from(`blockIO.${listKey}`, "--io-max");
    }
  }

  for (const spec of flags.hugetlb ?? []) {
    const m = /^(\d+[KMG]B)=(.+)$/i.exec(spec.trim());
    if (!m) throw new BerthError(`invalid ${JSON.stringify(spec)}; use SIZE=LIMIT with SIZE a page size such as 2MB or 1GB, e.g. 2MB=64m`, { field: "--hugetlb" });
    (r.hugepageLimits ??= []).push({ pageSize: m[1]!.toUpperCase(), limit: parseSize(m[2]!, "--hugetlb", { allowUnlimited: false }) });
    from("hugepageLimits", "--hugetlb");
  }

  for (const rule of flags.device ?? []) {
    (r.devices ??= []).push(parseDeviceRule(rule, "--device"));
    from("devices", "--device");
  }

  for (const kv of flags.set ?? []) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new BerthError(`invalid ${JSON.stringify(kv)}; use FILE=VALUE, e.g. memory.high=48m`, { field: "--set" });
    const file = kv.slice(0, eq);
    let value = kv.slice(eq + 1);
    // Byte files accept the same sizes as --memory, as a convenience.
    if (/^(memory\.(max|high|low|min|swap\.max)|hugetlb\..*\.max)$/.test(file) && /[a-z]$/i.test(value) && value !== "max") {
      value = String(parseSize(value, "--set"));
    }
    (r.unified ??= {})[file] = value;
    from("unified", "--set");
  }
  return { resources: r, flagOf };
}

/** Rewrite an error that names a spec field so it names the flag the user typed. */
export function errorForFlags(err: unknown, flagOf: Map<string, string>): unknown {
  if (!(err instanceof BerthError) || !err.field) return err;
  let best: [string, string] | undefined;
  for (const entry of flagOf) {
    if ((err.field === entry[0] || err.field.startsWith(entry[0] + ".") || err.field.startsWith(entry[0] + "[")) && (!best || entry[0].length > best[0].length)) best = entry;
  }
  if (!best) return err;
  const detail = err.message.slice(err.field.length + 2);
  return new BerthError(detail, { field: best[1], errno: err.errno, cause: err });
}
