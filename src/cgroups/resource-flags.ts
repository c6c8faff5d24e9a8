/**
 * Resource flags → OCI `linux.resources`: the one conversion from a command line into
 * the object the cgroup layer applies, so flags and config.json share one validated
 * path. Pure: device paths are resolved to major:minor by a function the caller passes in.
 *
 * Two vocabularies, one result:
 *   - limitsToResources: docker's units (`--cpus 0.5` → quota 50000 / period 100000,
 *     `--memory 0.5g` → 536870912, `max`), used by `berth cgroup` and by the engine's
 *     `run --cpus/--memory/--pids-limit/--blkio-weight/--device-read-bps…`;
 *   - resourcesFromFlags: runc update's single flags, one raw value per field, used by
 *     `berth-runtime update`.
 * Each produced spec field remembers the flag it came from, so an error raised deep in
 * planning (`linux.resources.memory.swap: …`) reaches the user as `--memory-swap: …`
 * (errorForFlags, renameToFlag).
 */
import { BerthError } from "../errors.ts";
import { parseKeyValues, splitKeyValue } from "../key-value.ts";
import type { LinuxDeviceCgroup, LinuxResources, LinuxThrottleDevice } from "../spec/linux-resources.ts";
import { validateResources } from "../spec/validate-resources.ts";
import { cpusToQuota, DEFAULT_CPU_PERIOD } from "./convert.ts";
import { parseCount, parseCpuCount, parseCpuList, parseSize } from "./units.ts";

const R = "linux.resources";

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

export interface ConvertedLimits {
  resources: LinuxResources;
  /** spec field prefix → the flag that set it */
  flagOf: Map<string, string>;
}

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
      const [key, value] = splitKeyValue(pair) ?? [pair, undefined];
      const listKey = throttleKeys[key as keyof typeof throttleKeys];
      if (!listKey || value === undefined) {
        throw new BerthError(`invalid limit ${JSON.stringify(pair)}; use rbps=, wbps=, riops= or wiops= with a number (or max)`, { field: "--io-max" });
      }
      const rate = value === "max" ? 0 : key.endsWith("bps") ? parseSize(value, "--io-max", { allowUnlimited: false }) : parseCount(value, "--io-max");
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

  for (const [file, text] of parseKeyValues(flags.set, "--set", "FILE=VALUE, e.g. memory.high=48m")) {
    let value = text;
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

// ---------------------------------------------------------------------------------------
// runc update's flags

type Kind = "uint" | "int" | "size" | "list";

/** runc update's single-value flags: the LinuxResources field each sets and how its value reads. */
export const UPDATE_FLAGS: Record<string, { field: string; kind: Kind }> = {
  "blkio-weight": { field: "blockIO.weight", kind: "uint" },
  "cpu-period": { field: "cpu.period", kind: "uint" },
  "cpu-quota": { field: "cpu.quota", kind: "int" },
  "cpu-burst": { field: "cpu.burst", kind: "uint" },
  "cpu-share": { field: "cpu.shares", kind: "uint" },
  "cpu-rt-period": { field: "cpu.realtimePeriod", kind: "uint" },
  "cpu-rt-runtime": { field: "cpu.realtimeRuntime", kind: "int" },
  "cpu-idle": { field: "cpu.idle", kind: "int" },
  "cpuset-cpus": { field: "cpu.cpus", kind: "list" },
  "cpuset-mems": { field: "cpu.mems", kind: "list" },
  memory: { field: "memory.limit", kind: "size" },
  "memory-reservation": { field: "memory.reservation", kind: "size" },
  "memory-swap": { field: "memory.swap", kind: "size" },
  "kernel-memory-tcp": { field: "memory.kernelTCP", kind: "size" },
  "pids-limit": { field: "pids.limit", kind: "int" },
};

/** runc flags berth-runtime knows but cannot honour: each is refused with the reason. */
export const REFUSED_UPDATE_FLAGS: Record<string, string> = {
  "kernel-memory": "kernel memory limits are gone from Linux (5.16 ignores them, 6.x removed them); remove the flag",
  "l3-cache-schema": "Intel RDT (resctrl) is not supported by berth-runtime; remove the flag",
  "mem-bw-schema": "Intel RDT (resctrl) is not supported by berth-runtime; remove the flag",
};

const UPDATE_FLAG_OF = new Map(Object.entries(UPDATE_FLAGS).map(([flag, f]) => [`${R}.${f.field}`, `--${flag}`]));

function parseValue(text: string, flag: string, kind: Kind): number | string {
  const t = text.trim();
  switch (kind) {
    case "list":
      return t;
    case "size":
      // runc passes -1 through (unlimited) and reads the rest with go-units' RAMInBytes: 100M, 1g, 512k
      return parseSize(t, flag);
    case "uint":
      if (/^\d+$/.test(t) && Number.isSafeInteger(Number(t))) return Number(t);
      throw new BerthError(`invalid value ${JSON.stringify(text)}; use a whole number ≥ 0`, { field: flag });
    case "int":
      if (/^-?\d+$/.test(t) && Number.isSafeInteger(Number(t))) return Number(t);
      throw new BerthError(`invalid value ${JSON.stringify(text)}; use a whole number (-1 for no limit)`, { field: flag });
  }
}

/**
 * runc's single flags (values as given, keyed by flag name without dashes) → checked
 * LinuxResources. Pure. A value that does not parse names its flag; one out of range
 * names its linux.resources field (renameToFlag turns that into the flag).
 *
 * @example resourcesFromFlags({ memory: "100M", "pids-limit": "50" })
 * // → { memory: { limit: 104857600 }, pids: { limit: 50 } }
 */
export function resourcesFromFlags(values: Record<string, string | undefined>): LinuxResources {
  for (const [flag, why] of Object.entries(REFUSED_UPDATE_FLAGS)) {
    if (values[flag] !== undefined) throw new BerthError(why, { field: `--${flag}` });
  }
  const out: Record<string, Record<string, unknown>> = {};
  for (const [flag, { field, kind }] of Object.entries(UPDATE_FLAGS)) {
    const raw = values[flag];
    if (raw === undefined) continue;
    const [section, key] = field.split(".") as [string, string];
    (out[section] ??= {})[key] = parseValue(raw, `--${flag}`, kind);
  }
  return validateResources(out, R);
}

/** Re-throw an error about a `linux.resources` field under the runc flag that set it. */
export function renameToFlag(err: unknown): never {
  throw errorForFlags(err, UPDATE_FLAG_OF);
}
