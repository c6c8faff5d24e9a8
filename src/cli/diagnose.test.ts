/**
 * `berth diagnose` on the runbooks reproduced for real: a memory hog killed at its own
 * limit and at a parent's, a busy loop under 0.1 CPU, a fork bomb under pids.max, a
 * berth-runtime container whose binary is missing, and a podman (runc) container — each
 * verdict checked against the cgroup files and the kernel log the test reads itself.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectHostCgroups } from "../cgroups/layout.ts";
import { openCgroup } from "../cgroups/open-cgroup.ts";
import { readKernelLog } from "../observe/kmsg.ts";
import { oomKillsIn } from "../observe/oom-log.ts";
import { berth, CgroupFixture, MiB, readCgroupNumber, until } from "../../test/observe-fixture.ts";
import { hasPodman, podmanCleanup, podmanParentAbsent, podmanRun } from "../../test/podman-fixture.ts";
import { canRunContainers, RuntimeFixture, sharedRootfs } from "../../test/runtime-harness.ts";
import { canRunConmon, EngineFixture } from "../../test/engine-harness.ts";

setDefaultTimeout(120_000);
const { layout } = detectHostCgroups();
const v2 = layout.mode === "v2";
const fx = new CgroupFixture("diagnose");
const rt = new RuntimeFixture("diagnose");
afterAll(() => {
  fx.cleanup();
  rt.cleanup();
}, 60_000);

const diagnose = (...args: string[]) => {
  const r = berth("diagnose", "--json", ...args);
  expect(r.stderr).toBe("");
  // 1: a problem found (every case here stages one), 0: healthy
  expect(r.code).toBe(JSON.parse(r.stdout).findings.some((f: { severity: string }) => f.severity !== "ok") ? 1 : 0);
  return JSON.parse(r.stdout) as { verdict: string; target: Record<string, unknown>; findings: { kind: string; severity: string; summary: string; evidence: string[]; fix: string[]; data?: Record<string, unknown> }[] };
};
const finding = (d: ReturnType<typeof diagnose>, kind: string) => d.findings.find((f) => f.kind === kind);
const oomCount = (path: string) => (v2 ? readCgroupNumber(path, "memory.events", "oom_kill") : readCgroupNumber(path, "memory.oom_control", "oom_kill"));
/** The kernel's own report of the kills in `path`, read by the test (undefined: log unreadable). */
const loggedKills = (path: string) => {
  const log = readKernelLog();
  return log && oomKillsIn(log).filter((k) => k.taskMemcg === path);
};

