/**
 * The reader behind `berth events`: a snapshot of berth-runtime's state directories and
 * of the OOM-kill count of every cgroup in the memory hierarchy, taken every interval
 * (the engine's own containers' lifecycle is its journal's, engine/event-journal.ts).
 * Polling, not inotify: v1's memory.oom_control notifies only through an eventfd
 * registered in cgroup.event_control, one per cgroup, and new cgroups would need new
 * watches; a walk of the tree every 200 ms costs less than that bookkeeping on the
 * hosts berth runs on.
 */
import { childCgroups, readOptional } from "../cgroups/fs.ts";
import { detectHostCgroups, placeOf } from "../cgroups/layout.ts";
import { openCgroup } from "../cgroups/open-cgroup.ts";
import { parseFlatKeyed } from "../cgroups/stats-parse.ts";
import { fifoPath, readState, statusOf } from "../runtime/state.ts";
import { listDir, pathExists, readTextIfExists } from "../sys/libc.ts";
import type { BerthState, Owner, Snapshot } from "./events.ts";
import { engineRecord, type EngineRecords } from "./diagnose-gather.ts";
import { classifyCgroupPath } from "./discovery.ts";
import { berthEngineName, scanHost } from "./host-scan.ts";
import { enginePaths } from "../engine/paths.ts";
import type { KernelLogFollower } from "./kmsg.ts";
import { oomKillsIn } from "./oom-log.ts";

/** Deep enough for kubepods.slice/…/pod.slice/cri-containerd-….scope/<nested>. */
const TREE_DEPTH = 8;

/** /proc/PID/stat field 52: the exit code of a zombie (0 while it runs); undefined once reaped. */
function zombieExitCode(pid: number): number | undefined {
  const s = readTextIfExists(`/proc/${pid}/stat`);
  if (s === undefined) return undefined;
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  if (f[0] !== "Z") return undefined;
  const status = Number(f[49]);
  // the wait status: low 7 bits the signal, else the code in bits 8-15 (as a shell shows 128+N)
  return status & 0x7f ? 128 + (status & 0x7f) : (status >> 8) & 0xff;
}

function berthStates(root: string): Map<string, BerthState> {
  const out = new Map<string, BerthState>();
  let ids: string[] = [];
  try {
    ids = listDir(root).map((e) => e.name);
  } catch {
    return out;
  }
  for (const id of ids) {
    let state;
    try {
      state = readState(root, id);
    } catch {
      continue;
    }
    // a create in progress is not a container yet: its init may not be alive, which statusOf calls
    // "stopped" — and the start after it would then be a stopped>running no event describes
    if (!state || state.creating) continue;
    const status = statusOf(root, state);
    let cgroup: string | undefined;
    try {
      cgroup = openCgroup(state.cgroupsPath, { systemd: state.systemdCgroup }).path;
    } catch {
      // a cgroupsPath this host cannot resolve: the event just has no cgroup
    }
    const exitCode = status === "stopped" && state.pid > 0 ? zombieExitCode(state.pid) : undefined;
    // start unlinks exec.fifo: a stopped container whose fifo is gone had run, which a look
    // that first sees it stopped (its whole run between two looks) must still report
    const started = status === "stopped" ? !pathExists(fifoPath(root, id)) : undefined;
    out.set(id, { status, pid: state.pid, ...(cgroup && { cgroup }), ...(exitCode !== undefined && { exitCode }), ...(started !== undefined && { started }) });
  }
  return out;
}

/** cgroup path → kills of its own processes, over the whole memory hierarchy. */
export function oomKillCounts(): Map<string, number> {
  const { layout } = detectHostCgroups();
  const place = placeOf(layout, "memory");
  const out = new Map<string, number>();
  if (!place) return out;
  const mount = place === "unified" ? layout.unified!.mountPoint : place.mountPoint;
  const v2 = place === "unified";
  const walk = (dir: string, rel: string, depth: number) => {
    // v2's memory.events counts kills below too; memory.events.local (5.2+) only this cgroup's
    const text = v2 ? (readOptional(dir, "memory.events.local") ?? readOptional(dir, "memory.events")) : readOptional(dir, "memory.oom_control");
    if (text !== undefined && rel !== "") out.set(rel, parseFlatKeyed(text).oom_kill ?? 0);
    if (depth > 0) for (const c of childCgroups(dir)) walk(`${dir}/${c}`, `${rel}/${c}`, depth - 1);
  };
  walk(mount, "", TREE_DEPTH);
  return out;
}

