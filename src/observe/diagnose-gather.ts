/**
 * The reader behind `berth diagnose`: everything the runbooks look at, for one target —
 * the cgroup's counters at the start and end of a sample window, each memory level's
 * limit and kill counts, the kernel's OOM reports, the runtime's state and log, the
 * network namespace's counters (through /proc/PID/net, no setns), the node's disks,
 * memory and pids. Best effort: a file that is not there is evidence left out.
 */
import { detectHostCgroups } from "../cgroups/layout.ts";
import { openCgroup } from "../cgroups/open-cgroup.ts";
import type { CgroupManager } from "../cgroups/manager.ts";
import type { CgroupStats } from "../cgroups/stats.ts";
import { BerthError } from "../errors.ts";
import { parseNsLink } from "../runtime/process-namespaces.ts";
import { liveStartTime, readState, statusOf } from "../runtime/state.ts";
import { listDir, pathExists, readLink, readTextIfExists, statFs } from "../sys/libc.ts";
import { enginePaths, type EnginePaths } from "../engine/paths.ts";
import { ContainerStore, type ContainerRecord } from "../engine/container/records.ts";
import { NetworkStore } from "../engine/network/networks.ts";
import type { DiagnoseEvidence, LevelEvidence } from "./diagnose.ts";
import { NETNS_SCRIPT, parseNetnsOutput, resolvNameservers, type NetnsEvidence } from "./diagnose-network.ts";
import { parseProcStat, type ResolveOptions, type Subject } from "./discovery.ts";
import { readProcStat, resolveOnHost, scanHost } from "./host-scan.ts";
import { readKernelLog } from "./kmsg.ts";
import { hostNamespaces } from "./namespaces.ts";
import { parseConntrackStat, parseSnmp } from "./net-stats.ts";
import { parseNetDev } from "./netdev.ts";
import { oomKillsIn, parseKmsgRecord } from "./oom-log.ts";
import { criExit, dockerExit, podmanRecord, type EngineExit } from "./engine-exits.ts";
import { classifyStartFailure, lastError } from "./start-failure.ts";
import { cgroupOfSubject, takeSample } from "./stats-sample.ts";
import { statsRecord } from "./stats.ts";

export interface GatherOptions {
  /** berth-runtime's --root */
  root: string;
  /** seconds between the two samples; 0: one sample, totals since start */
  sampleSeconds: number;
  /** the OCI runtime's --log file, for why a container would not start */
  log?: string;
  /** the exit code when the engine knows it (podman inspect, kubectl describe) */
  exitCode?: number;
  resolve?: ResolveOptions;
  /** the disks whose pressure stops containers from starting */
  disks?: string[];
  /** where the engines keep their records of stopped containers (default ENGINE_RECORDS) */
  engines?: EngineRecords;
}

/** Where docker, containerd's CRI plugin and podman keep what became of a container. */
export interface EngineRecords {
  /** dockerd's --data-root */
  dockerRoot: string;
  /** containerd's root (config `root`) */
  containerdRoot: string;
  /** containerd's state directory (config `state`): a task's bundle and the runtime's log.json */
  containerdState: string;
  /** podman's events file (the file events backend: <tmpdir>/events/events.log) */
  podmanEvents: string;
  /** podman's run root (storage.conf runroot): `<driver>-containers/<id>/userdata/oci-log` is the runtime's log */
  podmanRunroot: string;
  /** berth's own engine: its root and runroot (BERTH_ROOT, BERTH_RUNROOT): `containers/<id>/container.json` */
  berth?: EnginePaths;
}

export const ENGINE_RECORDS: EngineRecords = {
  dockerRoot: "/var/lib/docker",
  containerdRoot: "/var/lib/containerd",
  containerdState: "/run/containerd",
  podmanEvents: "/run/libpod/events/events.log",
  podmanRunroot: "/run/containers/storage",
};

const FULL_ID = /^[0-9a-f]{64}$/;

