/**
 * `berth diagnose`: the seed's runbooks as verdicts. Given what the reader
 * (diagnose-gather.ts) found — the cgroup's counters at each level, two samples over a
 * window, the kernel's OOM reports, the runtime's log, the network namespace's counters
 * — say what happened first, then the evidence (file and value), then what to change.
 * Pure.
 *
 * Which limit an OOM kill hit:
 * - v2: memory.events is hierarchical. `oom_kill` rises at the victim's cgroup and every
 *   ancestor; `oom` rises at the cgroup whose limit was hit and its ancestors. So the
 *   innermost level with `oom` > 0 is the one whose limit was hit; a container with
 *   oom_kill > 0 but oom = 0 was killed for an ancestor's limit.
 * - v1: memory.oom_control's oom_kill counts only kills whose victim sat in that very
 *   cgroup, and nothing names the level; the kernel log's `oom_memcg=` does.
 * The kernel log, when readable, is preferred on both: it names the level per kill.
 */
import { networkFindings, type NetnsEvidence } from "./diagnose-network.ts";
import { classifyCgroupPath } from "./discovery.ts";
import { explainExit } from "./exit-codes.ts";
import { isWithin, type OomKill } from "./oom-log.ts";
import type { StartFailure } from "./start-failure.ts";

export interface LevelEvidence {
  /** cgroup path of the level */
  path: string;
  /** the file the kill counts come from (memory.events on v2, memory.oom_control on v1) */
  eventsFile: string;
  limitFile: string;
  limit: number | null;
  usage: number;
  peak?: number;
  /** v2 only: hierarchical memory.events `oom` (the limit was hit here or below) */
  oom?: number;
  oomKill: number;
}

export interface DiagnoseEvidence {
  /** runtime: discovery's word (an engine, or "berth" for berth-runtime); engine: the engine berth-runtime made it for */
  subject: { kind: string; id: string; name: string; runtime?: string; engine?: string; cgroup: string; pid: number; running: boolean };
  mode: "v1" | "v2" | "hybrid";
  /** the container's memory level first, then each ancestor */
  levels: LevelEvidence[];
  /** every kill in the kernel log (oomFinding picks the subject's); null: log unreadable */
  kernelOoms: OomKill[] | null;
  /** when the kernel log's oldest record was written (ms since the epoch): what it can still tell */
  kernelLogSince?: number;
  /** from --exit-code, or the engine's record of a stopped container (engine-exits.ts) */
  exit?: { code: number; source: string; oomKilled?: boolean; detail?: string; finishedAt?: string; startedAt?: string };
  /** its cgroup is frozen (v1 freezer.state FROZEN, v2 cgroup.events frozen 1): the file that says so */
  paused?: { file: string; value: string };
  runtimeState?: { file: string; status: string };
  startFailure?: { source: string; failure: StartFailure };
  /** the engine created it and never started it, and its copy of the runtime's log says nothing (or there is none) */
  neverStarted?: { source: string; status: string; log?: string };
  /** seconds between the two samples (0: one sample, totals only) */
  window: number;
  /**
   * usedCpus is capped at the limit, so it cannot show demand; wantsCpus can: usage plus
   * the time its runnable threads were held back (throttled time sums every CPU's), per second
   */
  cpu?: { file: string; limitCpus: number | null; periods: number; throttled: number; throttledSeconds: number; usedCpus: number; wantsCpus?: number; runnable?: number };
  psi?: { file: string; resource: "cpu" | "memory" | "io"; someAvg10: number; fullAvg10?: number; stalledSeconds: number }[];
  memEvents?: { file: string; high: number; max: number; highDelta: number; maxDelta: number; highLimit: number | null };
  /** v1: times usage hit memory.limit_in_bytes during the window */
  failcnt?: { file: string; total: number; delta: number };
  io?: { file: string; readBps: number; writeBps: number; readIops: number; writeIops: number };
  dState?: { pid: number; comm: string }[];
  pids?: { file: string; current: number; limit: number | null; failures: number; failuresDelta: number };
  net?: {
    pid: number;
    drops: { rx: number; tx: number; rxDelta: number; txDelta: number };
    tcp?: { retrans: number; outSegs: number; retransDelta: number; outSegsDelta: number };
    conntrack?: { entries: number; max: number; drop: number };
  };
  /** what the host's tools saw inside its network namespace (a running container with one of its own) */
  netns?: NetnsEvidence;
  node?: {
    disks: { path: string; freePct: number; inodesFreePct: number }[];
    memAvailablePct?: number;
    tasks?: { used: number; max: number };
  };
}

