/**
 * The host's connection-tracking table: read (/proc/net/nf_conntrack, when the kernel has
 * CONFIG_NF_CONNTRACK_PROCFS) and entries deleted by conntrack-tools' `conntrack -D` —
 * the netlink protocol behind it (ctnetlink) deletes only by exact tuple, so matching by
 * address or port takes a dump and a delete per entry, which the tool does.
 */
import { readTextIfExists } from "./libc.ts";

/** The table's text, undefined when the kernel does not show it. */
export function readConntrackTable(): string | undefined {
  try {
    return readTextIfExists("/proc/net/nf_conntrack");
  } catch {
    return undefined;
  }
}

/** Whether conntrack-tools is installed. */
export function hasConntrackTool(): boolean {
  return Bun.which("conntrack") !== null;
}

/** `conntrack -D FILTER…`: deletes the matching entries; false when the tool is missing (none matching is not a failure). */
export function deleteConntrack(filter: string[]): boolean {
  if (!hasConntrackTool()) return false;
  Bun.spawnSync(["conntrack", "-D", ...filter], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  return true;
}
