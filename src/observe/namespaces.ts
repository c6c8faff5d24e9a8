/**
 * `berth ns`: which namespaces a container's process is in — lsns for containers. A
 * namespace is named by the inode behind /proc/PID/ns/TYPE; two processes share one when
 * the inodes match. The host's are PID 1's (see hostNamespaces).
 */
import { NS_TYPES, readNamespaces, type NsInodes, type NsType } from "../runtime/process-namespaces.ts";
import { readText } from "../sys/libc.ts";
import type { Container, Subject } from "./discovery.ts";

let host: NsInodes | undefined;

/**
 * The host's namespaces: PID 1's, or — where PID 1 hides them (an init with capabilities
 * berth lacks fails the ptrace check on /proc/1/ns) — kthreadd's, since kernel threads
 * always run in the initial namespaces.
 */
export function hostNamespaces(): NsInodes {
  if (host) return host;
  host = readNamespaces(1);
  if (Object.keys(host).length === 0) {
    try {
      if (readText("/proc/2/comm").trim() === "kthreadd") host = readNamespaces(2);
    } catch {
      // no PID 2 to ask: nothing is known to be the host's
    }
  }
  return host;
}

export interface NsPeer {
  runtime: string;
  id: string;
  name: string;
  pid: number;
}

export interface NsRow {
  type: NsType;
  inode: number | null;
  /** the same namespace as the host's (PID 1's) */
  host: boolean;
  /** the other containers whose init is in this very namespace */
  sharedWith: NsPeer[];
}

/**
 * One row per namespace type. Pure.
 *
 * @example namespaceRows({ net: 5 }, { net: 1 }, [{ container, ns: { net: 5 } }])
 * // → [… { type: "net", inode: 5, host: false, sharedWith: [{ runtime: "podman", id: "…", name: "web", pid: 42 }] } …]
 */
export function namespaceRows(target: NsInodes, host: NsInodes, others: { container: Container; ns: NsInodes }[]): NsRow[] {
  return NS_TYPES.map((type) => {
    const inode = target[type];
    if (inode === undefined) return { type, inode: null, host: false, sharedWith: [] };
    const sharedWith = others
      .filter((o) => o.ns[type] === inode)
      .map(({ container: c }) => ({ runtime: c.runtime, id: c.id, name: c.name ?? c.id.slice(0, 12), pid: c.pid }));
    return { type, inode, host: host[type] === inode, sharedWith };
  });
}

/** The table `berth ns` prints. Pure. */
export function formatNamespaces(s: Subject, rows: NsRow[]): string {
  const who = s.kind === "container" ? `${s.runtime} container ${s.name} (${s.id.slice(0, 12)})` : s.kind === "process" ? `process ${s.name}` : `cgroup ${s.cgroup}`;
  const lines = [`${who}, pid ${s.pid}`, `${"NAMESPACE".padEnd(18)} ${"INODE".padEnd(11)} ${"HOST'S".padEnd(7)} SHARED WITH`];
  for (const r of rows) {
    // Every container that keeps a host namespace shares it: name them only for the container's own.
    const peers = r.host
      ? `the host${r.sharedWith.length > 0 ? ` and ${r.sharedWith.length} other container${r.sharedWith.length > 1 ? "s" : ""}` : ""}`
      : r.sharedWith.map((p) => `${p.runtime} ${p.name} (pid ${p.pid})`).join(", ") || "-";
    lines.push(`${r.type.padEnd(18)} ${(r.inode === null ? "-" : String(r.inode)).padEnd(11)} ${(r.inode === null ? "-" : r.host ? "yes" : "no").padEnd(7)} ${peers}`);
  }
  return lines.join("\n");
}