export type FindingKind =
  | "oom-killed" | "exited" | "wont-start" | "not-running" | "paused"
  | "throttled" | "pressure" | "memory-reclaim" | "io-wait" | "fork-failures" | "network" | "node-pressure"
  | "link-down" | "no-route" | "packet-drops" | "dns-unreachable"
  | "healthy";

export interface Finding {
  kind: FindingKind;
  /** fail: the reason it died or will not start; warn: a reason it is slow; ok: nothing found */
  severity: "fail" | "warn" | "ok";
  summary: string;
  evidence: string[];
  fix: string[];
  data?: Record<string, unknown>;
}

export interface Diagnosis {
  target: DiagnoseEvidence["subject"];
  /** the first finding's summary */
  verdict: string;
  findings: Finding[];
}

const MiB = 1024 * 1024;
const size = (n: number | null | undefined) =>
  n === null || n === undefined ? "max" : n >= MiB ? `${+(n / MiB).toFixed(1)}MiB` : n >= 1024 ? `${+(n / 1024).toFixed(1)}KiB` : `${n}B`;
const pct = (n: number) => `${+n.toFixed(1)}%`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Thresholds of the "is slow" runbook: below them a counter is evidence, not a verdict. */
export const SLOW = {
  /** share of CFS periods throttled in the window */
  throttledPct: 5,
  /** PSI some avg10, percent */
  psiAvg10: 10,
  /** pids.current / pids.max */
  pidsNearMax: 0.9,
  /** TCP retransmits / segments sent in the window */
  retransPct: 1,
  conntrackFull: 0.9,
  diskFreePct: 10,
  memAvailablePct: 10,
  tasksNearMax: 0.9,
};

/** How far the kernel log's clock (time since boot, put on the wall clock) and an engine's may disagree. */
const CLOCK_SLACK_MS = 2000;

const when = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

/**
 * The kernel log's kills of a container whose cgroup is gone: those whose task_memcg
 * names the container (its id, as the engines name cgroups: discovery.ts) at a time
 * between its last start and its exit.
 */
function killsOfGone(e: DiagnoseEvidence): OomKill[] {
  const finished = e.exit?.finishedAt ? Date.parse(e.exit.finishedAt) : undefined;
  const started = e.exit?.startedAt ? Date.parse(e.exit.startedAt) : undefined;
  // where the engine recorded it put the container, else what the engines name their cgroups after (the id)
  const recorded = e.subject.cgroup.startsWith("/") ? e.subject.cgroup : undefined;
  return (e.kernelOoms ?? []).filter((k) => {
    if (!(recorded !== undefined && isWithin(k.taskMemcg, recorded)) && classifyCgroupPath(k.taskMemcg)?.id !== e.subject.id) return false;
    if (k.at === undefined) return true;
    if (finished !== undefined && k.at > finished + CLOCK_SLACK_MS) return false;
    return started === undefined || k.at >= started - CLOCK_SLACK_MS;
  });
}