describe("berth diagnose: was it OOM-killed, and at which level", () => {
  test("a memory hog under a 32 MiB limit: OOM-killed at the container's own limit, with the count, limit and peak", async () => {
    const { path, exited } = fx.start("own", ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"], { memory: { limit: 32 * MiB } });
    expect(await exited).toBe(137);
    expect(oomCount(path)).toBe(1);
    const d = diagnose("--exit-code", "137", path);
    expect(d.target).toMatchObject({ kind: "cgroup", cgroup: path, running: false });
    expect(d.findings[0]!.kind).toBe("oom-killed");
    expect(d.verdict).toStartWith("OOM-killed at its own memory limit: 1 OOM kill;");
    const f = finding(d, "oom-killed")!;
    expect(f.data).toMatchObject({ kills: 1, level: path, levelIs: "container", limit: 32 * MiB });
    expect(f.data!.peak).toBe(readCgroupNumber(path, v2 ? "memory.peak" : "memory.max_usage_in_bytes"));
    expect(f.evidence).toContain(`${layout.mode === "v2" ? layout.unified!.mountPoint : layout.v1.find((h) => h.controllers.includes("memory"))!.mountPoint}${path}/${v2 ? "memory.events" : "memory.oom_control"}: oom_kill 1${v2 ? ` (oom ${readCgroupNumber(path, "memory.events", "oom")})` : ""}`);
    const logged = loggedKills(path);
    if (logged) expect(f.evidence).toContain(`kernel log: oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=${path},task_memcg=${path},task=dd,pid=${logged.at(-1)!.pid}`);
    // the exit code agrees with the kill: no second "exited" verdict
    expect(finding(d, "exited")).toBeUndefined();
  });

  test("the same hog under a parent's 32 MiB limit: the parent is named, the container's own limit was not reached", async () => {
    const parent = fx.cgroup("parent", { memory: { limit: 32 * MiB } });
    const { path, exited } = fx.start("parent/child", ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]);
    expect(await exited).toBe(137);
    const d = diagnose(path);
    const f = finding(d, "oom-killed")!;
    expect(f.data).toMatchObject({ kills: 1, level: parent, levelIs: "parent", limit: 32 * MiB });
    expect(d.verdict).toStartWith(`OOM-killed at a parent's memory limit (${parent}): 1 OOM kill;`);
    expect(f.fix[0]).toStartWith(`the parent ${parent} is full`);
    // v1 counts the kill only where the victim was; v2 at every level up
    if (v2) expect(readCgroupNumber(parent, "memory.events", "oom_kill")).toBe(1);
    else expect(readCgroupNumber(parent, "memory.oom_control", "oom_kill")).toBe(0);
  });

  test("a process that exits by itself is not an OOM kill; SIGKILL without oom_kill is someone's kill -9", async () => {
    const { path, exited } = fx.start("exits", ["sh", "-c", "exit 3"], { memory: { limit: 32 * MiB } });
    expect(await exited).toBe(3);
    const d = diagnose("--exit-code", "3", path);
    expect(d.verdict).toBe("not an OOM kill: exited by itself with code 3 — the program's own exit code: see its documentation or logs");
    expect(finding(d, "exited")!.evidence).toContain("--exit-code: exit code 3");
    const killed = diagnose("--exit-code", "137", path);
    expect(killed.verdict).toStartWith("not an OOM kill: killed with SIGKILL by someone else (no oom_kill in ");
  });
});

describe("berth diagnose: is it slow", () => {
  test("a busy loop under 0.1 CPU: throttled, with the share of periods cpu.stat counted over the sample", () => {
    const { path } = fx.start("busy", ["sh", "-c", "while :; do :; done"], { cpu: { quota: 10_000, period: 100_000 } });
    const before = readCgroupNumber(path, "cpu.stat", "nr_throttled");
    const d = diagnose("--sample", "1", path);
    const f = finding(d, "throttled")!;
    expect(f).toBeDefined();
    const data = f.data as { throttledPercent: number; periods: number; throttledPeriods: number; limitCpus: number };
    expect(data.limitCpus).toBe(0.1);
    expect(data.throttledPeriods).toBeGreaterThan(0);
    expect(data.throttledPercent).toBe(Math.round((data.throttledPeriods / data.periods) * 10_000) / 100);
    expect(readCgroupNumber(path, "cpu.stat", "nr_throttled") - before).toBeGreaterThanOrEqual(data.throttledPeriods);
    expect(f.summary).toStartWith(`CPU-throttled: ${+data.throttledPercent.toFixed(1)}% of CFS periods over `);
  });

  test("a fork bomb under pids.max 16: fork failures counted from pids.events", async () => {
    const { path } = fx.start("forks", ["sh", "-c", "for i in $(seq 40); do sleep 1000 & done; wait"], { pids: { limit: 16 } });
    expect(await until(() => readCgroupNumber(path, "pids.events", "max") > 0, 20_000)).toBe(true);
    const d = diagnose("--sample", "0", path);
    const f = finding(d, "fork-failures")!;
    expect(f.severity).toBe("fail");
    const failures = f.data!.failures as number;
    expect(failures).toBeGreaterThan(0);
    expect(failures).toBeLessThanOrEqual(readCgroupNumber(path, "pids.events", "max"));
    expect(f.data!.limit).toBe(16);
    expect(f.summary).toStartWith(`fork failures: ${failures} fork${failures === 1 ? "" : "s"} refused at pids.max 16 (`);
  });

  test("errors are one line", () => {
    const r = berth("diagnose", "no-such-container-anywhere");
    expect(r.code).toBe(125);
    expect(r.stderr).toStartWith('berth: TARGET: no container, process or cgroup "no-such-container-anywhere" on this host');
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  });
});

