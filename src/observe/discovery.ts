/**
 * Which containers run on this host, found the way an operator would: from the cgroup
 * each process is in. Every engine names its containers' cgroups in its own way, and
 * those names are stable because the engines' own tools (cAdvisor, the kubelet, podman
 * stats) depend on them:
 *
 * - docker: `/docker/<id>` (cgroupfs) or `…/docker-<id>.scope` (systemd) — moby's
 *   `newCgroupParent`: "docker", or "system.slice" + prefix "docker";
 * - podman: `/libpod_parent/libpod-<id>` or `/machine.slice/libpod-<id>.scope` (crun may
 *   put the processes one level down, in `…/container`); conmon sits beside it in
 *   `libpod-conmon-<id>.scope`, which is not the container;
 * - containerd: `/<namespace>/<id>` (`/default/…`, `/k8s.io/…`), nerdctl's
 *   `nerdctl-<id>.scope`;
 * - Kubernetes (CRI): `/kubepods[/burstable|/besteffort]/pod<uid>/<id>` or
 *   `/kubepods.slice/…/kubepods-…-pod<uid_with_underscores>.slice/{cri-containerd,crio,docker}-<id>.scope`
 *   (containerd's `getCgroupsPath`: a parent ending in .slice becomes `slice:cri-containerd:id`);
 * - berth: berth-runtime's default `/berth/<id>` or `…/berth-<id>.scope`, and any path a
 *   state.json under its --root names.
 *
 * Pure: the reader (host-scan.ts) gathers /proc and the engines' state directories.
 */
import { BerthError } from "../errors.ts";
import type { ProcCgroupEntry } from "../cgroups/mountinfo.ts";

export type Runtime = "berth" | "docker" | "podman" | "containerd" | "cri-o" | "kubernetes";

/** What a cgroup path says about the container it belongs to. */
export interface CgroupMatch {
  runtime: Runtime;
  id: string;
  /** the container's own cgroup: the path down to the component that names it */
  cgroup: string;
  /** Kubernetes pod uid, or podman pod id */
  pod?: string;
  /** containerd namespace */
  namespace?: string;
  /** for a container berth-runtime made: the engine that drives it, from its cgroup's name (podman --runtime berth-runtime: libpod-<id>) */
  engine?: Runtime;
}

/** Containers the engines' state directories list, to place ids found in unconventional cgroup paths. */
export interface KnownContainers {
  docker?: Set<string>;
  podman?: Set<string>;
  /** id → containerd namespace (from /run/containerd/io.containerd.runtime.v2.task/<ns>/<id>) */
  containerd?: Map<string, string>;
  /** cgroup path → berth-runtime id (from state.json and its init's cgroup) */
  berth?: Map<string, string>;
}

const HEX64 = "[0-9a-f]{64}";
const IS_HEX64 = new RegExp(`^${HEX64}$`);

/** `<prefix>-<id>.scope` units (systemd driver), some also without `.scope` (cgroupfs driver). */
const UNIT_RULES: { re: RegExp; runtime: Runtime; namespace?: string }[] = [
  { re: new RegExp(`^docker-(${HEX64})\\.scope$`), runtime: "docker" },
  { re: new RegExp(`^libpod-(${HEX64})(?:\\.scope)?$`), runtime: "podman" },
  { re: new RegExp(`^cri-containerd-(${HEX64})\\.scope$`), runtime: "containerd", namespace: "k8s.io" },
  { re: new RegExp(`^crio-(${HEX64})(?:\\.scope)?$`), runtime: "cri-o" },
  { re: new RegExp(`^nerdctl-(${HEX64})\\.scope$`), runtime: "containerd" },
  { re: /^berth-([\w+.-]+)\.scope$/, runtime: "berth" },
];

/** containerd namespaces whose `/<ns>/<id>` cgroups exist without any state to say so. */
const CONTAINERD_NAMESPACES = ["default", "k8s.io"];

const CONTAINERD_ID = /^[A-Za-z0-9][\w.-]*$/;

