/**
 * The verdict logic on fixtures: which level's limit an OOM kill hit on v2 (from the
 * counters) and v1 (from the kernel log), exits that are not OOM kills, and each "is
 * slow" reason at and below its threshold.
 */
import { describe, expect, test } from "bun:test";
import { diagnose, formatDiagnosis, SLOW, type DiagnoseEvidence, type LevelEvidence } from "./diagnose.ts";
import type { OomKill } from "./oom-log.ts";
import { classifyStartFailure } from "./start-failure.ts";

const MiB = 1024 * 1024;
const v2Level = (path: string, o: Partial<LevelEvidence> = {}): LevelEvidence => ({
  path, eventsFile: `/sys/fs/cgroup${path}/memory.events`, limitFile: "memory.max", limit: null, usage: 0, oom: 0, oomKill: 0, ...o,
});
const v1Level = (path: string, o: Partial<LevelEvidence> = {}): LevelEvidence => ({
  path, eventsFile: `/sys/fs/cgroup/memory${path}/memory.oom_control`, limitFile: "memory.limit_in_bytes", limit: null, usage: 0, oomKill: 0, ...o,
});
const base = (o: Partial<DiagnoseEvidence> = {}): DiagnoseEvidence => ({
  subject: { kind: "container", id: "abc", name: "web", runtime: "podman", cgroup: "/pod/web", pid: 0, running: false },
  mode: "v2", levels: [], kernelOoms: null, window: 0, ...o,
});
const kill = (oom: string, task: string, constraint = "CONSTRAINT_MEMCG") => ({ constraint, oomMemcg: oom, taskMemcg: task, task: "dd", pid: 42, uid: 0 });

describe("OOM kills: which limit", () => {
  test("v2, own limit: the innermost level with oom > 0 is the container", () => {
    const d = diagnose(base({ levels: [v2Level("/pod/web", { limit: 32 * MiB, peak: 32 * MiB, oom: 1, oomKill: 1 }), v2Level("/pod", { oom: 1, oomKill: 1 })] }));
    expect(d.findings[0]).toMatchObject({ kind: "oom-killed", data: { kills: 1, level: "/pod/web", levelIs: "container", limit: 32 * MiB, peak: 32 * MiB } });
    expect(d.verdict).toBe("OOM-killed at its own memory limit: 1 OOM kill; memory.max 32MiB, peak 32MiB");
    expect(d.findings[0]!.evidence[0]).toBe("level whose limit was hit (from the innermost memory.events with oom > 0): /pod/web");
  });
  test("v2, parent's limit: the container counts the kill but no oom; the parent does", () => {
    const d = diagnose(base({ levels: [v2Level("/pod/web", { oomKill: 2 }), v2Level("/pod", { limit: 64 * MiB, oom: 2, oomKill: 2, peak: 64 * MiB })] }));
    expect(d.findings[0]!.data).toMatchObject({ kills: 2, level: "/pod", levelIs: "parent", limit: 64 * MiB });
    expect(d.verdict).toStartWith("OOM-killed at a parent's memory limit (/pod): 2 OOM kills;");
  });
  test("v1: the kernel log's oom_memcg names the parent; only the newest kills as many as counted", () => {
    const e = base({
      mode: "v1", subject: { ...base().subject, cgroup: "/pod/web" },
      levels: [v1Level("/pod/web", { oomKill: 1, limit: 128 * MiB }), v1Level("/pod", { limit: 32 * MiB, peak: 32 * MiB })],
      kernelOoms: [kill("/pod/web", "/pod/web"), kill("/pod", "/pod/web"), kill("/other", "/other")],
    });
    const d = diagnose(e);
    expect(d.findings[0]!.data).toMatchObject({ kills: 1, level: "/pod", levelIs: "parent", limit: 32 * MiB });
    expect(d.findings[0]!.evidence).toContain("kernel log: oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/pod,task_memcg=/pod/web,task=dd,pid=42");
  });
  test("v1 without the kernel log: killed, the level unknown, and how to find it", () => {
    const d = diagnose(base({ mode: "v1", levels: [v1Level("/pod/web", { oomKill: 1 })] }));
    expect(d.verdict).toStartWith("OOM-killed (1 OOM kill in /sys/fs/cgroup/memory/pod/web/memory.oom_control); the level whose limit was hit is not known");
  });
  test("a global OOM is the host's, not a cgroup limit", () => {
    const d = diagnose(base({ levels: [v2Level("/pod/web", { oomKill: 1 })], kernelOoms: [{ ...kill("", "/pod/web", "CONSTRAINT_NONE"), oomMemcg: undefined }] }));
    expect(d.findings[0]!.data).toMatchObject({ levelIs: "host" });
    expect(d.verdict).toStartWith("OOM-killed by the host's own OOM killer");
  });
});