/** id → the engine's name for it, once its records had one (a container's name does not change). */
const engineNames = new Map<string, string>();

/** The name the engine's records give a container discovery has not named yet (podman's create event comes before the runtime runs). */
function engineName(engine: string, id: string, engines?: EngineRecords): string | undefined {
  if (!engineNames.has(id)) {
    const name = engineRecord({ runtime: engine, id }, engines)?.name;
    if (name) engineNames.set(id, name);
  }
  return engineNames.get(id);
}

export function takeSnapshot(opts: { root: string; engines?: EngineRecords; kernelLog?: KernelLogFollower }): Snapshot {
  const engine = opts.engines?.berth ?? enginePaths();
  // berth's own engine runs berth-runtime with its --root under the engine's run root
  const own = engine.runtimeRoot === opts.root ? new Map<string, BerthState>() : berthStates(engine.runtimeRoot);
  const owners = new Map<string, Owner>();
  for (const c of scanHost({ root: opts.root, engine, all: true }).containers) {
    // discovery's "berth" is berth-runtime's own cgroup naming; the rest name the engine
    const who = c.runtime === "berth" ? { runtime: "berth", ...((c.engine && { engine: c.engine }) || (own.has(c.id) && { engine: "berth" })) } : { engine: c.runtime };
    owners.set(c.cgroup, { ...who, id: c.id, ...(c.name && { name: c.name }) });
  }
  const berth = berthStates(opts.root);
  for (const [id, s] of own) {
    // the engine's containers' lifecycle comes from its journal (docker's events, exit codes included);
    // their cgroups are known here so that an OOM kill in one is named, as it happens
    if (!s.cgroup) continue;
    // discovery read its record already when it has a process (namesOf): not read twice a look
    const name = owners.get(s.cgroup)?.name ?? berthEngineName(engine, id);
    owners.set(s.cgroup, { engine: "berth", runtime: "berth", id, ...(name && { name }) });
  }
  for (const [id, s] of berth) {
    if (!s.cgroup || own.has(id)) continue;
    // an engine's container that berth-runtime made (podman --runtime berth-runtime): both, and the engine's name for it
    // …or, before discovery sees a process in it, what the cgroup's name says (libpod-<id>)
    const named = classifyCgroupPath(s.cgroup);
    const seen = owners.get(s.cgroup) ?? (named && named.runtime !== "berth" ? { engine: named.runtime, id: named.id } : undefined);
    const name = seen?.name ?? (seen?.engine ? engineName(seen.engine, id, opts.engines) : undefined);
    if (seen?.engine) Object.assign(s, { engine: seen.engine, ...(name && { name }) });
    owners.set(s.cgroup, { ...(seen?.engine && { engine: seen.engine }), runtime: "berth", id, ...(name && { name }) });
  }
  // the counters before the log: the kernel logs a kill before it counts it, so every kill
  // counted here is in the log read below or an earlier one (diffSnapshots relies on it)
  const oomKills = oomKillCounts();
  const loggedKills = opts.kernelLog ? oomKillsIn(opts.kernelLog.next().filter((r) => r.includes("oom-kill:"))).map((k) => k.taskMemcg) : undefined;
  for (const cgroup of loggedKills ?? []) {
    const known = owners.get(cgroup);
    // discovery names a container from its monitor, which may be gone by now: the engine's records still have it
    if (known) {
      if (!known.name && known.engine) {
        const name = engineName(known.engine, known.id, opts.engines);
        if (name) known.name = name;
      }
      continue;
    }
    // a cgroup gone before discovery saw it: what its name says, and the engine's name for it
    const named = classifyCgroupPath(cgroup);
    if (!named) continue;
    const who = named.runtime === "berth" ? { runtime: "berth" } : { engine: named.runtime };
    const name = named.runtime === "berth" ? undefined : engineName(named.runtime, named.id, opts.engines);
    owners.set(named.cgroup, { ...who, id: named.id, ...(name && { name }) });
  }
  return { berth, oomKills, owners, ...(loggedKills && { loggedKills }) };
}
