/**
 * Which namespaces a process is in: the inode behind each /proc/PID/ns/TYPE link (two
 * processes share a namespace when the inodes match). `enter` compares the target's with
 * berth's own; `berth ns`, stats and diagnose compare them with the host's.
 */
import { readLink } from "../sys/libc.ts";

/** Every entry of /proc/PID/ns (namespaces(7)); *_for_children are what the process's next children get. */
export const NS_TYPES = ["cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts"] as const;
export type NsType = (typeof NS_TYPES)[number];
export type NsInodes = Partial<Record<NsType, number>>;

/**
 * @example parseNsLink("net:[4026531833]") // → 4026531833
 */
export function parseNsLink(link: string): number | undefined {
  const m = /^\w+:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : undefined;
}

/** The namespace inodes of PID; a type the kernel lacks (time before 5.6) is left out. */
export function readNamespaces(pid: number | "self"): NsInodes {
  const out: NsInodes = {};
  for (const t of NS_TYPES) {
    try {
      const inode = parseNsLink(readLink(`/proc/${pid}/ns/${t}`));
      if (inode !== undefined) out[t] = inode;
    } catch {
      // not in this kernel, or the process is gone: no inode to show
    }
  }
  return out;
}
