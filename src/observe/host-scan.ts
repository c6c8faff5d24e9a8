/**
 * The reader behind discovery: every process's /proc/PID/{stat,cgroup}, the engines'
 * state directories (which ids they run, and their names), berth-runtime's state, and
 * with `all` the cgroup tree (containers whose processes are gone). Everything here is
 * best effort: a process that exits mid-scan, or an engine that is not installed, is
 * simply not there.
 */
import { childCgroups } from "../cgroups/fs.ts";
import { detectHostCgroups, type CgroupLayout } from "../cgroups/layout.ts";
import { openCgroup } from "../cgroups/manager.ts";
import { parseProcCgroup, type ProcCgroupEntry } from "../cgroups/mountinfo.ts";
import { cleanCgroupPath } from "../cgroups/path.ts";
import { BerthError } from "../errors.ts";
import { listDir, readText } from "../sys/libc.ts";
import { initAlive, readState } from "../runtime/state.ts";
import { applyNames, discoverContainers, parseProcStat, resolveTarget, type Container, type HostView, type KnownContainers, type ProcessInfo, type ResolveOptions, type Subject } from "./discovery.ts";
import { conmonName, dockerName, kubeLogNames, podmanNames } from "./names.ts";

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

function read(file: string): string | undefined {
  try {
    return readText(file);
  } catch {
    return undefined;
  }
}

/** /proc/PID/stat's command, state, parent and start time; undefined once the process is gone. */
export function readProcStat(pid: number): ReturnType<typeof parseProcStat> {
  return parseProcStat(read(`/proc/${pid}/stat`) ?? "");
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
    const text = read(`/proc/${pid}/cgroup`);
    if (text === undefined) continue;
    let cgroups = parsed.get(text);
    if (!cgroups) parsed.set(text, (cgroups = parseProcCgroup(text)));
    out.push(new ScannedProcess(pid, cgroups));
  }
  return out;
}

/** berth-runtime containers whose init is alive: every cgroup path of the init → id. */
function berthCgroups(root: string, procs: Map<number, ProcessInfo>): Map<string, string> {
  const out = new Map<string, string>();
  for (const id of list(root)) {
    let state;
    try {
      state = readState(root, id);
    } catch {
      continue; // a corrupt state file is `berth-runtime delete`'s business, not discovery's
    }
    if (!state || !initAlive(state)) continue;
    for (const e of procs.get(state.pid)?.cgroups ?? []) if (e.path !== "/") out.set(e.path, id);
  }
  return out;
}

function knownContainers(root: string, procs: Map<number, ProcessInfo>): { known: KnownContainers; podman: Map<string, string> } {
  const podman = podmanNames(read(PODMAN_CONTAINERS_JSON) ?? "[]");
  const containerd = new Map<string, string>();
  for (const ns of list(CONTAINERD_TASKS)) for (const id of list(`${CONTAINERD_TASKS}/${ns}`)) containerd.set(id, ns);
  return {
    known: {
      docker: new Set(list(DOCKER_CONTAINERS)),
      podman: new Set(podman.keys()),
      containerd,
      berth: berthCgroups(root, procs),
    },
    podman,
  };
}

/** Every cgroup path of the hierarchy discovery reads first (memory on v1, the v2 tree otherwise). */
function cgroupTree(layout: CgroupLayout): string[] {
  const h = layout.mode === "v2" ? layout.unified! : (layout.v1.find((x) => x.controllers.includes("memory")) ?? layout.v1[0]!);
  const out: string[] = [];
  const walk = (dir: string, rel: string, depth: number) => {
    out.push(cleanCgroupPath(`${h.root}/${rel}`));
    if (depth > 0) for (const c of childCgroups(dir)) walk(`${dir}/${c}`, `${rel}/${c}`, depth - 1);
  };
  walk(h.mountPoint, "", TREE_DEPTH);
  return out;
}

function namesOf(containers: Container[], podman: Map<string, string>, procs: Map<number, ProcessInfo>): Map<string, string> {
  const names = new Map(podman);
  for (const c of containers) {
    if (c.runtime === "docker") {
      const name = dockerName(read(`${DOCKER_CONTAINERS}/${c.id}/config.v2.json`) ?? "");
      if (name) names.set(c.id, name);
    } else if ((c.runtime === "podman" || c.runtime === "cri-o") && !names.has(c.id) && c.pid > 0) {
      // a store other than the default one: the init's conmon was told the name
      const monitor = procs.get(procs.get(c.pid)?.ppid ?? 0);
      const name = monitor?.comm === "conmon" ? conmonName(read(`/proc/${monitor.pid}/cmdline`) ?? "", c.id) : undefined;
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
export function scanHost(opts: ScanOptions = {}): HostView {
  const { layout } = detectHostCgroups();
  const procs = readProcesses();
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const { known, podman } = knownContainers(opts.root ?? BERTH_ROOT, byPid);
  const found = discoverContainers(procs, { mode: layout.mode, known, cgroupPaths: opts.all ? cgroupTree(layout) : undefined });
  // Names need the engines' files, read only for the containers that are there.
  return { mode: layout.mode, procs, containers: applyNames(found, namesOf(found, podman, byPid)) };
}

/**
 * Resolve TARGET on this host; a cgroup path must exist.
 *
 * @example resolveOnHost("4242") // → the container PID 4242 is in, with pid 4242
 */
export function resolveOnHost(arg: string, host: HostView, opts: ResolveOptions = {}): Subject {
  const s = resolveTarget(arg, host, opts);
  if (s.kind === "cgroup" && s.pids.length === 0 && !openCgroup(s.cgroup, { field: opts.field ?? "TARGET" }).exists()) {
    throw new BerthError(`no container, process or cgroup ${JSON.stringify(arg)} on this host (no cgroup ${s.cgroup} in any hierarchy)`, { field: opts.field ?? "TARGET" });
  }
  return s;
}