/**
 * Whether this host keeps the records engineRecord reads a container's exit code from,
 * for `engine`'s containers: podman's only with its file events backend (journald's are
 * not read), CRI-O's never.
 */
export function keepsExitRecords(engine: string | undefined, where: EngineRecords = ENGINE_RECORDS): boolean {
  if (engine === "podman") return pathExists(where.podmanEvents);
  return engine === "docker" || engine === "containerd" || engine === "kubernetes" || engine === "berth";
}

/** What an engine's records say of a container: who it is, how it last ended, and the OCI runtime's log of it. */
export interface EngineRecord {
  runtime: string;
  id: string;
  name?: string;
  exit?: EngineExit;
  /** the runtime's --log file the engine keeps for the container (podman's oci-log, containerd's log.json) */
  runtimeLog?: string;
  /** the engine recorded it created but never started (podman: a create event, no start) */
  neverStarted?: { source: string; status: string };
  /** the container's cgroup, when the engine recorded where it put it */
  cgroup?: string;
  /** its init, while the engine's record says it runs */
  pid?: number;
}

/** Is the engine's recorded init still that process (not a later one with its pid)? */
function isLive(pid: number, startTime: number | undefined): boolean {
  const start = pid > 0 ? liveStartTime(pid) : 0;
  return start !== 0 && (startTime === undefined || start === startTime);
}

