/**
 * Wiring the limit flags into a command (create, set, run) and turning the
 * parsed options into validated `linux.resources`, merged over `--resources FILE`.
 */
import { collect, type Command } from "../command.ts";
import { BerthError } from "../../errors.ts";
import type { LinuxResources } from "../../spec/linux-resources.ts";
import { validateResources } from "../../spec/validate-resources.ts";
import { readFdText, readText, statPath } from "../../sys/libc.ts";
import { errorForFlags, limitsToResources, type LimitFlags } from "../../cgroups/resource-flags.ts";

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

export function addLimitOptions(cmd: Command): Command {
  for (const [flags, help, repeatable] of LIMIT_OPTIONS) {
    if (repeatable) cmd.option(flags, help, collect);
    else cmd.option(flags, help);
  }
  cmd.option("--resources <file>", "an OCI linux.resources JSON file (- for stdin); flags override it");
  return cmd;
}

/** A block device path → [major, minor], from its rdev. */
function deviceNumbers(path: string): [number, number] {
  let st;
  try {
    st = statPath(path);
  } catch {
    throw new BerthError(`${path} does not exist; give a block device path or MAJ:MIN`, { field: "--io-max" });
  }
  if (!st.isBlockDevice) throw new BerthError(`${path} is not a block device; give a block device path or MAJ:MIN`, { field: "--io-max" });
  // Linux dev_t: major in bits 8-19 (and 32+), minor in bits 0-7 and 20-31.
  const rdev = st.rdev;
  return [((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff), (rdev & 0xff) | ((rdev >> 12) & ~0xff)];
}

function readResourcesFile(file: string): unknown {
  let text: string;
  try {
    text = file === "-" ? readFdText(0) : readText(file);
  } catch (err) {
    throw new BerthError(`cannot read ${file}: ${(err as Error).message}`, { field: "--resources" });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BerthError(`${file} is not valid JSON: ${(err as Error).message}`, { field: "--resources" });
  }
}

export interface ParsedLimits {
  resources: LinuxResources;
  flagOf: Map<string, string>;
}

export function limitsFromOptions(opts: LimitFlags & { resources?: string }): ParsedLimits {
  const fromFlags = limitsToResources(opts, deviceNumbers);
  const base = opts.resources ? validateResources(readResourcesFile(opts.resources)) : {};
  const merged: LinuxResources = { ...base };
  for (const [key, value] of Object.entries(fromFlags.resources)) {
    const prev = (base as Record<string, unknown>)[key];
    (merged as Record<string, unknown>)[key] =
      prev && typeof prev === "object" && !Array.isArray(prev) && !Array.isArray(value) ? { ...prev, ...value } : value;
  }
  try {
    return { resources: validateResources(merged), flagOf: fromFlags.flagOf };
  } catch (err) {
    throw errorForFlags(err, fromFlags.flagOf);
  }
}
