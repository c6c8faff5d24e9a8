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
  subject: { kind: string; id: string; name: string; runtime?: string; cgroup: string; pid: number; running: boolean };
  mode: "v1" | "v2" | "hybrid";
  /** the container's memory level first, then each ancestor */
  levels: LevelEvidence[];
  /** kills from the kernel log whose victim was in the subject's cgroup or below; null: log unreadable */
  kernelOoms: OomKill[] | null;
  /** from --exit-code, or the engine's record of a stopped container (engine-exits.ts) */
  exit?: { code: number; source: string; oomKilled?: boolean; detail?: string; finishedAt?: string };
  runtimeState?: { file: string; status: string };
  startFailure?: { source: string; failure: StartFailure };
  /** seconds between the two samples (0: one sample, totals only) */
  window: number;
  cpu?: { file: string; limitCpus: number | null; periods: number; throttled: number; throttledSeconds: number; usedCpus: number };
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
  node?: {
    disks: { path: string; freePct: number; inodesFreePct: number }[];
    memAvailablePct?: number;
    tasks?: { used: number; max: number };
  };
}

export type FindingKind =
  | "oom-killed" | "exited" | "wont-start" | "not-running"
  | "throttled" | "pressure" | "memory-reclaim" | "io-wait" | "fork-failures" | "network" | "node-pressure"
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

function oomFinding(e: DiagnoseEvidence): Finding | undefined {
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
  const notOom = e.levels[0] ? `no oom_kill in ${e.levels[0].eventsFile}` : "no memory cgroup to count OOM kills";
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

function startFinding(e: DiagnoseEvidence): Finding | undefined {
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
  const c = e.cpu;
  if (c && c.periods > 0) {
    const share = (100 * c.throttled) / c.periods;
    if (share >= SLOW.throttledPct) {
      out.push({
        kind: "throttled", severity: "warn",
        summary: `CPU-throttled: ${pct(share)} of CFS periods${during} (${c.throttled} of ${c.periods}), ${+c.throttledSeconds.toFixed(3)}s held back; limit ${c.limitCpus ?? "none"} CPUs, using ${+c.usedCpus.toFixed(2)}`,
        evidence: [`${c.file}: nr_throttled +${c.throttled}, nr_periods +${c.periods}, throttled time +${+c.throttledSeconds.toFixed(3)}s`],
        fix: [`raise the CPU limit (--cpus; cpu.max / cpu.cfs_quota_us) above the ${+c.usedCpus.toFixed(2)} CPUs it wants, or make it do less work per period`],
        data: { throttledPercent: +share.toFixed(2), periods: c.periods, throttledPeriods: c.throttled, throttledSeconds: c.throttledSeconds, limitCpus: c.limitCpus },
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
  if (e.subject.running) findings.push(...slowFindings(e));
  else if (e.node) findings.push(...slowFindings({ ...e, cpu: undefined, psi: undefined, memEvents: undefined, failcnt: undefined, dState: undefined, pids: undefined, net: undefined }));
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
  const named = t.name === t.cgroup ? `${t.kind} ${t.cgroup}` : `${t.kind} ${t.name}${t.runtime ? ` (${t.runtime})` : ""}  cgroup ${t.cgroup}`;
  const out = [`${named}  ${t.running ? `pid ${t.pid}` : "not running"}`, "", `verdict: ${d.verdict}`];
  for (const f of d.findings) {
    out.push("", `[${f.severity}] ${f.summary}`);
    for (const e of f.evidence) out.push(`  evidence: ${e}`);
    for (const x of f.fix) out.push(`  change:   ${x}`);
  }
  return out.join("\n");
}