/** berth's own engine's record: docker's State in container.json, the runtime's log in its run directory. */
function berthEngineRecord(target: string, paths: EnginePaths): EngineRecord | undefined {
  let r: ContainerRecord;
  try {
    r = new ContainerStore(paths).resolve(target);
  } catch {
    return undefined; // not one of berth's (or ambiguous there): the other engines may know it
  }
  const store = new ContainerStore(paths);
  const source = store.recordPath(r.Id);
  const exit = dockerExit(JSON.stringify({ State: r.State }), source);
  const log = `${store.runDir(r.Id)}/runtime.log`;
  const parent = r.Flags.cgroupParent ? `/${r.Flags.cgroupParent.replace(/^\/+|\/+$/g, "")}` : "/berth";
  return {
    runtime: "berth", id: r.Id, name: r.Name.replace(/^\//, ""), ...(exit && { exit }), ...(pathExists(log) && { runtimeLog: log }),
    ...(r.State.Status === "created" && !exit && { neverStarted: { source, status: "created" } }), cgroup: `${parent}/${r.Id}`,
    ...(isLive(r.State.Pid, r.State.PidStartTime) && { pid: r.State.Pid }),
  };
}

/** podman's oci-log: `<runroot>/<driver>-containers/<id>/userdata/oci-log`, whichever storage driver made it. */
function podmanOciLog(runroot: string, id: string): string | undefined {
  let drivers: string[];
  try {
    drivers = listDir(runroot).map((d) => d.name).filter((d) => d.endsWith("-containers"));
  } catch {
    return undefined;
  }
  return drivers.map((d) => `${runroot}/${d}/${id}/userdata/oci-log`).find((f) => pathExists(f));
}

/** containerd's runtime log of a task that is still there: `<state>/io.containerd.runtime.v2.task/<ns>/<id>/log.json`. */
function containerdLog(state: string, id: string): string | undefined {
  const tasks = `${state}/io.containerd.runtime.v2.task`;
  let namespaces: string[];
  try {
    namespaces = listDir(tasks).map((d) => d.name);
  } catch {
    return undefined;
  }
  return namespaces.map((ns) => `${tasks}/${ns}/${id}/log.json`).find((f) => pathExists(f));
}

/**
 * The engine's record of a container: by the runtime discovery named, or — for a
 * container with nothing left on the host — by trying each engine with the target as an
 * id (podman: also a name or an id prefix of 12 or more).
 */
export function engineRecord(target: { runtime?: string; id: string }, where: EngineRecords = ENGINE_RECORDS): EngineRecord | undefined {
  const { runtime, id } = target;
  if (runtime === undefined || runtime === "berth") {
    const own = berthEngineRecord(id, where.berth ?? enginePaths());
    if (own) return own;
  }
  const tryDocker = runtime === undefined || runtime === "docker";
  const tryCri = runtime === undefined || runtime === "kubernetes" || runtime === "containerd";
  const tryPodman = runtime === undefined || runtime === "podman";
  if (tryDocker && FULL_ID.test(id)) {
    const file = `${where.dockerRoot}/containers/${id}/config.v2.json`;
    const text = readTextIfExists(file);
    const exit = text === undefined ? undefined : dockerExit(text, file);
    if (exit) return { runtime: "docker", id, exit };
  }
  if (tryCri && /^[\w.-]+$/.test(id)) {
    const file = `${where.containerdRoot}/io.containerd.grpc.v1.cri/containers/${id}/status`;
    const text = readTextIfExists(file);
    const exit = text === undefined ? undefined : criExit(text, file);
    const log = containerdLog(where.containerdState, id);
    if (exit || log) return { runtime: runtime === "containerd" ? "containerd" : "kubernetes", id, ...(exit && { exit }), ...(log && { runtimeLog: log }) };
  }
  if (tryPodman) {
    const text = readTextIfExists(where.podmanEvents);
    const r = text === undefined ? undefined : podmanRecord(text, id, where.podmanEvents);
    if (r) {
      const log = podmanOciLog(where.podmanRunroot, r.id);
      return {
        runtime: "podman", id: r.id, ...(r.name && { name: r.name }), ...(r.exit && { exit: r.exit }), ...(log && { runtimeLog: log }),
        ...(!r.startedAt && !r.exit && { neverStarted: { source: where.podmanEvents, status: r.status } }),
      };
    }
  }
  return undefined;
}

const NODE_DISKS = ["/var/lib", "/run"];

/** The directory of a controller's files for this manager: its v1 hierarchy, else unified. */
function dirFor(cg: CgroupManager, controller: string): string | undefined {
  const dirs = cg.dirs();
  return Object.entries(dirs).find(([k]) => k !== "unified" && k.split(",").includes(controller))?.[1] ?? dirs.unified;
}

/** Where a memory level's files are: the hierarchy's mount + the level's path (MemoryLevel.path is mount-relative). */
function memoryMount(cg: CgroupManager, stats: CgroupStats): string | undefined {
  const own = dirFor(cg, "memory");
  const path = stats.memory?.levels[0]?.path;
  if (!own || path === undefined) return undefined;
  return path === "/" ? own : own.slice(0, own.length - path.length);
}

function levelsOf(stats: CgroupStats, mount: string | undefined): LevelEvidence[] {
  const v2 = (stats.memory?.levels ?? []).some((l) => l.events !== undefined);
  return (stats.memory?.levels ?? []).map((l) => {
    const dir = `${mount ?? ""}${l.path === "/" ? "" : l.path}`;
    return {
      path: l.path,
      eventsFile: `${dir}/${v2 ? "memory.events" : "memory.oom_control"}`,
      limitFile: v2 ? "memory.max" : "memory.limit_in_bytes",
      limit: l.limit, usage: l.usage,
      ...(l.peak !== undefined && { peak: l.peak }),
      ...(l.events && { oom: l.events.oom }),
      oomKill: l.events?.oom_kill ?? l.oomKill ?? 0,
    };
  });
}

/** The target, or — for a container that is gone — what berth-runtime's state or the runtime log still say of it. */
function subjectOf(target: string, opts: GatherOptions): { subject: Subject | undefined; gone: DiagnoseEvidence["subject"] | undefined; record?: EngineRecord } {
  const host = scanHost({ root: opts.root, all: true });
  try {
    return { subject: resolveOnHost(target, host, opts.resolve), gone: undefined };
  } catch (err) {
    // berth's own engine keeps its runtime's state under its runroot: its record names the running init
    const own = berthEngineRecord(target, opts.engines?.berth ?? enginePaths());
    if (own?.pid !== undefined) {
      try {
        const s = resolveOnHost(String(own.pid), host, opts.resolve);
        return { subject: { ...s, kind: "container", id: own.id, name: own.name ?? own.id, runtime: "berth", pid: own.pid }, gone: undefined };
      } catch {
        // it exited meanwhile: its record says how
      }
    }
    const state = /^[\w+.-]+$/.test(target) ? readState(opts.root, target) : undefined;
    if (state) {
      const cgroup = openCgroup(state.cgroupsPath, { systemd: state.systemdCgroup }).path;
      const c = host.containers.find((x) => x.cgroup === cgroup);
      if (c) return { subject: { kind: "container", id: target, name: target, runtime: "berth", pid: 0, cgroup, container: c, pids: c.pids }, gone: undefined };
      return { subject: undefined, gone: { kind: "container", id: target, name: target, runtime: "berth", cgroup, pid: 0, running: false } };
    }
    const record = engineRecord({ id: target }, opts.engines);
    if (record) {
      return { subject: undefined, gone: { kind: "container", id: record.id, name: record.name ?? target, runtime: record.runtime, cgroup: record.cgroup ?? "-", pid: 0, running: false }, record };
    }
    if (opts.log !== undefined || opts.exitCode !== undefined) {
      return { subject: undefined, gone: { kind: "container", id: target, name: target, cgroup: "-", pid: 0, running: false } };
    }
    throw err;
  }
}

function exitEvidence(x: EngineExit): NonNullable<DiagnoseEvidence["exit"]> {
  return {
    code: x.code, source: x.source, ...(x.oomKilled && { oomKilled: true }), ...(x.detail && { detail: x.detail }),
    ...(x.finishedAt && { finishedAt: x.finishedAt }), ...(x.startedAt && { startedAt: x.startedAt }),
  };
}

function netEvidence(pid: number, before: ReturnType<typeof netCounters>, after: ReturnType<typeof netCounters>): DiagnoseEvidence["net"] {
  if (!after) return undefined;
  const b = before ?? after;
  return {
    pid,
    drops: { rx: after.rxDropped, tx: after.txDropped, rxDelta: after.rxDropped - b.rxDropped, txDelta: after.txDropped - b.txDropped },
    ...(after.tcp && { tcp: { ...after.tcp, retransDelta: after.tcp.retrans - (b.tcp?.retrans ?? 0), outSegsDelta: after.tcp.outSegs - (b.tcp?.outSegs ?? 0) } }),
    ...(after.conntrack && { conntrack: after.conntrack }),
  };
}

/** Whether PID has a network namespace of its own (not the host's, whose counters are the node's). */
export function hasOwnNetns(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    const ns = parseNsLink(readLink(`/proc/${pid}/ns/net`));
    return ns !== undefined && ns !== hostNamespaces().net;
  } catch {
    return false;
  }
}