const POD_CGROUPFS = /^pod([0-9a-f][0-9a-f-]{31,35})$/;
// kind nodes nest it once more: kubelet-kubepods-besteffort-pod<uid>.slice
const POD_SYSTEMD = /^(?:[a-z]+-)*kubepods(?:-[a-z]+)*-pod([0-9a-f][0-9a-f_]{31,35})\.slice$/;
const POD_PODMAN = new RegExp(`^machine-libpod_pod_(${HEX64})\\.slice$`);

/** A pod's cgroup: `pod<uid>` (cgroupfs), `kubepods-<qos>-pod<uid_with_underscores>.slice` (systemd), or a podman pod's slice. */
function podOf(segment: string): string | undefined {
  const cgroupfs = POD_CGROUPFS.exec(segment);
  if (cgroupfs) return cgroupfs[1];
  const systemd = POD_SYSTEMD.exec(segment);
  if (systemd) return systemd[1]!.replaceAll("_", "-");
  return POD_PODMAN.exec(segment)?.[1];
}

/**
 * The container a cgroup path belongs to, if any: the innermost component that names
 * one wins (docker in docker: the inner container).
 *
 * @example classifyCgroupPath("/system.slice/docker-4f…e1.scope") // → { runtime: "docker", id: "4f…e1", cgroup: "/system.slice/docker-4f…e1.scope" }
 * @example classifyCgroupPath("/user.slice/user-1000.slice/session-2.scope") // → undefined
 */
export function classifyCgroupPath(path: string, known: KnownContainers = {}): CgroupMatch | undefined {
  const segs = path.split("/").filter(Boolean);
  const namespaces = new Set([...CONTAINERD_NAMESPACES, ...(known.containerd?.values() ?? [])]);
  for (let i = segs.length - 1; i >= 0; i--) {
    const seg = segs[i]!;
    const cgroup = `/${segs.slice(0, i + 1).join("/")}`;
    const pod = segs.slice(0, i).map(podOf).findLast((p) => p !== undefined);
    const withPod = (m: CgroupMatch): CgroupMatch => (pod ? { ...m, pod } : m);
    const berthId = known.berth?.get(cgroup);
    if (berthId !== undefined) {
      const engine = UNIT_RULES.find((r) => r.runtime !== "berth" && r.re.exec(seg)?.[1] === berthId)?.runtime;
      return { runtime: "berth", id: berthId, cgroup, ...(engine && { engine }) };
    }
    for (const rule of UNIT_RULES) {
      const m = rule.re.exec(seg);
      // podman 1.x with cgroupfs put conmon inside the container's cgroup, in `conmon`
      if (m && rule.runtime === "podman" && segs[i + 1] === "conmon") return undefined;
      if (m) return withPod({ runtime: rule.runtime, id: m[1]!, cgroup, ...(rule.namespace && { namespace: rule.namespace }) });
    }
    const hex = IS_HEX64.test(seg);
    if (hex && segs[i - 1] === "docker") return { runtime: "docker", id: seg, cgroup };
    if (i === 1 && segs[0] === "berth" && /^[\w+.-]+$/.test(seg)) return { runtime: "berth", id: seg, cgroup };
    if (hex && known.docker?.has(seg)) return withPod({ runtime: "docker", id: seg, cgroup });
    if (hex && known.podman?.has(seg)) return withPod({ runtime: "podman", id: seg, cgroup });
    // A listed id that is no hash (ctr's "redis") counts only under its namespace: a
    // unit elsewhere may carry the same word.
    const ns = known.containerd?.get(seg);
    if (ns !== undefined && (hex || segs[i - 1] === ns)) return withPod({ runtime: "containerd", id: seg, cgroup, namespace: ns });
    // The kubelet's cgroupfs driver names a container by its bare id under the pod.
    if (hex && i > 0 && podOf(segs[i - 1]!) !== undefined) return withPod({ runtime: "kubernetes", id: seg, cgroup });
    if (i === 1 && namespaces.has(segs[0]!) && CONTAINERD_ID.test(seg) && !/\.(?:slice|scope|service|mount)$/.test(seg)) {
      return { runtime: "containerd", id: seg, cgroup, namespace: segs[0]! };
    }
  }
  return undefined;
}