/** An OOM kill of a container whose cgroup went with it: the kernel log's word alone. */
function goneOomFinding(e: DiagnoseEvidence): Finding | undefined {
  const kills = killsOfGone(e);
  const last = kills.at(-1);
  if (!last) return undefined;
  const recorded = e.subject.cgroup.startsWith("/") ? e.subject.cgroup : undefined;
  const container = recorded !== undefined && isWithin(last.taskMemcg, recorded) ? recorded : classifyCgroupPath(last.taskMemcg)!.cgroup;
  const evidence = kills.map((k) => `kernel log${k.at !== undefined ? ` at ${when(k.at)}` : ""}: oom-kill:constraint=${k.constraint},oom_memcg=${k.oomMemcg ?? "-"},task_memcg=${k.taskMemcg},task=${k.task},pid=${k.pid}`);
  evidence.push(`matched to ${e.subject.name} by ${container === recorded ? "the cgroup its engine recorded" : "the id in task_memcg"} (${container})${e.exit?.finishedAt ? ` and the time: it exited at ${e.exit.finishedAt}` : ""}`);
  if (e.exit) evidence.push(`${e.exit.source}: exit code ${e.exit.code}`);
  evidence.push("its cgroup was removed when it exited: the level's limit and peak are gone with it");
  const victims = `killed ${[...new Set(kills.map((k) => `${k.task} (pid ${k.pid})`))].join(", ")}`;
  const killsText = plural(kills.length, "OOM kill");
  if (last.constraint !== "CONSTRAINT_MEMCG" || last.oomMemcg === undefined) {
    return {
      kind: "oom-killed", severity: "fail", evidence, data: { kills: kills.length, levelIs: "host" },
      summary: `OOM-killed by the host's own OOM killer (${killsText}, constraint ${last.constraint}): the machine ran out of memory, not a cgroup limit; ${victims}`,
      fix: ["the node is overcommitted: lower other workloads' memory, add memory or swap, or set memory limits so a cgroup hits its own limit first"],
    };
  }
  const level = last.oomMemcg;
  // a limit inside the container's cgroup (crun's `container` leaf) is still the container's own
  const own = isWithin(level, container);
  return {
    kind: "oom-killed", severity: "fail", evidence, data: { kills: kills.length, level, levelIs: own ? "container" : "parent" },
    summary: `OOM-killed at ${own ? `its own memory limit (${level})` : `a parent's memory limit (${level})`}: ${killsText}; ${victims}`,
    fix: own
      ? ["raise the container's memory limit (--memory; podman/docker update --memory) above what it uses, or make the program use less"]
      : [`the parent ${level} is full: raise its limit or move or shrink its other children; the container's own limit was not reached`],
  };
}

function oomFinding(e: DiagnoseEvidence): Finding | undefined {
  if (e.levels.length === 0 && !e.subject.running) return goneOomFinding(e);
  const own = e.levels[0];
  const v2 = own?.oom !== undefined;
  const counted = own?.oomKill ?? 0;
  // the kernel log may still hold kills of an earlier cgroup at the same path: keep the newest
  // the memory hierarchy's path of the container: the one the kernel log names
  const here = own?.path ?? e.subject.cgroup;
  const logged = (e.kernelOoms ?? []).filter((k) => isWithin(k.taskMemcg, here));
  const strictlyBelow = logged.filter((k) => k.taskMemcg !== here);
  const fromLog = counted > 0 ? logged.slice(-counted) : v2 ? [] : strictlyBelow;
  const kills = Math.max(counted, fromLog.length);
  if (kills === 0 || !own) return undefined;
  const evidence = [`${own.eventsFile}: oom_kill ${own.oomKill}${v2 ? ` (oom ${own.oom})` : ""}`];
  for (const l of e.levels.slice(1)) {
    evidence.push(`${l.eventsFile}: oom_kill ${l.oomKill}${l.oom !== undefined ? ` (oom ${l.oom})` : " (v1: kills of its own processes only)"}; ${l.limitFile} ${size(l.limit)}`);
  }
  for (const k of fromLog) {
    evidence.push(`kernel log: oom-kill:constraint=${k.constraint},oom_memcg=${k.oomMemcg ?? "-"},task_memcg=${k.taskMemcg},task=${k.task},pid=${k.pid}`);
  }
  // The level whose limit was hit: the kernel's word first, then the v2 counters.
  let levelPath: string | undefined;
  let how = "";
  const global = fromLog.length > 0 && fromLog.every((k) => k.constraint !== "CONSTRAINT_MEMCG");
  if (fromLog.length > 0 && !global) {
    const last = fromLog.findLast((k) => k.constraint === "CONSTRAINT_MEMCG");
    levelPath = last?.oomMemcg;
    how = "the kernel log's oom_memcg";
  } else if (v2 && !global) {
    levelPath = e.levels.find((l) => (l.oom ?? 0) > 0)?.path;
    how = "the innermost memory.events with oom > 0";
  }
  const level = e.levels.find((l) => l.path === levelPath);
  const data: Record<string, unknown> = { kills, ...(levelPath !== undefined && { level: levelPath, levelIs: levelPath === own.path ? "container" : "parent" }) };
  if (level) Object.assign(data, { limit: level.limit, peak: level.peak ?? null, usage: level.usage });
  const killsText = plural(kills, "OOM kill");
  const victims = fromLog.length > 0 ? `; killed ${[...new Set(fromLog.map((k) => `${k.task} (pid ${k.pid})`))].join(", ")}` : "";
  if (global) {
    return {
      kind: "oom-killed", severity: "fail", data: { ...data, levelIs: "host" },
      summary: `OOM-killed by the host's own OOM killer (${killsText}, constraint ${fromLog.at(-1)!.constraint}): the machine ran out of memory, not a cgroup limit${victims}`,
      evidence, fix: ["the node is overcommitted: lower other workloads' memory, add memory or swap, or set memory limits so a cgroup hits its own limit first"],
    };
  }
  if (!levelPath) {
    return {
      kind: "oom-killed", severity: "fail", data,
      summary: `OOM-killed (${killsText} in ${own.eventsFile}); the level whose limit was hit is not known: the kernel log is unreadable and cgroup v1 counts kills only where the victim was${victims}`,
      evidence, fix: ["read the kernel log as root (dmesg | grep oom-kill:) for oom_memcg=, then raise that level's limit or lower the program's memory use"],
    };
  }
  const where = levelPath === own.path ? "its own memory limit" : `a parent's memory limit (${levelPath})`;
  const figures = level ? ` ${level.limitFile} ${size(level.limit)}, peak ${level.peak !== undefined ? size(level.peak) : "n/a"}` : "";
  evidence.unshift(`level whose limit was hit (from ${how}): ${levelPath}`);
  return {
    kind: "oom-killed", severity: "fail", data,
    summary: `OOM-killed at ${where}: ${killsText};${figures}${victims}`,
    evidence,
    fix: levelPath === own.path
      ? [`raise the container's memory limit (${level?.limitFile ?? "memory.max"}; e.g. --memory, berth-runtime update --memory) above its peak, or make the program use less`]
      : [`the parent ${levelPath} is full: raise its limit (${level?.limitFile ?? "memory.max"}) or move or shrink its other children; the container's own limit was not reached`],
  };
}