/** The counters of PID's network namespace; undefined when it is the host's. */
function netCounters(pid: number) {
  if (!hasOwnNetns(pid)) return undefined;
  const dev = parseNetDev(readTextIfExists(`/proc/${pid}/net/dev`) ?? "");
  const snmp = parseSnmp(readTextIfExists(`/proc/${pid}/net/snmp`) ?? "");
  const ct = parseConntrackStat(readTextIfExists(`/proc/${pid}/net/stat/nf_conntrack`) ?? "");
  const max = Number(readTextIfExists("/proc/sys/net/netfilter/nf_conntrack_max") ?? "0");
  const tcp = snmp.Tcp;
  return {
    rxDropped: Object.values(dev).reduce((n, c) => n + c.rxDropped, 0),
    txDropped: Object.values(dev).reduce((n, c) => n + c.txDropped, 0),
    ...(tcp && { tcp: { retrans: tcp.RetransSegs ?? 0, outSegs: tcp.OutSegs ?? 0 } }),
    ...(ct && { conntrack: { entries: ct.entries, max, drop: ct.drop + ct.earlyDrop } }),
  };
}

/**
 * The network runbook's evidence: the host's ip, iptables-save and bash run inside the
 * container's network namespace by the enter machinery (its helper joins the namespace
 * and nothing else: not the cgroup, whose limits are the container's), and its
 * resolv.conf read through /proc/PID/root. Undefined when it shares the host's
 * namespace or the tools cannot be run.
 */