/** What discovery needs of one process: /proc/PID/stat's parent and start time, and /proc/PID/cgroup. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** start time in clock ticks after boot (/proc/PID/stat field 22) */
  start: number;
  comm: string;
  /** R, S, D, Z … (a zombie still sits in its v1 cgroup until reaped, and is no container's init) */
  state?: string;
  cgroups: ProcCgroupEntry[];
}

/**
 * /proc/PID/stat → its command, parent and start time. The command may hold spaces and
 * ")", so the fields are counted from the last ")".
 *
 * @example parseProcStat("42 (my app) S 1 42 42 0 -1 …") // → { comm: "my app", state: "S", ppid: 1, start: … }
 */
export function parseProcStat(text: string): { comm: string; state: string; ppid: number; start: number } | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const fields = text.slice(close + 2).split(" ");
  const ppid = Number(fields[1]);
  const start = Number(fields[19]);
  if (!Number.isInteger(ppid) || !Number.isFinite(start)) return undefined;
  return { comm: text.slice(open + 1, close), state: fields[0]!, ppid, start };
}

export interface Container extends CgroupMatch {
  name?: string;
  /** the init: the process in the cgroup whose parent is outside it (0 when the cgroup is empty) */
  pid: number;
  /** the processes discovery placed in it (a nested container's are that container's) */
  pids: number[];
  /** the init's start time in clock ticks after boot (/proc/PID/stat), when it has one */
  start?: number;
}

/** v1 hierarchies in the order that best tells where a process belongs (the ones every engine sets). */
const V1_PREFERENCE = ["memory", "pids", "cpu", "cpuacct", "blkio", "devices", "freezer", "cpuset", "name=systemd"];

function rank(e: ProcCgroupEntry): number {
  if (e.hierarchyId === 0) return V1_PREFERENCE.length + 1;
  const i = V1_PREFERENCE.findIndex((c) => e.controllers.includes(c));
  return i < 0 ? V1_PREFERENCE.length : i;
}

/** The entries of /proc/PID/cgroup that count on this layout, best first. */
function ordered(entries: ProcCgroupEntry[], mode: "v1" | "v2" | "hybrid"): ProcCgroupEntry[] {
  if (mode === "v2") return entries.filter((e) => e.hierarchyId === 0);
  return [...entries].sort((a, b) => rank(a) - rank(b));
}

/**
 * The container a process is in, from the first of its cgroups that names one.
 * `classify` defaults to classifyCgroupPath; discovery passes a memoized one.
 */
export function classifyProcess(
  entries: ProcCgroupEntry[], mode: "v1" | "v2" | "hybrid", known: KnownContainers = {},
  classify: (path: string) => CgroupMatch | undefined = (path) => classifyCgroupPath(path, known),
): CgroupMatch | undefined {
  for (const e of ordered(entries, mode)) {
    const m = classify(e.path);
    if (m) return m;
  }
  return undefined;
}

/** The v1 hierarchies that say which processes a cgroup holds, best first (every engine joins them). */
export const MEMBERSHIP_CONTROLLERS = ["pids", "freezer", "memory"];

/**
 * The cgroup path that says which processes a cgroup holds: pids (or freezer, memory) on
 * v1, the one v2 path otherwise — the same hierarchy the cgroup managers list pids from.
 */
export function membershipPath(entries: ProcCgroupEntry[], mode: "v1" | "v2" | "hybrid"): string {
  const v2 = entries.find((e) => e.hierarchyId === 0)?.path;
  if (mode === "v2") return v2 ?? "/";
  for (const c of MEMBERSHIP_CONTROLLERS) {
    const e = entries.find((x) => x.controllers.includes(c));
    if (e) return e.path;
  }
  return entries.find((e) => e.hierarchyId !== 0)?.path ?? v2 ?? "/";
}

/**
 * The init among a cgroup's processes: the one whose parent is outside the set (conmon,
 * a shim, a runtime's helper), the earliest started if several (exec'd processes also
 * have parents outside), the lowest pid if still tied.
 */
export function pickInit(pids: number[], info: Map<number, ProcessInfo>): number {
  if (pids.length === 0) return 0;
  const inside = new Set(pids);
  const roots = pids.filter((p) => !inside.has(info.get(p)?.ppid ?? 0));
  const pool = roots.length > 0 ? roots : pids;
  return [...pool].sort((a, b) => (info.get(a)?.start ?? 0) - (info.get(b)?.start ?? 0) || a - b)[0]!;
}

