/** RLIMIT_* names → numbers (include/uapi/asm-generic/resource.h). Pure. */
import { BerthError } from "../errors.ts";

export const RLIMITS = [
  "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
  "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS",
  "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
] as const;

export function rlimitNumber(type: string, field: string): number {
  const n = (RLIMITS as readonly string[]).indexOf(type);
  if (n < 0) throw new BerthError(`${JSON.stringify(type)} is not a resource limit; use one of ${RLIMITS.join(", ")}`, { field });
  return n;
}