describe("after the container is gone: its cgroup went with it, the kernel log and the engine's record remain", () => {
  const ID = "7076fb29ef4fff57881bf63ca0a64e377638f5a7c7e102399475ca799d5b1b7c";
  const cg = `/libpod_parent/libpod-${ID}`;
  const started = Date.parse("2026-12-06T08:00:00Z");
  const exit = { code: 137, source: "/run/libpod/events/events.log", startedAt: "2026-12-06T08:00:00Z", finishedAt: "2026-12-06T08:00:10Z" };
  const gone = (o: Partial<DiagnoseEvidence>) => base({ subject: { kind: "container", id: ID, name: "oom", runtime: "podman", cgroup: "-", pid: 0, running: false }, exit, kernelLogSince: started - 3600_000, ...o });
  const at = (ms: number, k: OomKill) => ({ ...k, at: started + ms });

  test("the kill whose task_memcg names its id, between its start and its exit: at its own limit", () => {
    const d = diagnose(gone({ kernelOoms: [at(5000, kill(cg, cg)), at(5000, kill("/libpod_parent/libpod-other", "/libpod_parent/libpod-other"))] }));
    expect(d.verdict).toBe(`OOM-killed at its own memory limit (${cg}): 1 OOM kill; killed dd (pid 42)`);
    expect(d.findings[0]!.data).toEqual({ kills: 1, level: cg, levelIs: "container" });
    expect(d.findings[0]!.evidence[0]).toBe(`kernel log at 2026-12-06T08:00:05Z: oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=${cg},task_memcg=${cg},task=dd,pid=42`);
    expect(d.findings.map((f) => f.kind)).toEqual(["oom-killed"]);
  });

  test("a parent's limit, a limit in a leaf below it (crun's container/), the host's OOM", () => {
    expect(diagnose(gone({ kernelOoms: [at(1, kill("/libpod_parent", cg))] })).verdict).toStartWith("OOM-killed at a parent's memory limit (/libpod_parent): 1 OOM kill");
    expect(diagnose(gone({ kernelOoms: [at(1, kill(`${cg}/container`, `${cg}/container`))] })).findings[0]!.data).toMatchObject({ levelIs: "container" });
    expect(diagnose(gone({ kernelOoms: [at(1, { constraint: "CONSTRAINT_NONE", taskMemcg: cg, task: "dd", pid: 42, uid: 0 })] })).verdict).toStartWith("OOM-killed by the host's own OOM killer");
  });

  test("a kill outside its life (an earlier run of the same id, or after it exited) is not its", () => {
    for (const ms of [-60_000, 60_000]) {
      const d = diagnose(gone({ kernelOoms: [at(ms, kill(cg, cg))] }));
      expect(d.findings[0]!.kind).toBe("exited");
      expect(d.verdict).toStartWith("not an OOM kill: killed with SIGKILL by someone else (no oom-kill for it in the kernel log, which reaches back to 2026-12-06T07:00:00Z, before it started (2026-12-06T08:00:00Z))");
    }
  });

  test("the evidence is gone: unknown, and why — never \"not\"", () => {
    const unreadable = diagnose(gone({ kernelOoms: null, kernelLogSince: undefined }));
    expect(unreadable.verdict).toBe("killed with SIGKILL; whether by the OOM killer is unknown: its cgroup, which counted OOM kills, was removed when it exited (podman, docker, containerd and the kubelet remove it), and the kernel log cannot be read here (it takes root with CAP_SYSLOG when kernel.dmesg_restrict is 1)");
    expect(unreadable.findings[0]!.data).toMatchObject({ oomKilled: "unknown" });
    const wrapped = diagnose(gone({ kernelOoms: [], kernelLogSince: started + 1000 }));
    expect(wrapped.verdict).toEndWith("the kernel log's ring buffer has wrapped: its oldest record (2026-12-06T08:00:01Z) is newer than the container's start (2026-12-06T08:00:00Z)");
    const noStart = diagnose(gone({ kernelOoms: [], exit: { ...exit, startedAt: undefined } }));
    expect(noStart.verdict).toContain("whether by the OOM killer is unknown");
    // an exit by itself is still its own exit
    expect(diagnose(gone({ kernelOoms: null, kernelLogSince: undefined, exit: { ...exit, code: 3 } })).verdict).toStartWith("not an OOM kill: exited by itself with code 3");
  });
});