export interface DiscoverOptions {
  mode: "v1" | "v2" | "hybrid";
  known?: KnownContainers;
  /** cgroup paths found by walking the tree: containers with no process left show up from these */
  cgroupPaths?: string[];
  /** id → name, from the engines' state (docker config.v2.json, podman containers.json, …) */
  names?: Map<string, string>;
}

const key = (m: CgroupMatch) => `${m.runtime}\u0000${m.id}`;

/**
 * Group the host's processes into containers.
 *
 * @example discoverContainers(processes, { mode: "hybrid" }) // → [{ runtime: "docker", id: "…", pid: 4242, pids: [4242, 4250], … }]
 */
export function discoverContainers(procs: ProcessInfo[], opts: DiscoverOptions): Container[] {
  const byKey = new Map<string, Container>();
  const info = new Map(procs.map((p) => [p.pid, p]));
  // A host's processes share a few dozen cgroup paths across a dozen hierarchies: classify each path once.
  const classified = new Map<string, CgroupMatch | undefined>();
  const classify = (path: string): CgroupMatch | undefined => {
    if (!classified.has(path)) classified.set(path, classifyCgroupPath(path, opts.known));
    return classified.get(path);
  };
  // …and processes in the same cgroups share one entries list (host-scan.ts): classify each list once.
  const byEntries = new Map<ProcCgroupEntry[], CgroupMatch | undefined>();
  for (const p of procs) {
    if (!byEntries.has(p.cgroups)) byEntries.set(p.cgroups, classifyProcess(p.cgroups, opts.mode, opts.known, classify));
    const m = byEntries.get(p.cgroups);
    // the state only now: it is a read of /proc/PID/stat, needed for container processes alone
    if (!m || p.state === "Z" || p.state === "X") continue;
    const c = byKey.get(key(m)) ?? { ...m, pid: 0, pids: [] };
    c.pids.push(p.pid);
    byKey.set(key(m), c);
  }
  for (const path of opts.cgroupPaths ?? []) {
    // the same memo: the paths of containers with processes were classified above
    const m = classify(path);
    if (m && !byKey.has(key(m))) byKey.set(key(m), { ...m, pid: 0, pids: [] });
  }
  const out = [...byKey.values()];
  for (const c of out) {
    c.pids.sort((a, b) => a - b);
    c.pid = pickInit(c.pids, info);
    const start = info.get(c.pid)?.start;
    if (start) c.start = start;
  }
  return applyNames(out, opts.names ?? new Map());
}

/**
 * Name containers and sort them by runtime, then name. A berth-runtime container's name
 * is its id — not one an engine drives (podman --runtime berth-runtime): its name is the
 * engine's, which a reader may still find elsewhere (events asks podman's records when
 * the container's conmon could not be read), and an id in its place would hide it.
 */
export function applyNames(containers: Container[], names: Map<string, string>): Container[] {
  for (const c of containers) {
    const name = names.get(c.id) ?? (c.runtime === "berth" && c.engine === undefined ? c.id : undefined);
    if (name !== undefined) c.name = name;
  }
  return containers.sort((a, b) => byCodePoint(a.runtime, b.runtime) || byCodePoint(a.name ?? a.id, b.name ?? b.id));
}

/**
 * Plain string order: localeCompare sets up ICU's collator on first use, ~1 ms of a
 * `berth stats` call, and names and ids are ASCII.
 */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What a command is pointed at: a container, a process outside any, or a bare cgroup. */
export interface Subject {
  kind: "container" | "process" | "cgroup";
  /** container id, the pid (process), or the cgroup path */
  id: string;
  name: string;
  /** who made its cgroup: the engine (podman, docker, …), or "berth" for berth-runtime */
  runtime?: Runtime;
  /** the engine, when berth-runtime made the container for it */
  engine?: Runtime;
  /** the process whose namespaces count: the given PID, else the container's init (0: none) */
  pid: number;
  /** the cgroup path (for a process: the one in the membership hierarchy) */
  cgroup: string;
  container?: Container;
  /** a process's own cgroups per hierarchy: on v1 they can differ, and stats must read each */
  cgroups?: ProcCgroupEntry[];
  /** every process of the subject (host pids) */
  pids: number[];
  /** the engine's container with no process (created, exited): docker's stats shows its row with zeros */
  stopped?: true;
}