describe.skipIf(!canRunContainers)("berth diagnose: won't start (berth-runtime)", () => {
  test("a missing binary: won't start, exit 127, the phase and field named from the runtime's --log", () => {
    const id = rt.id();
    const log = join(rt.dir, "runtime.log");
    const run = rt.rt(["run", "--bundle", rt.bundle(id, rt.spec(id, (s) => (s.process!.args = ["no-such-binary"]))), id], { globals: ["--log", log, "--log-format", "json"] });
    expect(run.code).toBe(1);
    // nothing is left of it but the log: the state directory went with the failed create
    expect(existsSync(join(rt.root, id))).toBe(false);
    const d = diagnose("--root", rt.root, "--log", log, id);
    expect(d.target).toMatchObject({ id, running: false });
    const f = finding(d, "wont-start")!;
    const logged = JSON.parse(readFileSync(log, "utf8").trim().split("\n").at(-1)!) as { msg: string };
    expect(f.data).toEqual({ phase: "exec", exitCode: 127, field: "process.args[0]", message: logged.msg });
    expect(d.verdict).toStartWith('won\'t start: the runtime failed in phase "exec" at process.args[0] — the command does not exist');
    expect(f.evidence[0]).toBe(`${log}: ${logged.msg}`);
  });
});

describe.skipIf(!hasPodman)("berth diagnose: won't start before any runtime ran (podman's image phases)", () => {
  // made when a test of this block runs, not when the file is collected (a skipped or
  // filtered-out block never runs its afterAll)
  let work = "";
  let tiny = "";
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "berth-diagnose-image-"));
    tiny = join(work, "tiny");
  });
  afterAll(() => {
    if (!work) return;
    Bun.spawnSync(["umount", tiny], { stderr: "ignore" });
    rmSync(work, { recursive: true, force: true });
  }, 60_000);
  /**
   * podman with a store of its own under `root`, which must fail with 125; then diagnose
   * with its stderr (what a user would paste into --log) and return the won't-start finding.
   */
  const failedPodman = (root: string, args: string[]) => {
    const r = Bun.spawnSync(["podman", "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--storage-driver", "vfs", "--root", root, "--runroot", join(work, "runroot"), ...args], { stdout: "ignore", stderr: "pipe", cwd: work });
    expect(r.exitCode).toBe(125);
    const log = join(work, `${args[0]}.err`);
    writeFileSync(log, r.stderr.toString());
    const d = diagnose("--log", log, "web");
    return { verdict: d.verdict, finding: finding(d, "wont-start")! };
  };

  test("a registry that does not answer: phase \"image pull\", exit 125, the registry's error", () => {
    const { verdict, finding: f } = failedPodman(join(work, "store"), ["run", "--rm", "127.0.0.1:1/nosuch:latest", "true"]);
    expect(f.data).toMatchObject({ phase: "image pull", exitCode: 125 });
    expect(f.data!.message).toStartWith("initializing source docker://127.0.0.1:1/nosuch:latest: pinging container registry 127.0.0.1:1");
    expect(verdict).toStartWith('won\'t start: the engine failed in phase "image pull" — the image could not be fetched');
  });

  test("a full disk under the store: phase \"unpack\", the layer write that failed", () => {
    mkdirSync(tiny);
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", tiny]).exitCode).toBe(0);
    const tar = join(work, "rootfs.tar"); // busybox alone is larger than the 600 KiB store
    expect(Bun.spawnSync(["tar", "-C", sharedRootfs(), "-cf", tar, "."]).exitCode).toBe(0);
    const { finding: f } = failedPodman(join(tiny, "root"), ["import", tar, "localhost/berth-tiny:1"]);
    expect(f.data).toMatchObject({ phase: "unpack", exitCode: 125 });
    expect(f.data!.message).toContain("no space left on device");
    expect(f.fix[0]).toStartWith("free space and inodes where the engine stores images");
  });
});

