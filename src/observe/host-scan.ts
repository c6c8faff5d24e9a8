/**
 * The reader behind discovery: the cgroup tree (which cgroups are containers' and the
 * processes in those), /proc/PID/stat of those processes, the engines' state directories
 * (which ids they run, and their names) and berth-runtime's state; every process's
 * /proc/PID/cgroup only when a command is pointed at a PID or a cgroup path. Everything
 * here is best effort: a process that exits mid-scan, or an engine that is not
 * installed, is simply not there.
 */
import { childCgroups, procsOf } from "../cgroups/fs.ts";
import { detectHostCgroups, type HostCgroups } from "../cgroups/layout.ts";
import { openCgroup } from "../cgroups/open-cgroup.ts";
import { parseProcCgroup, type ProcCgroupEntry } from "../cgroups/mountinfo.ts";
import { cleanCgroupPath } from "../cgroups/path.ts";
import { BerthError } from "../errors.ts";
import { listDir, readTextIfExists } from "../sys/libc.ts";
import { initAlive, readState } from "../runtime/state.ts";
import { applyNames, classifyCgroupPath, discoverContainers, MEMBERSHIP_CONTROLLERS, parseProcStat, resolveTarget, type Container, type HostView, type KnownContainers, type ProcessInfo, type ResolveOptions, type Subject } from "./discovery.ts";
import { conmonName, dockerName, kubeLogNames, podmanNames } from "./names.ts";
import { ContainerStore } from "../engine/container/records.ts";
import { enginePaths, type EnginePaths } from "../engine/paths.ts";

/** berth-runtime's default --root (DESIGN.md) */
export const BERTH_ROOT = "/run/berth";
const DOCKER_CONTAINERS = "/var/lib/docker/containers";
const PODMAN_CONTAINERS_JSON = "/var/lib/containers/storage/overlay-containers/containers.json";
const CONTAINERD_TASKS = "/run/containerd/io.containerd.runtime.v2.task";
const KUBE_LOGS = "/var/log/containers";
/** deep enough for kubepods.slice/…/pod.slice/cri-containerd-….scope/<nested>, bounded on big trees */
const TREE_DEPTH = 8;

export interface ScanOptions {
  /** berth-runtime's --root (default /run/berth) */
  root?: string;
  /**
   * berth's own engine (default: BERTH_ROOT and BERTH_RUNROOT's): its runtime's state
   * (`$RUNROOT/runtime`) says which cgroups are its containers, its records name them
   */
  engine?: EnginePaths;
  /** also walk the cgroup tree for containers with no process left */
  all?: boolean;
}

function list(dir: string): string[] {
  try {
    return listDir(dir).map((e) => e.name);
  } catch {
    return [];
  }
}


/** /proc/PID/stat's command, state, parent and start time; undefined once the process is gone. */
export function readProcStat(pid: number): ReturnType<typeof parseProcStat> {
  return parseProcStat(readTextIfExists(`/proc/${pid}/stat`) ?? "");
}

/**
 * A host process as discovery first sees it: its cgroups now, /proc/PID/stat only when
 * asked. Discovery needs the parent and start time of the processes in containers (to
 * pick each init), not of the rest of the host — most of the host's processes, and half
 * the reads. A process gone before its stat is read counts as exited ("X").
 */
class ScannedProcess implements ProcessInfo {
  #stat: ReturnType<typeof parseProcStat> | null | undefined;
  constructor(readonly pid: number, readonly cgroups: ProcCgroupEntry[]) {}
  private get stat() {
    if (this.#stat === undefined) this.#stat = readProcStat(this.pid) ?? null;
    return this.#stat;
  }
  get ppid(): number {
    return this.stat?.ppid ?? 0;
  }
  get start(): number {
    return this.stat?.start ?? 0;
  }
  get comm(): string {
    return this.stat?.comm ?? "";
  }
  get state(): string {
    return this.stat?.state ?? "X";
  }
}

/**
 * Every process on the host. Processes in the same cgroups have the same /proc/PID/cgroup
 * text: it is parsed once and the entries shared (discovery classifies each list once).
 */
export function readProcesses(): ProcessInfo[] {
  const parsed = new Map<string, ProcCgroupEntry[]>();
  const out: ProcessInfo[] = [];
  for (const d of list("/proc")) {
    const pid = Number(d);
    if (!Number.isInteger(pid)) continue;
    const text = readTextIfExists(`/proc/${pid}/cgroup`);
    if (text === undefined) continue;
    let cgroups = parsed.get(text);
    if (!cgroups) parsed.set(text, (cgroups = parseProcCgroup(text)));
    out.push(new ScannedProcess(pid, cgroups));
  }
  return out;
}

/** berth-runtime containers whose init is alive: every cgroup path of the init → id. */
function berthCgroups(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const id of list(root)) {
    let state;
    try {
      state = readState(root, id);
    } catch {
      continue; // a corrupt state file is `berth-runtime delete`'s business, not discovery's
    }
    if (!state || !initAlive(state)) continue;
    for (const e of parseProcCgroup(readTextIfExists(`/proc/${state.pid}/cgroup`) ?? "")) if (e.path !== "/") out.set(e.path, id);
  }
  return out;
}