async function netnsEvidence(subject: Subject, berth: EnginePaths): Promise<NetnsEvidence | undefined> {
  if (!hasOwnNetns(subject.pid)) return undefined;
  let text: string | undefined;
  try {
    text = readTextIfExists(`/proc/${subject.pid}/root/etc/resolv.conf`);
  } catch {}
  const nameservers = resolvNameservers(text ?? "");
  let stdout: string;
  try {
    // loaded here: it brings the plan encoder and the helper
    const { captureInNamespaces } = await import("../runtime/enter.ts");
    stdout = (await captureInNamespaces({ pid: subject.pid, name: subject.name }, { namespaces: ["net"], cgroup: false, argv: ["bash", "-c", NETNS_SCRIPT, "bash", ...nameservers] })).stdout;
  } catch {
    return undefined;
  }
  const evidence = parseNetnsOutput(subject.pid, stdout, { file: "its /etc/resolv.conf", nameservers });
  // berth's own container: which of its networks are --internal (no route out by design)
  try {
    const r = new ContainerStore(berth).resolve(subject.id);
    const networks = new NetworkStore(berth);
    const internal = (r.Network?.networks ?? []).filter((n) => networks.read(n)?.berth.internal === true);
    if (internal.length > 0) evidence.internal = internal;
    if (r.Network?.settings?.Gateway) evidence.gateway = r.Network.settings.Gateway;
  } catch {}
  return evidence;
}

/**
 * Threads ready to run (state R) among `pids`' threads: a throttled thread is still R, so
 * on a host too busy to give the cgroup even its quota this is the demand usage and
 * throttled time cannot show.
 */
function runnableThreads(pids: number[]): number {
  let n = 0;
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = listDir(`/proc/${pid}/task`).map((d) => d.name);
    } catch {
      continue; // exited meanwhile
    }
    for (const tid of tids) {
      try {
        if (parseProcStat(readTextIfExists(`/proc/${pid}/task/${tid}/stat`) ?? "")?.state === "R") n++;
      } catch {
        // the thread exited meanwhile (ESRCH)
      }
    }
  }
  return n;
}

/** Disks, memory and pids of the node: the "check node pressure" step. */
export function nodeEvidence(disks = NODE_DISKS): NonNullable<DiagnoseEvidence["node"]> {
  const out: NonNullable<DiagnoseEvidence["node"]> = { disks: [] };
  for (const path of disks) {
    try {
      const s = statFs(path);
      out.disks.push({ path, freePct: s.blocks > 0 ? (100 * s.bavail) / s.blocks : 100, inodesFreePct: s.files > 0 ? (100 * s.ffree) / s.files : 100 });
    } catch {
      // not there on this host
    }
  }
  const mem = readTextIfExists("/proc/meminfo") ?? "";
  const total = Number(/^MemTotal:\s+(\d+)/m.exec(mem)?.[1] ?? 0);
  const avail = /^MemAvailable:\s+(\d+)/m.exec(mem)?.[1];
  if (total > 0 && avail !== undefined) out.memAvailablePct = (100 * Number(avail)) / total;
  const tasks = Number((readTextIfExists("/proc/loadavg") ?? "").split(" ")[3]?.split("/")[1]);
  const max = Number(readTextIfExists("/proc/sys/kernel/pid_max") ?? "0");
  if (Number.isFinite(tasks) && max > 0) out.tasks = { used: tasks, max };
  return out;
}

function runtimeLog(file: string, given = true): DiagnoseEvidence["startFailure"] {
  let text: string | undefined;
  try {
    text = readTextIfExists(file);
  } catch (err) {
    if (!given) return undefined;
    throw new BerthError(`cannot read ${file} (${(err as Error).message})`, { field: "--log" });
  }
  if (text === undefined) {
    if (!given) return undefined;
    throw new BerthError(`cannot read ${file}; give the file the runtime was started with --log`, { field: "--log" });
  }
  const line = lastError(text);
  return line ? { source: file, failure: classifyStartFailure(line.msg) } : undefined;
}

