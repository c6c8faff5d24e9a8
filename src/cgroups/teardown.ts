/**
 * Removing cgroups and signalling their processes, shared by the v1 and v2 managers.
 *
 * A cgroup can only be removed once it is empty, and a killed process leaves its cgroup
 * a little after the signal (it must be reaped first), so removal retries for a while and
 * then names the process that stays — the question an operator asks next.
 */
import { readText } from "../sys/libc.ts";
import { BerthError } from "../errors.ts";
import { childCgroups, procsOf, removeCgroupDir } from "./fs.ts";

/** `dir` and every cgroup below it, deepest first (the order rmdir needs). */
export function subtreeDeepestFirst(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const c of childCgroups(d)) walk(`${d}/${c}`);
    out.push(d);
  };
  walk(dir);
  return out;
}

/** pids in `dir` and below. */
export function pidsInSubtree(dir: string): number[] {
  return subtreeDeepestFirst(dir).flatMap(procsOf);
}

export function describePid(pid: number): string {
  try {
    return `pid ${pid} (${readText(`/proc/${pid}/comm`).trim()})`;
  } catch {
    return `pid ${pid}`;
  }
}

export function signalAll(pids: number[], signal: NodeJS.Signals | number): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone: exactly what we wanted
    }
  }
}

/**
 * Signal every process of a cgroup while it is frozen (when it can be), so that nothing
 * forks between listing the pids and signalling them. SIGKILL reaches frozen tasks as
 * soon as they are thawed.
 */
export function signalWhileFrozen(
  cg: { freeze(): void; thaw(): void; pids(): number[] },
  canFreeze: boolean,
  signal: NodeJS.Signals | number,
): void {
  if (canFreeze) cg.freeze();
  try {
    signalAll(cg.pids(), signal);
  } finally {
    if (canFreeze) cg.thaw();
  }
}

/**
 * rmdir every dir (each dir's subtree, deepest first), retrying while processes leave.
 */
export function removeTrees(dirs: string[], timeoutMs = 2000): void {
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  for (;;) {
    const busy = dirs.flatMap((d) => subtreeDeepestFirst(d).filter((x) => !removeCgroupDir(x)));
    if (busy.length === 0) return;
    if (Date.now() >= deadline) {
      const dir = busy[0]!;
      const pids = pidsInSubtree(dir);
      const who = pids.length > 0 ? `${pids.slice(0, 3).map(describePid).join(", ")}${pids.length > 3 ? ` and ${pids.length - 3} more` : ""} still in it`
        : "it is still busy (a process is exiting, or a child cgroup was just created)";
      throw new BerthError(`cannot remove cgroup ${dir}: ${who}; stop them, or use \`berth cgroup rm --kill\``, { errno: "EBUSY" });
    }
    Bun.sleepSync(delay);
    delay = Math.min(delay * 2, 50);
  }
}