function exitFinding(e: DiagnoseEvidence, oom: Finding | undefined): Finding | undefined {
  if (!e.exit || e.subject.running) return undefined;
  const m = explainExit(e.exit.code);
  const detail = [e.exit.detail, e.exit.finishedAt && `finished ${e.exit.finishedAt}`].filter(Boolean).join(", ");
  const evidence = [`${e.exit.source}: exit code ${e.exit.code}${m.signal ? ` (128 + ${m.signal})` : ""}${detail ? ` (${detail})` : ""}`];
  if (oom) return undefined; // the OOM verdict says it; the code is consistent with it
  if (e.exit.oomKilled) {
    // the engine saw the kill; the counters that would name the level left with the cgroup
    return {
      kind: "oom-killed", severity: "fail",
      summary: `OOM-killed (recorded by the engine, exit code ${e.exit.code}); the level whose limit was hit is not known: its cgroup is gone and the kernel log does not name it`,
      evidence, data: { exitCode: e.exit.code, source: e.exit.source },
      fix: ["read the kernel log as root (dmesg | grep oom-kill:) for oom_memcg=, then raise that level's memory limit or lower the program's memory use"],
    };
  }
  if (m.signal === "SIGKILL" && !e.levels[0]) {
    const unknown = oomUnknown(e);
    if (unknown) {
      evidence.push(unknown);
      return {
        kind: "exited", severity: "fail", evidence, data: { exitCode: e.exit.code, signal: m.signal, oomKilled: "unknown" },
        summary: `killed with SIGKILL; whether by the OOM killer is unknown: ${unknown}`,
        fix: ["ask the engine (podman inspect --format '{{.State.OOMKilled}}', docker inspect, kubectl describe: reason OOMKilled) or the host's persistent log (journalctl -k | grep oom-kill:); set --memory so a kill is counted in the container's own cgroup"],
      };
    }
  }
  const notOom = e.levels[0]
    ? `no oom_kill in ${e.levels[0].eventsFile}`
    : e.kernelLogSince !== undefined
      ? `no oom-kill for it in the kernel log, which reaches back to ${when(e.kernelLogSince)}${e.exit.startedAt ? `, before it started (${e.exit.startedAt})` : ""}`
      : "its cgroup is gone and the kernel log cannot be read";
  evidence.push(notOom);
  const summary = m.signal === "SIGKILL"
    ? `not an OOM kill: killed with SIGKILL by someone else (${notOom}): kill -9, an engine's stop timeout, or the kubelet`
    : e.exit.code === 0
      ? "not an OOM kill: exited by itself with code 0 (success)"
      : `not an OOM kill: exited by itself with code ${e.exit.code} — ${m.meaning}`;
  return {
    kind: "exited", severity: e.exit.code === 0 ? "ok" : "fail", summary, evidence, data: { exitCode: e.exit.code, ...(m.signal && { signal: m.signal }) },
    fix: e.exit.code === 0 ? [] : m.signal ? ["find who sent the signal: the engine's events and logs (berth events), the kubelet's"] : ["read the container's own output (its log) for why it exited"],
  };
}