describe.skipIf(!hasPodman)("berth diagnose: a podman (runc) container", () => {
  const name = `berth-diagnose-${process.pid}`;
  const exited = `berth-diagnose-exit-${process.pid}`;
  const madeParent = podmanParentAbsent();
  afterAll(() => {
    podmanCleanup(exited, false);
    podmanCleanup(name, madeParent);
  }, 60_000);

  test("a stopped container: nothing left on the host, the exit code comes from podman's events.log", async () => {
    const { id, stderr } = podmanRun(exited, [], ["sh", "-c", "exit 3"]);
    expect(stderr).toBe("");
    const events = "/run/libpod/events/events.log"; // podman's default --tmpdir, file backend (PODMAN's --events-backend)
    const died = () => existsSync(events) && readFileSync(events, "utf8").split("\n").some((l) => l.includes(`"ID":"${id}"`) && l.includes('"Status":"died"'));
    expect(await until(died, 20_000)).toBe(true);
    // once podman's cleanup has the runtime remove its cgroup, discovery has nothing: the engine's record has the rest
    expect(await until(() => !openCgroup(`/libpod_parent/libpod-${id}`).exists(), 20_000)).toBe(true);
    for (const target of [exited, id, id.slice(0, 12)]) {
      const d = diagnose(target);
      expect(d.target).toMatchObject({ kind: "container", runtime: "podman", id, name: exited, running: false });
      expect(d.verdict).toBe("not an OOM kill: exited by itself with code 3 — the program's own exit code: see its documentation or logs");
      expect(finding(d, "exited")!.evidence[0]).toStartWith(`${events}: exit code 3 (finished `);
    }
    // --exit-code still overrides what the record says
    expect(diagnose("--exit-code", "0", exited).verdict).toBe("not an OOM kill: exited by itself with code 0 (success)");
  });

  test("discovered by name, and a hog killed inside it is an OOM kill at the container's 32 MiB limit", async () => {
    const { id, stderr } = podmanRun(name, ["--memory", "32m", "--memory-swap", "32m"], ["sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1; sleep 1000"]);
    expect(stderr).toBe("");
    const cgroup = `/libpod_parent/libpod-${id}`;
    expect(await until(() => oomCount(cgroup) === 1, 20_000)).toBe(true);
    const d = diagnose("--sample", "0", name);
    expect(d.target).toMatchObject({ kind: "container", runtime: "podman", id, name, cgroup, running: true });
    expect(finding(d, "oom-killed")!.data).toMatchObject({ kills: 1, level: cgroup, levelIs: "container", limit: 32 * MiB });
    expect(d.verdict).toStartWith("OOM-killed at its own memory limit: 1 OOM kill;");
  });
});

describe.skipIf(!canRunContainers || !canRunConmon)("berth diagnose: berth's own engine, asked after the container is gone", () => {
  const ex = canRunContainers && canRunConmon ? new EngineFixture("diag") : (undefined as unknown as EngineFixture);
  afterAll(() => ex?.cleanup(), 60_000);

  test("berth run --memory 32m of a hog: its record and the kernel log's kill at the cgroup the record says, its own limit", async () => {
    const id = ex.runDetached(["--name", "hog", "--memory", "32m", "--memory-swap", "32m"], ["tail", "/dev/zero"]);
    expect(ex.berth(["wait", id]).stdout).toBe("137\n");
    const cgroup = `${ex.cgroupParent}/${id}`;
    // the engine removes the runtime's container, and its cgroup, when it exits
    expect(await until(() => !openCgroup(cgroup).exists(), 20_000)).toBe(true);
    const r = ex.berth(["diagnose", "--json", "hog"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(1);
    const d = JSON.parse(r.stdout) as { verdict: string; target: Record<string, unknown>; findings: { kind: string; evidence: string[]; data?: Record<string, unknown> }[] };
    expect(d.target).toMatchObject({ kind: "container", runtime: "berth", id, name: "hog", cgroup, running: false });
    expect(d.findings[0]).toMatchObject({ kind: "oom-killed", data: { kills: 1, level: cgroup, levelIs: "container" } });
    expect(d.findings[0]!.evidence).toContain(`${ex.root}/containers/${id}/container.json: exit code 137`);
  }, 60_000);
});
