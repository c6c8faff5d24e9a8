/**
 * Linux capability names and numbers (include/uapi/linux/capability.h). Pure: the
 * planner turns process.capabilities into bit masks for the helper's CAPS op.
 */
import { BerthError, type Warning } from "../errors.ts";

export const CAPABILITIES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
  "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
] as const;

export type CapabilitySet = "bounding" | "effective" | "inheritable" | "permitted" | "ambient";
export const CAPABILITY_SETS: readonly CapabilitySet[] = ["bounding", "effective", "inheritable", "permitted", "ambient"];

/**
 * Capability names → a bit mask. Unknown names are an error naming the entry; names the
 * running kernel lacks (number > lastCap) are skipped with a warning, as runc does.
 */
export function capabilityMask(names: string[], field: string, lastCap: number, warnings: Warning[]): bigint {
  let mask = 0n;
  names.forEach((name, i) => {
    const n = (CAPABILITIES as readonly string[]).indexOf(name.toUpperCase());
    if (n < 0) {
      throw new BerthError(`${JSON.stringify(name)} is not a capability; use a name like CAP_NET_BIND_SERVICE (see capabilities(7))`, { field: `${field}[${i}]` });
    }
    if (n > lastCap) {
      warnings.push({ field: `${field}[${i}]`, message: `${name} is not known to this kernel; skipped` });
      return;
    }
    mask |= 1n << BigInt(n);
  });
  return mask;
}