/**
 * Why nothing can say whether a container with no cgroup left was OOM-killed, or
 * undefined when the kernel log covers its whole life (then no oom-kill line is a no).
 */
function oomUnknown(e: DiagnoseEvidence): string | undefined {
  const gone = "its cgroup, which counted OOM kills, was removed when it exited (podman, docker, containerd and the kubelet remove it)";
  if (e.kernelOoms === null || e.kernelLogSince === undefined) return `${gone}, and the kernel log cannot be read here (it takes root with CAP_SYSLOG when kernel.dmesg_restrict is 1)`;
  const started = e.exit?.startedAt ? Date.parse(e.exit.startedAt) : undefined;
  if (started === undefined) return `${gone}, and when it started is not recorded, so the kernel log (from ${when(e.kernelLogSince)}) may not reach back to the kill`;
  if (e.kernelLogSince > started) return `${gone}, and the kernel log's ring buffer has wrapped: its oldest record (${when(e.kernelLogSince)}) is newer than the container's start (${e.exit!.startedAt})`;
  return undefined;
}

function pausedFinding(e: DiagnoseEvidence): Finding | undefined {
  if (!e.paused || !e.subject.running) return undefined;
  return {
    kind: "paused", severity: "warn",
    summary: "paused: its cgroup is frozen, so its processes do not run until it is resumed — not slow, not waiting on disk",
    evidence: [`${e.paused.file}: ${e.paused.value}`],
    fix: ["resume it with the engine that paused it: podman unpause, docker unpause, ctr task resume, berth-runtime resume ID"],
    data: { file: e.paused.file },
  };
}

function startFinding(e: DiagnoseEvidence): Finding | undefined {
  const never = e.neverStarted;
  if (!e.startFailure && never) {
    return {
      kind: "wont-start", severity: "fail",
      summary: `won't start: the engine created it but it never ran (last event "${never.status}"), and ${never.log ? "the runtime's log it kept holds no error" : "the engine kept no log of the runtime's error"}`,
      evidence: [`${never.source}: no start event`, ...(never.log ? [`${never.log}: no error line`] : [])],
      fix: [never.log
        ? "start it again and read the engine's error (podman start NAME), or give that output with --log"
        : "conmon gives the runtime a --log only when its name is in containers.conf's runtime_supports_json (add \"berth-runtime\" or your runtime's name: docs/clients.md); meanwhile start it again (podman start NAME) and give its error with --log"],
      data: { status: never.status },
    };
  }
  if (!e.startFailure) return undefined;
  const f = e.startFailure.failure;
  return {
    kind: "wont-start", severity: "fail",
    summary: `won't start: the ${f.engine ? "engine" : "runtime"} failed in phase "${f.phase}"${f.field ? ` at ${f.field}` : ""} — ${f.explanation}`,
    evidence: [`${e.startFailure.source}: ${f.message}`, ...(e.runtimeState ? [`${e.runtimeState.file}: status ${e.runtimeState.status}`] : [])],
    fix: [f.fix],
    data: { phase: f.phase, exitCode: f.exitCode, ...(f.field && { field: f.field }), message: f.message },
  };
}

