/**
 * process.ioPriority, process.scheduler and linux.personality → the values the kernel
 * takes (ioprio_set(2), sched_setattr(2), personality(2)). Pure: each checks its field
 * the way runc's validator does and names the field on error.
 */
import { BerthError } from "../errors.ts";
import type { IoPriority, Personality, Scheduler } from "../spec/runtime-spec.ts";

/** IOPRIO_CLASS_* (include/uapi/linux/ioprio.h); the value is class << 13 | level. */
const IOPRIO_CLASS: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };

export function ioPriorityValue(p: IoPriority, field = "process.ioPriority"): number {
  const cls = IOPRIO_CLASS[p.class];
  if (cls === undefined) {
    throw new BerthError(`${JSON.stringify(p.class)} is not an I/O scheduling class; use one of ${Object.keys(IOPRIO_CLASS).join(", ")}`, { field: `${field}.class` });
  }
  const level = p.priority ?? 0;
  if (!Number.isInteger(level) || level < 0 || level > 7) {
    throw new BerthError(`${JSON.stringify(p.priority)} is out of range; use 0 (highest) … 7 (lowest)`, { field: `${field}.priority` });
  }
  return (cls << 13) | level;
}

/** SCHED_* policies (include/uapi/linux/sched.h). SCHED_ISO is reserved: Linux never implemented it. */
const POLICY: Record<string, number> = {
  SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_IDLE: 5, SCHED_DEADLINE: 6,
};
const SCHED_FLAG: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01, SCHED_FLAG_RECLAIM: 0x02, SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08, SCHED_FLAG_KEEP_PARAMS: 0x10, SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};
/** struct sched_attr up to sched_util_max (SCHED_ATTR_SIZE_VER1). */
export const SCHED_ATTR_SIZE = 56;

/**
 * The struct sched_attr bytes for sched_setattr(2):
 * u32 size, u32 policy, u64 flags, s32 nice, u32 priority, u64 runtime, deadline, period,
 * u32 util_min, util_max.
 */
export function schedAttrBytes(s: Scheduler, field = "process.scheduler"): Uint8Array {
  if (s.policy === "SCHED_ISO") throw new BerthError("SCHED_ISO is reserved and Linux does not implement it; use SCHED_OTHER or SCHED_BATCH", { field: `${field}.policy` });
  const policy = POLICY[s.policy];
  if (policy === undefined) {
    throw new BerthError(`${JSON.stringify(s.policy)} is not a scheduling policy; use one of ${Object.keys(POLICY).join(", ")}`, { field: `${field}.policy` });
  }
  const nice = s.nice ?? 0;
  if (nice < -20 || nice > 19) throw new BerthError(`${nice} is out of range; use -20 … 19`, { field: `${field}.nice` });
  const priority = s.priority ?? 0;
  const realtime = s.policy === "SCHED_FIFO" || s.policy === "SCHED_RR";
  if (realtime && (priority < 1 || priority > 99)) {
    throw new BerthError(`${priority} is out of range for ${s.policy}; use 1 … 99`, { field: `${field}.priority` });
  }
  if (!realtime && priority !== 0) {
    throw new BerthError(`must be 0 for ${s.policy} (only SCHED_FIFO and SCHED_RR have priorities)`, { field: `${field}.priority` });
  }
  let flags = 0;
  (s.flags ?? []).forEach((name, i) => {
    const f = SCHED_FLAG[name];
    if (f === undefined) throw new BerthError(`${JSON.stringify(name)} is not a scheduler flag; use one of ${Object.keys(SCHED_FLAG).join(", ")}`, { field: `${field}.flags[${i}]` });
    flags |= f;
  });
  const runtime = BigInt(s.runtime ?? 0);
  const deadline = BigInt(s.deadline ?? 0);
  const period = BigInt(s.period ?? 0);
  if (s.policy === "SCHED_DEADLINE") {
    if (runtime === 0n) throw new BerthError("is required for SCHED_DEADLINE (nanoseconds of CPU per period)", { field: `${field}.runtime` });
    const dl = deadline || period;
    if (runtime > dl || (period !== 0n && dl > period)) {
      throw new BerthError("SCHED_DEADLINE needs runtime ≤ deadline ≤ period", { field });
    }
  }
  const buf = new ArrayBuffer(SCHED_ATTR_SIZE);
  const v = new DataView(buf);
  v.setUint32(0, SCHED_ATTR_SIZE, true);
  v.setUint32(4, policy, true);
  v.setBigUint64(8, BigInt(flags), true);
  v.setInt32(16, nice, true);
  v.setUint32(20, priority, true);
  v.setBigUint64(24, runtime, true);
  v.setBigUint64(32, deadline, true);
  v.setBigUint64(40, period, true);
  return new Uint8Array(buf);
}

/** Execution domains runc supports (include/uapi/linux/personality.h). */
const DOMAIN: Record<string, number> = { LINUX: 0x0000, LINUX32: 0x0008 };

export function personalityValue(p: Personality, field = "linux.personality"): number {
  const d = DOMAIN[p.domain];
  if (d === undefined) throw new BerthError(`${JSON.stringify(p.domain)} is not an execution domain; use LINUX or LINUX32`, { field: `${field}.domain` });
  if (p.flags?.length) throw new BerthError("no personality flags are defined by the runtime-spec; remove them", { field: `${field}.flags` });
  return d;
}