/** The host as discovery saw it: every process and the containers they form. */
export interface HostView {
  mode: "v1" | "v2" | "hybrid";
  /** every process on the host (scanHost reads them on first use: only PID and cgroup-path targets need them) */
  readonly procs: ProcessInfo[];
  containers: Container[];
}

export function containerSubject(c: Container, pid = c.pid): Subject {
  return { kind: "container", id: c.id, name: c.name ?? c.id.slice(0, 12), runtime: c.runtime, ...(c.engine && { engine: c.engine }), pid, cgroup: c.cgroup, container: c, pids: c.pids };
}

export interface ResolveOptions {
  /** turn a cgroup argument into a hierarchy path (strips a /sys/fs/cgroup/… mount point) */
  cgroupPath?: (arg: string) => string;
  /** the flag or argument name for errors */
  field?: string;
}

/**
 * Resolve a TARGET argument: a container's id or name (or a unique prefix of its id), a
 * PID, or a cgroup path (anything with a "/"). Pure over `host`.
 *
 * @example resolveTarget("web", host) // → { kind: "container", id: "4f…", name: "web", pid: 4242, … }
 * @example resolveTarget("/berth/demo", host) // → the container or cgroup at that path
 */
export function resolveTarget(arg: string, host: HostView, opts: ResolveOptions = {}): Subject {
  const field = opts.field ?? "TARGET";
  if (arg === "") throw new BerthError("is empty; give a container id or name, a PID, or a cgroup path", { field });
  if (arg.includes("/")) return cgroupSubject((opts.cgroupPath ?? ((a: string) => a))(arg), host);
  const exact = host.containers.filter((c) => c.id === arg || c.name === arg);
  if (exact.length === 1) return containerSubject(exact[0]!);
  if (exact.length > 1) throw ambiguous(arg, exact, field);
  if (/^\d+$/.test(arg)) {
    const proc = host.procs.find((p) => p.pid === Number(arg));
    if (proc) return processSubject(proc, host);
  }
  const byPrefix = host.containers.filter((c) => c.id.startsWith(arg));
  if (byPrefix.length === 1) return containerSubject(byPrefix[0]!);
  if (byPrefix.length > 1) throw ambiguous(arg, byPrefix, field);
  throw new BerthError(
    `no container, process or cgroup ${JSON.stringify(arg)} on this host; \`berth stats --no-stream --all\` lists the containers, and a cgroup path starts with /`,
    { field },
  );
}

function ambiguous(arg: string, list: Container[], field: string): BerthError {
  const shown = list.slice(0, 3).map((c) => `${c.runtime} ${c.id.slice(0, 12)}`).join(", ");
  return new BerthError(`${JSON.stringify(arg)} matches ${list.length} containers (${shown}); give more of the id`, { field });
}

function processSubject(proc: ProcessInfo, host: HostView): Subject {
  const c = host.containers.find((x) => x.pids.includes(proc.pid));
  if (c) return containerSubject(c, proc.pid);
  const cgroup = membershipPath(proc.cgroups, host.mode);
  const pids = host.procs.filter((p) => membershipPath(p.cgroups, host.mode) === cgroup).map((p) => p.pid);
  return { kind: "process", id: String(proc.pid), name: proc.comm, pid: proc.pid, cgroup, cgroups: proc.cgroups, pids };
}

function cgroupSubject(path: string, host: HostView): Subject {
  const c = host.containers.find((x) => x.cgroup === path);
  if (c) return containerSubject(c);
  const within = (p: string) => path === "/" || p === path || p.startsWith(`${path}/`);
  const members = host.procs.filter((p) => within(membershipPath(p.cgroups, host.mode)));
  const pids = members.map((p) => p.pid);
  return { kind: "cgroup", id: path, name: path, pid: pickInit(pids, new Map(members.map((p) => [p.pid, p]))), cgroup: path, pids };
}