function slowFindings(e: DiagnoseEvidence): Finding[] {
  const out: Finding[] = [];
  const during = e.window > 0 ? ` over ${+e.window.toFixed(1)}s` : " since it started";
  let c = e.cpu;
  if (c && c.periods > 0) {
    const share = (100 * c.throttled) / c.periods;
    if (share >= SLOW.throttledPct) {
      // the larger figure: on a busy host the cgroup may not get even its quota, and then only its runnable threads show demand
      const byTime = c.wantsCpus;
      // rounded once, so the text's one decimal and data's two never disagree (2.0501 → "2.1" beside 2.05 → "2.0")
      const wantsCpus = byTime === undefined && c.runnable === undefined ? undefined : +Math.max(byTime ?? 0, c.runnable ?? 0).toFixed(2);
      c = { ...c, ...(wantsCpus !== undefined && { wantsCpus }) };
      const wants = c.wantsCpus === undefined ? "" : `, wants ≈ ${+c.wantsCpus.toFixed(1)}`;
      out.push({
        kind: "throttled", severity: "warn",
        summary: `CPU-throttled: ${pct(share)} of CFS periods${during} (${c.throttled} of ${c.periods}), ${+c.throttledSeconds.toFixed(3)}s held back; limit ${c.limitCpus ?? "none"} CPUs, using ${+c.usedCpus.toFixed(2)}${wants}`,
        evidence: [
          `${c.file}: nr_throttled +${c.throttled}, nr_periods +${c.periods}, throttled time +${+c.throttledSeconds.toFixed(3)}s`,
          ...(byTime === undefined ? [] : [`demand: (usage ${+(c.usedCpus * e.window).toFixed(3)}s + throttled ${+c.throttledSeconds.toFixed(3)}s) / ${+e.window.toFixed(1)}s ≈ ${+byTime.toFixed(2)} CPUs (usage alone stops at the limit)`]),
          ...(c.runnable === undefined ? [] : [`/proc/PID/task/*/stat: ${plural(c.runnable, "thread")} runnable (R) — each would use a CPU`]),
        ],
        fix: [c.wantsCpus === undefined
          ? "raise the CPU limit (--cpus; cpu.max / cpu.cfs_quota_us), or make it do less work per period; sample for a while (--sample 5) to see how much it wants"
          : `raise the CPU limit (--cpus; cpu.max / cpu.cfs_quota_us) towards the ≈ ${+c.wantsCpus.toFixed(1)} CPUs it wants, or make it do less work per period`],
        data: { throttledPercent: +share.toFixed(2), periods: c.periods, throttledPeriods: c.throttled, throttledSeconds: c.throttledSeconds, limitCpus: c.limitCpus, ...(c.wantsCpus !== undefined && { wantsCpus: c.wantsCpus }) },
      });
    }
  }
  for (const p of e.psi ?? []) {
    if (p.someAvg10 < SLOW.psiAvg10) continue;
    out.push({
      kind: "pressure", severity: "warn",
      summary: `${p.resource} pressure: some task stalled ${pct(p.someAvg10)} of the last 10s${p.fullAvg10 !== undefined ? ` (all tasks ${pct(p.fullAvg10)})` : ""}`,
      evidence: [`${p.file}: some avg10=${p.someAvg10}${p.fullAvg10 !== undefined ? ` full avg10=${p.fullAvg10}` : ""}, stalled +${+p.stalledSeconds.toFixed(3)}s${during}`],
      fix: [p.resource === "cpu" ? "more CPU (limit or host), or fewer runnable threads" : p.resource === "memory" ? "more memory (the limit is forcing reclaim), or a smaller working set" : "faster storage, fewer writers, or a higher io.max"],
      data: { resource: p.resource, someAvg10: p.someAvg10 },
    });
  }
  const m = e.memEvents;
  if (m && (m.highDelta > 0 || m.maxDelta > 0)) {
    out.push({
      kind: "memory-reclaim", severity: "warn",
      summary: `memory-bound: reclaimed at memory.high ${plural(m.highDelta, "time")} and at memory.max ${plural(m.maxDelta, "time")}${during}`,
      evidence: [`${m.file}: high ${m.high} (+${m.highDelta}), max ${m.max} (+${m.maxDelta}); memory.high ${size(m.highLimit)}`],
      fix: ["raise memory.high / memory.max, or lower the working set: the kernel is reclaiming its pages on every allocation"],
      data: { highDelta: m.highDelta, maxDelta: m.maxDelta },
    });
  }
  if (e.failcnt && e.failcnt.delta > 0) {
    out.push({
      kind: "memory-reclaim", severity: "warn",
      summary: `memory-bound: usage hit the memory limit ${plural(e.failcnt.delta, "time")}${during}`,
      evidence: [`${e.failcnt.file}: ${e.failcnt.total} (+${e.failcnt.delta})`],
      fix: ["raise memory.limit_in_bytes, or lower the working set"],
      data: { failcntDelta: e.failcnt.delta },
    });
  }
  if (e.dState && e.dState.length > 0) {
    out.push({
      kind: "io-wait", severity: "warn",
      summary: `${plural(e.dState.length, "task")} in uninterruptible sleep (D): waiting on disk or a filesystem`,
      evidence: e.dState.map((t) => `/proc/${t.pid}/stat: state D (${t.comm})`).concat(e.io ? [`${e.io.file}: read ${size(e.io.readBps)}/s, write ${size(e.io.writeBps)}/s${during}`] : []),
      fix: ["check the host's disk latency (iostat -x) and io.pressure; move heavy writes off the container's writable layer to a volume"],
      data: { tasks: e.dState.length },
    });
  }
  const p = e.pids;
  if (p && (p.failures > 0 || (p.limit !== null && p.limit > 0 && p.current / p.limit >= SLOW.pidsNearMax))) {
    out.push({
      kind: "fork-failures", severity: p.failures > 0 ? "fail" : "warn",
      summary: p.failures > 0
        ? `fork failures: ${plural(p.failures, "fork")} refused at pids.max ${p.limit ?? "max"} (${p.current} tasks now)`
        : `near pids.max: ${p.current} of ${p.limit} tasks`,
      evidence: [`${p.file}: pids.current ${p.current}, pids.max ${p.limit ?? "max"}, pids.events max ${p.failures}${p.failuresDelta > 0 ? ` (+${p.failuresDelta}${during})` : ""}`],
      fix: ["raise pids.max (--pids-limit) if the task count is expected, else find the leak or the fork storm (berth top)"],
      data: { failures: p.failures, current: p.current, limit: p.limit },
    });
  }
  // by PID: whichever engine made it, enter finds it by that
  if (e.netns) out.push(...networkFindings(e.netns, `berth enter -n ${e.netns.pid} --`));
  const n = e.net;
  if (n) {
    const ev: string[] = [];
    const issues: string[] = [];
    if (n.drops.rxDelta + n.drops.txDelta > 0 || (e.window === 0 && n.drops.rx + n.drops.tx > 0)) {
      issues.push(`${n.drops.rxDelta + n.drops.txDelta || n.drops.rx + n.drops.tx} packets dropped`);
      ev.push(`/proc/${n.pid}/net/dev: rx dropped ${n.drops.rx}, tx dropped ${n.drops.tx}`);
    }
    if (n.tcp && n.tcp.outSegsDelta > 0 && (100 * n.tcp.retransDelta) / n.tcp.outSegsDelta >= SLOW.retransPct) {
      issues.push(`${pct((100 * n.tcp.retransDelta) / n.tcp.outSegsDelta)} of TCP segments retransmitted`);
      ev.push(`/proc/${n.pid}/net/snmp: Tcp RetransSegs +${n.tcp.retransDelta} of OutSegs +${n.tcp.outSegsDelta}`);
    }
    const ct = n.conntrack;
    if (ct && ct.max > 0 && (ct.entries / ct.max >= SLOW.conntrackFull || ct.drop > 0)) {
      issues.push(`conntrack table ${ct.entries} of ${ct.max}${ct.drop > 0 ? `, ${ct.drop} new connections dropped` : ""}`);
      ev.push(`/proc/${n.pid}/net/stat/nf_conntrack: entries ${ct.entries}, drop ${ct.drop}; /proc/sys/net/netfilter/nf_conntrack_max ${ct.max}`);
    }
    if (issues.length > 0) {
      out.push({
        kind: "network", severity: "warn", summary: `network trouble in its namespace: ${issues.join("; ")}`, evidence: ev,
        fix: ["check MTU along the path, the host's qdisc and veth drops (ip -s link), and raise net.netfilter.nf_conntrack_max if it is full"],
      });
    }
  }
  const node = e.node;
  if (node) {
    const issues: string[] = [];
    const ev: string[] = [];
    for (const d of node.disks) {
      if (d.freePct < SLOW.diskFreePct || d.inodesFreePct < SLOW.diskFreePct) issues.push(`${d.path} ${pct(d.freePct)} space, ${pct(d.inodesFreePct)} inodes free`);
      ev.push(`statfs ${d.path}: ${pct(d.freePct)} space free, ${pct(d.inodesFreePct)} inodes free`);
    }
    if (node.memAvailablePct !== undefined) {
      if (node.memAvailablePct < SLOW.memAvailablePct) issues.push(`${pct(node.memAvailablePct)} memory available`);
      ev.push(`/proc/meminfo: MemAvailable ${pct(node.memAvailablePct)} of MemTotal`);
    }
    if (node.tasks) {
      if (node.tasks.used / node.tasks.max >= SLOW.tasksNearMax) issues.push(`${node.tasks.used} of ${node.tasks.max} pids used`);
      ev.push(`/proc/loadavg: ${node.tasks.used} tasks; /proc/sys/kernel/pid_max ${node.tasks.max}`);
    }
    if (issues.length > 0) {
      out.push({ kind: "node-pressure", severity: "warn", summary: `the node is under pressure: ${issues.join("; ")}`, evidence: ev, fix: ["free disk space and inodes (images, logs), memory or pids on the host; this hits every container"] });
    }
  }
  return out;
}

