/**
 * The kernel's OOM-kill report, as /dev/kmsg (dmesg) carries it. Pure.
 *
 * Since Linux 4.19 every kill prints one summary line (mm/oom_kill.c dump_oom_summary):
 *
 *   oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a,task_memcg=/a/b,task=dd,pid=42,uid=0
 *
 * `oom_memcg` is the cgroup whose limit was hit and `task_memcg` the victim's: on cgroup
 * v1 this is the only place that names the level, because memory.oom_control's
 * oom_kill counts a kill only in the victim's own cgroup. Both paths are in the memory
 * hierarchy (v1) or the unified one (v2), from its root.
 */

export interface OomKill {
  /** CONSTRAINT_MEMCG (a cgroup limit), CONSTRAINT_NONE (the whole machine), CONSTRAINT_CPUSET, CONSTRAINT_MEMORY_POLICY */
  constraint: string;
  /** the cgroup whose limit was hit (only with CONSTRAINT_MEMCG) */
  oomMemcg?: string;
  /** the victim's cgroup */
  taskMemcg: string;
  task: string;
  pid: number;
  uid: number;
  /** microseconds since boot (the kmsg record's timestamp), when known */
  usec?: number;
  /** when, in ms since the epoch (the reader puts usec on the wall clock), to match an engine's exit time */
  at?: number;
}

/** A /dev/kmsg record: `PRI,SEQ,USEC,FLAGS;TEXT`; continuation lines (` KEY=VALUE`) are dropped. */
export function parseKmsgRecord(record: string): { seq: number; usec: number; text: string } | undefined {
  const semi = record.indexOf(";");
  if (semi < 0) return undefined;
  const [, seq, usec] = record.slice(0, semi).split(",");
  const text = record.slice(semi + 1).split("\n")[0]!;
  if (seq === undefined || usec === undefined) return undefined;
  return { seq: Number(seq), usec: Number(usec), text };
}

/**
 * @example parseOomKillLine("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a,task_memcg=/a/b,task=dd,pid=42,uid=0")
 * // → { constraint: "CONSTRAINT_MEMCG", oomMemcg: "/a", taskMemcg: "/a/b", task: "dd", pid: 42, uid: 0 }
 */
export function parseOomKillLine(text: string): OomKill | undefined {
  const at = text.indexOf("oom-kill:");
  if (at < 0) return undefined;
  const body = text.slice(at + "oom-kill:".length).trim();
  // task= is the command name, which may hold "," — so split on the known keys instead
  const fields = new Map<string, string>();
  const re = /(?:^|,)(constraint|nodemask|cpuset|mems_allowed|oom_memcg|task_memcg|task|pid|uid)=/g;
  const marks = [...body.matchAll(re)];
  marks.forEach((m, i) => {
    const start = m.index! + m[0].length;
    const end = i + 1 < marks.length ? marks[i + 1]!.index! : body.length;
    fields.set(m[1]!, body.slice(start, end));
  });
  const constraint = fields.get("constraint");
  const taskMemcg = fields.get("task_memcg");
  const pid = Number(fields.get("pid"));
  if (!constraint || taskMemcg === undefined || !Number.isInteger(pid)) return undefined;
  const oomMemcg = fields.get("oom_memcg");
  return {
    constraint, taskMemcg, task: fields.get("task") ?? "", pid, uid: Number(fields.get("uid") ?? -1),
    ...(oomMemcg !== undefined && { oomMemcg }),
  };
}

/** Every OOM kill in kmsg records, oldest first. */
export function oomKillsIn(records: string[]): OomKill[] {
  const out: OomKill[] = [];
  for (const r of records) {
    const rec = parseKmsgRecord(r);
    const kill = rec && parseOomKillLine(rec.text);
    if (kill) out.push({ ...kill, usec: rec!.usec });
  }
  return out;
}

/** Whether cgroup `path` is `root` or below it. */
export function isWithin(path: string, root: string): boolean {
  return root === "/" || path === root || path.startsWith(`${root}/`);
}