describe("paused", () => {
  test("a frozen cgroup is paused, whatever D state and throttling say", () => {
    const running = { ...base().subject, pid: 42, running: true };
    const d = diagnose(base({ subject: running, paused: { file: "/sys/fs/cgroup/freezer/pod/web/freezer.state", value: "FROZEN" }, dState: [{ pid: 42, comm: "sh" }], window: 1, cpu: { file: "f", limitCpus: 1, periods: 10, throttled: 10, throttledSeconds: 1, usedCpus: 0 } }));
    expect(d.findings.map((f) => f.kind)).toEqual(["paused"]);
    expect(d.findings[0]!.evidence).toEqual(["/sys/fs/cgroup/freezer/pod/web/freezer.state: FROZEN"]);
  });
});

describe("exits that are not OOM kills", () => {
  test("a code of its own, a SIGKILL from someone, success, unknown", () => {
    const levels = [v2Level("/pod/web")];
    expect(diagnose(base({ levels, exit: { code: 1, source: "--exit-code" } })).verdict).toBe("not an OOM kill: exited by itself with code 1 — a general error reported by the program");
    expect(diagnose(base({ levels, exit: { code: 137, source: "--exit-code" } })).verdict).toStartWith("not an OOM kill: killed with SIGKILL by someone else (no oom_kill in /sys/fs/cgroup/pod/web/memory.events)");
    expect(diagnose(base({ levels, exit: { code: 0, source: "--exit-code" } })).findings[0]).toMatchObject({ kind: "exited", severity: "ok" });
    expect(diagnose(base({ levels })).findings[0]).toMatchObject({ kind: "not-running", summary: "not running, no OOM kill counted; its exit code is unknown here" });
  });
  test("an engine's record: its file and words are the evidence; its OOMKilled counts when the cgroup is gone", () => {
    const exited = diagnose(base({ exit: { code: 3, source: "/var/lib/docker/containers/abc/config.v2.json", finishedAt: "2026-11-24T01:00:00Z" } }));
    expect(exited.verdict).toBe("not an OOM kill: exited by itself with code 3 — the program's own exit code: see its documentation or logs");
    expect(exited.findings[0]!.evidence[0]).toBe("/var/lib/docker/containers/abc/config.v2.json: exit code 3 (finished 2026-11-24T01:00:00Z)");
    const oom = diagnose(base({ exit: { code: 137, source: "/c/status", oomKilled: true, detail: "OOMKilled" } }));
    expect(oom.findings[0]).toMatchObject({ kind: "oom-killed", severity: "fail", data: { exitCode: 137, source: "/c/status" } });
    expect(oom.verdict).toStartWith("OOM-killed (recorded by the engine, exit code 137); the level whose limit was hit is not known");
    expect(oom.findings[0]!.evidence).toEqual(["/c/status: exit code 137 (128 + SIGKILL) (OOMKilled)"]);
    // the kernel's own count wins over the engine's flag: the level is named
    const counted = diagnose(base({ levels: [v2Level("/pod/web", { limit: 32 * MiB, oom: 1, oomKill: 1 })], exit: { code: 137, source: "/c/status", oomKilled: true } }));
    expect(counted.findings.map((f) => f.kind)).toEqual(["oom-killed"]);
    expect(counted.verdict).toStartWith("OOM-killed at its own memory limit: 1 OOM kill;");
  });
  test("won't start comes first, with the phase and the engine's exit code", () => {
    const failure = classifyStartFailure('process.args[0]: "x": executable file not found in $PATH: no such file or directory');
    const d = diagnose(base({ startFailure: { source: "/tmp/log", failure } }));
    expect(d.findings[0]).toMatchObject({ kind: "wont-start", data: { phase: "exec", exitCode: 127, field: "process.args[0]" } });
  });
});