/**
 * @example diagnose(evidence).verdict // → "OOM-killed at its own memory limit: 1 OOM kill; memory.max 32MiB, peak 32MiB"
 */
export function diagnose(e: DiagnoseEvidence): Diagnosis {
  const findings: Finding[] = [];
  const start = startFinding(e);
  if (start) findings.push(start);
  const oom = oomFinding(e);
  if (oom) findings.push(oom);
  const exit = exitFinding(e, oom);
  if (exit) findings.push(exit);
  if (!e.subject.running && !start && !oom && !exit) {
    findings.push({
      kind: "not-running", severity: "warn",
      summary: e.exit === undefined ? "not running, no OOM kill counted; its exit code is unknown here" : "not running",
      evidence: [...(e.runtimeState ? [`${e.runtimeState.file}: status ${e.runtimeState.status}`] : []), ...(e.levels[0] ? [`${e.levels[0].eventsFile}: oom_kill ${e.levels[0].oomKill}`] : [])],
      fix: ["give the exit code from the engine (podman inspect --format '{{.State.ExitCode}}', kubectl describe) with --exit-code, or the runtime's log with --log; berth reads it itself from docker's config.v2.json, containerd CRI's status file and podman's events.log (--docker-root, --containerd-root, --podman-events when not at their defaults)"],
    });
  }
  const paused = pausedFinding(e);
  if (paused) findings.push(paused);
  // frozen tasks look stuck (D state on v1) but are not slow: only the node's findings still count
  if (paused) findings.push(...slowFindings({ ...e, cpu: undefined, psi: undefined, memEvents: undefined, failcnt: undefined, dState: undefined, pids: undefined, net: undefined, netns: undefined }));
  else if (e.subject.running) findings.push(...slowFindings(e));
  else if (e.node) findings.push(...slowFindings({ ...e, cpu: undefined, psi: undefined, memEvents: undefined, failcnt: undefined, dState: undefined, pids: undefined, net: undefined, netns: undefined }));
  if (findings.length === 0) {
    findings.push({
      kind: "healthy", severity: "ok",
      summary: `no problem found${e.window > 0 ? ` over ${+e.window.toFixed(1)}s` : ""}: not throttled, no pressure, no OOM kill, no fork failure`,
      evidence: [], fix: [],
    });
  }
  const rank = { fail: 0, warn: 1, ok: 2 };
  findings.sort((a, b) => rank[a.severity] - rank[b.severity]);
  return { target: e.subject, verdict: findings[0]!.summary, findings };
}

/** The human report: verdict first, then each finding's evidence and what to change. */
export function formatDiagnosis(d: Diagnosis): string {
  const t = d.target;
  // engine and runtime, each what it is (podman --runtime berth-runtime is both)
  const engine = t.runtime === "berth" ? t.engine : t.runtime;
  const who = [engine && `engine ${engine}`, t.runtime === "berth" && "runtime berth-runtime"].filter(Boolean).join(", ");
  const named = t.name === t.cgroup ? `${t.kind} ${t.cgroup}` : `${t.kind} ${t.name}${who ? ` (${who})` : ""}  cgroup ${t.cgroup}`;
  const out = [`${named}  ${t.running ? `pid ${t.pid}` : "not running"}`, "", `verdict: ${d.verdict}`];
  for (const f of d.findings) {
    out.push("", `[${f.severity}] ${f.summary}`);
    for (const e of f.evidence) out.push(`  evidence: ${e}`);
    for (const x of f.fix) out.push(`  change:   ${x}`);
  }
  return out.join("\n");
}