/**
 * The name berth's engine gives container `ref` (an id, a unique id prefix or a name)
 * now — its record, so a `rename` shows at once; undefined when the engine has no such
 * container or its record cannot be read.
 */
export function berthEngineName(paths: EnginePaths, ref: string): string | undefined {
  return engineRecordOf(paths, ref)?.Name.replace(/^\//, "") || undefined;
}

function engineRecordOf(paths: EnginePaths, ref: string): { Id: string; Name: string } | undefined {
  try {
    return new ContainerStore(paths).resolve(ref);
  } catch {
    return undefined;
  }
}

/** A stats subject for the engine's container `r`, which has no process (created or exited). */
function stoppedSubject(r: { Id: string; Name: string }): Subject {
  return { kind: "container", id: r.Id, name: r.Name.replace(/^\//, ""), runtime: "berth", engine: "berth", pid: 0, cgroup: "", pids: [], stopped: true };
}

/**
 * The engine's containers that discovery did not find running (created, exited), for
 * `stats -a`: docker's stats lists them with zeros. `running`: the ids discovery found.
 */
export function stoppedEngineSubjects(paths: EnginePaths, running: Set<string>): Subject[] {
  return new ContainerStore(paths).list().filter((r) => !running.has(r.Id)).map(stoppedSubject);
}

function knownContainers(root: string, engine: EnginePaths): { known: KnownContainers; podman: Map<string, string> } {
  const podman = podmanNames(readTextIfExists(PODMAN_CONTAINERS_JSON) ?? "[]");
  const containerd = new Map<string, string>();
  for (const ns of list(CONTAINERD_TASKS)) for (const id of list(`${CONTAINERD_TASKS}/${ns}`)) containerd.set(id, ns);
  return {
    known: {
      docker: new Set(list(DOCKER_CONTAINERS)),
      podman: new Set(podman.keys()),
      containerd,
      berth: engine.runtimeRoot === root ? berthCgroups(root) : new Map([...berthCgroups(root), ...berthCgroups(engine.runtimeRoot)]),
    },
    podman,
  };
}

/**
 * The processes in containers, from the cgroup tree of the membership hierarchy (pids,
 * else freezer or memory on v1, as membershipPath picks; the v2 tree otherwise): each
 * cgroup is classified by its path, and only a container's cgroup.procs is read. Also
 * every cgroup path walked (for `all`: containers with no process left). pids before
 * memory also because a v1 memory cgroup directory lists four times the files (walking
 * 26 took 1.6-2.4 ms here, 24 pids cgroups 0.7).
 *
 * Why not every host process's /proc/PID/cgroup: a container host runs many more
 * processes than containers, each such file lists every hierarchy (a dozen lines on v1),
 * and reading and classifying them all was the largest part of discovery in `berth
 * stats` over 20 containers.
 */
function containerProcesses(host: HostCgroups, known: KnownContainers): { procs: ScannedProcess[]; paths: string[] } {
  const { layout } = host;
  const v1 = layout.mode === "v2"
    ? undefined
    : (MEMBERSHIP_CONTROLLERS.map((c) => layout.v1.find((x) => x.controllers.includes(c))).find((x) => x !== undefined) ?? layout.v1[0]!);
  const h = v1 ?? layout.unified!;
  // the hierarchy's entry as /proc/PID/cgroup would give it (its id from this process's own)
  const hierarchyId = v1 ? (host.own.find((e) => e.controllers.some((c) => v1.controllers.includes(c)))?.hierarchyId ?? 1) : 0;
  const controllers = v1 ? v1.controllers : [];
  const procs: ScannedProcess[] = [];
  const paths: string[] = [];
  const walk = (dir: string, rel: string, depth: number) => {
    const path = cleanCgroupPath(`${h.root}/${rel}`);
    paths.push(path);
    if (classifyCgroupPath(path, known)) {
      const entries: ProcCgroupEntry[] = [{ hierarchyId, controllers, path }];
      for (const pid of procsOf(dir)) procs.push(new ScannedProcess(pid, entries));
    }
    if (depth > 0) for (const c of childCgroups(dir)) walk(`${dir}/${c}`, `${rel}/${c}`, depth - 1);
  };
  walk(h.mountPoint, "", TREE_DEPTH);
  return { procs, paths };
}

function namesOf(containers: Container[], podman: Map<string, string>, proc: (pid: number) => ProcessInfo, engine: EnginePaths): Map<string, string> {
  const names = new Map(podman);
  for (const c of containers) {
    const own = c.runtime === "berth" ? berthEngineName(engine, c.id) : undefined;
    if (own) names.set(c.id, own);
    else if (c.runtime === "docker") {
      const name = dockerName(readTextIfExists(`${DOCKER_CONTAINERS}/${c.id}/config.v2.json`) ?? "");
      if (name) names.set(c.id, name);
    } else if (([c.runtime, c.engine].some((x) => x === "podman" || x === "cri-o") || c.runtime === "berth") && !names.has(c.id) && c.pid > 0) {
      // (podman --runtime berth-runtime too: discovery's runtime is then berth, its engine podman)
      // a store other than the default one: the init's conmon was told the name
      const monitor = proc(proc(c.pid).ppid);
      const name = monitor.comm === "conmon" ? conmonName(readTextIfExists(`/proc/${monitor.pid}/cmdline`) ?? "", c.id) : undefined;
      if (name) names.set(c.id, name);
    }
  }
  if (containers.some((c) => c.pod !== undefined || c.runtime === "kubernetes" || c.namespace === "k8s.io")) {
    for (const [id, name] of kubeLogNames(list(KUBE_LOGS))) names.set(id, name);
  }
  return names;
}

/**
 * The host as it is now.
 *
 * @example scanHost().containers // → [{ runtime: "podman", id: "…", name: "web", pid: 4242, cgroup: "/machine.slice/libpod-….scope", … }]
 */
export function scanHost(opts: ScanOptions = {}): HostView & { engine: EnginePaths } {
  const host = detectHostCgroups();
  const engine = opts.engine ?? enginePaths();
  const { known, podman } = knownContainers(opts.root ?? BERTH_ROOT, engine);
  const { procs, paths } = containerProcesses(host, known);
  const found = discoverContainers(procs, { mode: host.layout.mode, known, cgroupPaths: opts.all ? paths : undefined });
  // Names need the engines' files, read only for the containers that are there; a
  // container's monitor (conmon) is outside it, its /proc/PID/stat read when asked.
  const byPid = new Map<number, ProcessInfo>(procs.map((p) => [p.pid, p]));
  const proc = (pid: number): ProcessInfo => byPid.get(pid) ?? new ScannedProcess(pid, []);
  const containers = applyNames(found, namesOf(found, podman, proc, engine));
  let all: ProcessInfo[] | undefined;
  return {
    mode: host.layout.mode,
    engine,
    containers,
    // every host process only for a PID or cgroup-path target
    get procs() {
      return (all ??= readProcesses());
    },
  };
}

/**
 * Resolve TARGET on this host; a cgroup path must exist. `stopped`: the engine's container
 * with no process is a subject marked stopped (what `stats` shows with zeros, as docker's
 * does) rather than docker's "is not running" error (what top, ns and enter say).
 *
 * @example resolveOnHost("4242") // → the container PID 4242 is in, with pid 4242
 */
export function resolveOnHost(arg: string, host: HostView & { engine?: EnginePaths }, opts: ResolveOptions & { stopped?: boolean } = {}): Subject {
  let s: Subject;
  try {
    s = resolveTarget(arg, host, opts);
  } catch (err) {
    // berth's engine knows it, but it has no process: docker's "is not running", not "no such container"
    const record = err instanceof BerthError && host.engine ? engineRecordOf(host.engine, arg) : undefined;
    if (record && opts.stopped) return stoppedSubject(record);
    const own = record?.Name.replace(/^\//, "");
    if (own) throw new BerthError(`container ${own} is not running; start it first (berth start ${own})`, { field: opts.field ?? "TARGET" });
    throw err;
  }
  if (s.kind === "cgroup" && s.pids.length === 0 && !openCgroup(s.cgroup, { field: opts.field ?? "TARGET" }).exists()) {
    throw new BerthError(`no container, process or cgroup ${JSON.stringify(arg)} on this host (no cgroup ${s.cgroup} in any hierarchy)`, { field: opts.field ?? "TARGET" });
  }
  return s;
}