describe("is it slow", () => {
  const running = (o: Partial<DiagnoseEvidence>) => base({ subject: { ...base().subject, pid: 7, running: true }, window: 2, ...o });
  test("throttling at and below the threshold", () => {
    const cpu = { file: "/cg/cpu.stat", limitCpus: 0.1, periods: 20, throttled: 20, throttledSeconds: 1.8, usedCpus: 0.1 };
    const d = diagnose(running({ cpu }));
    expect(d.findings[0]).toMatchObject({ kind: "throttled", data: { throttledPercent: 100, periods: 20, throttledPeriods: 20 } });
    expect(d.verdict).toBe("CPU-throttled: 100% of CFS periods over 2s (20 of 20), 1.8s held back; limit 0.1 CPUs, using 0.1");
    // the demand: usage + throttled time per second (throttled time sums each CPU's), or the runnable threads when larger
    const wants = diagnose(running({ cpu: { ...cpu, usedCpus: 0.2, throttledSeconds: 3.4, wantsCpus: 0.2 + 3.4 / 2 } }));
    expect(wants.verdict).toBe("CPU-throttled: 100% of CFS periods over 2s (20 of 20), 3.4s held back; limit 0.1 CPUs, using 0.2, wants ≈ 1.9");
    expect(wants.findings[0]!.fix[0]).toBe("raise the CPU limit (--cpus; cpu.max / cpu.cfs_quota_us) towards the ≈ 1.9 CPUs it wants, or make it do less work per period");
    expect(wants.findings[0]!.evidence[1]).toBe("demand: (usage 0.4s + throttled 3.4s) / 2s ≈ 1.9 CPUs (usage alone stops at the limit)");
    const busyHost = diagnose(running({ cpu: { ...cpu, wantsCpus: 0.3, runnable: 2 } }));
    expect(busyHost.findings[0]!.data).toMatchObject({ wantsCpus: 2 });
    expect(busyHost.findings[0]!.evidence).toContain("/proc/PID/task/*/stat: 2 threads runnable (R) — each would use a CPU");
    const below = diagnose(running({ cpu: { ...cpu, throttled: 0 } }));
    expect(below.findings.map((f) => f.kind)).toEqual(["healthy"]);
    expect(SLOW.throttledPct).toBeGreaterThan(0);
  });
  test("pressure, reclaim, D state, pids, network, node", () => {
    const d = diagnose(running({
      psi: [{ file: "/cg/memory.pressure", resource: "memory", someAvg10: 42, fullAvg10: 10, stalledSeconds: 0.8 }, { file: "/cg/io.pressure", resource: "io", someAvg10: 1, stalledSeconds: 0 }],
      memEvents: { file: "/cg/memory.events", high: 9, max: 3, highDelta: 5, maxDelta: 0, highLimit: 64 * MiB },
      dState: [{ pid: 9, comm: "dd" }],
      pids: { file: "/cg/pids.events", current: 19, limit: 20, failures: 0, failuresDelta: 0 },
      net: { pid: 7, drops: { rx: 5, tx: 0, rxDelta: 5, txDelta: 0 }, tcp: { retrans: 10, outSegs: 100, retransDelta: 10, outSegsDelta: 100 }, conntrack: { entries: 95, max: 100, drop: 0 } },
      node: { disks: [{ path: "/var/lib", freePct: 3, inodesFreePct: 50 }], memAvailablePct: 50, tasks: { used: 10, max: 100 } },
    }));
    expect(d.findings.map((f) => f.kind)).toEqual(["pressure", "memory-reclaim", "io-wait", "fork-failures", "network", "node-pressure"]);
    expect(d.findings.find((f) => f.kind === "fork-failures")!.summary).toBe("near pids.max: 19 of 20 tasks");
    expect(d.findings.find((f) => f.kind === "network")!.summary).toBe("network trouble in its namespace: 5 packets dropped; 10% of TCP segments retransmitted; conntrack table 95 of 100");
    expect(d.findings.find((f) => f.kind === "node-pressure")!.summary).toBe("the node is under pressure: /var/lib 3% space, 50% inodes free");
  });
  test("the report: verdict first, then evidence and changes", () => {
    const text = formatDiagnosis(diagnose(running({ pids: { file: "/cg/pids.events", current: 20, limit: 20, failures: 4, failuresDelta: 4 } })));
    expect(text.split("\n")).toEqual([
      "container web (engine podman)  cgroup /pod/web  pid 7", "", "verdict: fork failures: 4 forks refused at pids.max 20 (20 tasks now)", "",
      "[fail] fork failures: 4 forks refused at pids.max 20 (20 tasks now)",
      "  evidence: /cg/pids.events: pids.current 20, pids.max 20, pids.events max 4 (+4 over 2s)",
      "  change:   raise pids.max (--pids-limit) if the task count is expected, else find the leak or the fork storm (berth top)",
    ]);
  });
});