/**
 * @example await gatherEvidence("web", { root: "/run/berth", sampleSeconds: 2 })
 */
export async function gatherEvidence(target: string, opts: GatherOptions): Promise<DiagnoseEvidence> {
  const { subject, gone, record } = subjectOf(target, opts);
  const ended = opts.exitCode === undefined ? record?.exit : undefined;
  // the engine's own copy of the runtime's log, when the user gave none: why it never ran
  const engineLog = opts.log === undefined && record?.runtimeLog !== undefined && record.exit === undefined ? runtimeLog(record.runtimeLog, false) : undefined;
  const { layout } = detectHostCgroups();
  const state = /^[\w+.-]+$/.test(subject?.id ?? target) ? readState(opts.root, subject?.id ?? target) : undefined;
  const base: DiagnoseEvidence = {
    subject: gone ?? {
      kind: subject!.kind, id: subject!.id, name: subject!.name, ...(subject!.runtime && { runtime: subject!.runtime }), ...(subject!.engine && { engine: subject!.engine }),
      cgroup: subject!.cgroup, pid: subject!.pid, running: subject!.pids.length > 0,
    },
    mode: layout.mode, levels: [], kernelOoms: null, window: 0,
    ...(state && { runtimeState: { file: `${opts.root}/${state.id}/state.json`, status: statusOf(opts.root, state) } }),
    ...(opts.exitCode !== undefined && { exit: { code: opts.exitCode, source: "--exit-code" } }),
    ...(ended && { exit: exitEvidence(ended) }),
    ...(opts.log !== undefined && { startFailure: runtimeLog(opts.log) }),
    ...(engineLog && { startFailure: engineLog }),
    ...(!engineLog && opts.log === undefined && record?.neverStarted && { neverStarted: { ...record.neverStarted, ...(record.runtimeLog && { log: record.runtimeLog }) } }),
    node: nodeEvidence(opts.disks),
  };
  if (base.startFailure === undefined) delete base.startFailure;
  // a container discovery still sees (its cgroup is there) but with no process left
  if (!base.exit && subject?.kind === "container" && subject.pids.length === 0) {
    const found = engineRecord({ runtime: subject.runtime, id: subject.id }, opts.engines);
    if (found?.exit) base.exit = exitEvidence(found.exit);
  }
  const kmsg = readKernelLog();
  if (kmsg) {
    // the records' clock is time since boot: put the kills on the engines' wall clock
    const boot = Date.now() - Number((readTextIfExists("/proc/uptime") ?? "0").split(" ")[0]) * 1000;
    base.kernelOoms = oomKillsIn(kmsg.filter((r) => r.includes("oom-kill:"))).map((k) => (k.usec === undefined ? k : { ...k, at: boot + k.usec / 1000 }));
    const first = kmsg[0] === undefined ? undefined : parseKmsgRecord(kmsg[0]);
    if (first) base.kernelLogSince = boot + first.usec / 1000;
  }
  if (!subject) return base;
  let cg: CgroupManager;
  try {
    cg = cgroupOfSubject(subject);
  } catch {
    return base;
  }
  if (!cg.exists() && subject.kind !== "process") return base;
  const running = base.subject.running;
  const first = takeSample(subject, cg);
  const netBefore = running ? netCounters(subject.pid) : undefined;
  // the namespace's checks (a DNS probe may wait its timeout) run during the sample window
  const netns = running ? netnsEvidence(subject, opts.engines?.berth ?? enginePaths()) : undefined;
  if (running && opts.sampleSeconds > 0) await Bun.sleep(opts.sampleSeconds * 1000);
  const last = running && opts.sampleSeconds > 0 ? takeSample(subject, cg) : first;
  // with no window, rates are over the container's life: the first sample is "nothing yet"
  const origin = last === first ? { at: first.at, stats: {}, net: null } : first;
  const rec = statsRecord(subject, origin, last, { hostMemory: 0 });
  const s = last.stats;
  const b = origin.stats;
  base.window = rec.window;
  base.levels = levelsOf(s, memoryMount(cg, s));
  if (s.cpu && rec.cpu) {
    base.cpu = {
      file: `${dirFor(cg, "cpu")}/cpu.stat`, limitCpus: s.cpu.limitCpus ?? null, periods: rec.cpu.periods, throttled: rec.cpu.throttledPeriods,
      throttledSeconds: rec.cpu.throttledSeconds, usedCpus: rec.window > 0 ? rec.cpu.percent / 100 : 0,
      ...(rec.window > 0 && { wantsCpus: rec.cpu.percent / 100 + rec.cpu.throttledSeconds / rec.window }),
      ...(running && { runnable: runnableThreads(cg.pids()) }),
    };
  }
  if (s.psi) {
    base.psi = (["cpu", "memory", "io"] as const).flatMap((resource) => {
      const p = s.psi?.[resource];
      if (!p) return [];
      const stalled = (p.some.total - (b.psi?.[resource]?.some.total ?? 0)) / 1e6;
      return [{ file: `${cg.dirs().unified}/${resource}.pressure`, resource, someAvg10: p.some.avg10, ...(p.full && { fullAvg10: p.full.avg10 }), stalledSeconds: stalled }];
    });
  }
  const m = s.memory;
  if (m?.events) {
    base.memEvents = {
      file: `${dirFor(cg, "memory")}/memory.events`, high: m.events.high, max: m.events.max, highLimit: m.high ?? null,
      highDelta: m.events.high - (b.memory?.events?.high ?? 0), maxDelta: m.events.max - (b.memory?.events?.max ?? 0),
    };
  } else if (m?.failcnt !== undefined) {
    base.failcnt = { file: `${dirFor(cg, "memory")}/memory.failcnt`, total: m.failcnt, delta: m.failcnt - (b.memory?.failcnt ?? 0) };
  }
  if (s.io && rec.window > 0) {
    const sum = (x: CgroupStats, k: "readBytes" | "writeBytes" | "readOps" | "writeOps") => (x.io ?? []).reduce((n, d) => n + d[k], 0);
    const rate = (k: "readBytes" | "writeBytes" | "readOps" | "writeOps") => (sum(s, k) - sum(b, k)) / rec.window;
    const v1 = dirFor(cg, "blkio") !== cg.dirs().unified;
    base.io = { file: `${dirFor(cg, v1 ? "blkio" : "io")}/${v1 ? "blkio.throttle.io_service_bytes_recursive" : "io.stat"}`, readBps: rate("readBytes"), writeBps: rate("writeBytes"), readIops: rate("readOps"), writeIops: rate("writeOps") };
  }
  if (s.pids) {
    base.pids = { file: `${dirFor(cg, "pids")}/pids.events`, current: s.pids.current, limit: s.pids.limit ?? null, failures: s.pids.eventsMax ?? 0, failuresDelta: (s.pids.eventsMax ?? 0) - (b.pids?.eventsMax ?? 0) };
  }
  if (running && cg.frozen()) {
    const freezer = dirFor(cg, "freezer");
    const v1 = freezer !== undefined && freezer !== cg.dirs().unified;
    base.paused = v1 ? { file: `${freezer}/freezer.state`, value: "FROZEN" } : { file: `${cg.dirs().unified}/cgroup.events`, value: "frozen 1" };
  }
  if (running) {
    base.dState = cg.pids().map((pid) => ({ pid, stat: readProcStat(pid) })).filter((p) => p.stat?.state === "D").map((p) => ({ pid: p.pid, comm: p.stat!.comm }));
    const net = netEvidence(subject.pid, netBefore, netCounters(subject.pid));
    if (net) base.net = net;
    const inside = await netns;
    if (inside) base.netns = inside;
  }
  return base;
}
