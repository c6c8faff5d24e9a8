/**
 * The behavioural suite every CgroupManager must pass, run for real against the kernel:
 * `v1.test.ts` on a v1/hybrid host, `v2.test.ts` on a pure v2 host (cgv2-vm in CI).
 * Each test writes limits, runs a real process in the cgroup and asserts what the
 * kernel did. Every cgroup made here is removed in afterEach, even when a test fails.
 */
import { afterEach, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { BerthError } from "../errors.ts";
import { spawnGated } from "../sys/gated-spawn.ts";
import type { CgroupLayout } from "./layout.ts";
import { openCgroup } from "./open-cgroup.ts";
import type { CgroupManager } from "./manager.ts";

/** Generous: the v2 suite runs under TCG emulation, 20–100× slower than the host. */
export const SLOW = 120_000;

let serial = 0;
const made: CgroupManager[] = [];
const roots: string[] = [];

/** A fresh cgroup path for one test, under a per-process test root. */
export function testPath(name: string): string {
  const root = `/berth-test-${process.pid}`;
  if (!roots.includes(root)) roots.push(root);
  return `${root}/${name}-${++serial}`;
}

export function track(cg: CgroupManager): CgroupManager {
  made.push(cg);
  return cg;
}

afterEach(() => {
  for (const cg of made.splice(0)) {
    try {
      if (cg.exists()) {
        cg.kill("SIGKILL");
        cg.destroy({ timeoutMs: 5000 });
      }
    } catch (err) {
      console.error(`cleanup of ${cg.path} failed: ${(err as Error).message}`);
    }
  }
  // The per-process root (and any parent the test made) goes too.
  for (const root of roots) {
    const probe = openCgroup(root);
    for (const dir of Object.values(probe.dirs())) {
      try {
        if (existsSync(dir)) rmdirSync(dir);
      } catch {
        // still has a child from another test in this file: removed after that one
      }
    }
  }
});

/** [major, minor] of the first whole-disk block device, if the machine has one. */
export function firstBlockDevice(): [number, number] | undefined {
  for (const name of readdirSync("/sys/block")) {
    if (/^(loop|ram|zram)/.test(name)) continue;
    const [major, minor] = readFileSync(`/sys/block/${name}/dev`, "utf8").trim().split(":").map(Number);
    return [major!, minor!];
  }
  return undefined;
}

/** Run `script` with sh inside the cgroup (placed before it runs); returns code and stdout. */
export async function runIn(cg: CgroupManager, script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawnGated(["/bin/sh", "-c", script], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  cg.addProcess(child.pid);
  child.release();
  const [code, stdout, stderr] = await Promise.all([
    child.exited,
    new Response(child.proc.stdout as ReadableStream).text(),
    new Response(child.proc.stderr as ReadableStream).text(),
  ]);
  return { code, stdout, stderr };
}

/**
 * Wait until the cgroup holds `count` processes. Fixed sleeps are not enough: under the
 * v2 VM's emulation a fork can take 100 ms.
 */
export async function waitForPids(cg: CgroupManager, count: number, timeoutMs = 30_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = cg.pids();
    if (pids.length >= count || Date.now() > deadline) return pids;
    await Bun.sleep(20);
  }
}

/** Wait until `pid` runs `comm`: under a slow emulated CPU, `sh -c "exec …"` shows as sh for a while. */
async function waitForComm(pid: number, comm: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== comm && Date.now() < deadline) await Bun.sleep(20);
}

/** Start a long-running process in the cgroup; the caller kills it. */
export function startIn(cg: CgroupManager, script: string): number {
  const child = spawnGated(["/bin/sh", "-c", script], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  cg.addProcess(child.pid);
  child.release();
  return child.pid;
}

/** The file a limit lands in, for this layout: v1 names it per controller, v2 in the one dir. */
export interface LayoutFiles {
  read(cg: CgroupManager, controller: string, file: string): string;
}

export interface SuiteOptions {
  mode: CgroupLayout["mode"][];
  files: LayoutFiles;
  /** v1 or v2 names for the same limits */
  names: { cpuLimit: string; memoryLimit: string };
}

const MiB = 1024 * 1024;

export function runManagerSuite(opts: SuiteOptions): void {
  const { files } = opts;

  test("create makes the cgroup in every hierarchy and destroy removes it", () => {
    const cg = track(openCgroup(testPath("create")));
    expect(cg.exists()).toBe(false);
    cg.create();
    for (const dir of Object.values(cg.dirs())) expect(existsSync(`${dir}/cgroup.procs`)).toBe(true);
    cg.destroy();
    for (const dir of Object.values(cg.dirs())) expect(existsSync(dir)).toBe(false);
  }, SLOW);

  test("the docker --cpus=2 --memory=2g mapping lands in the kernel's files", () => {
    const cg = track(openCgroup(testPath("docker")));
    cg.create();
    cg.apply({ cpu: { quota: 200000, period: 100000 }, memory: { limit: 2 * 1024 ** 3 }, pids: { limit: 64 } });
    if (opts.names.cpuLimit === "cpu.max") {
      expect(files.read(cg, "cpu", "cpu.max").trim()).toBe("200000 100000");
      expect(files.read(cg, "memory", "memory.max").trim()).toBe("2147483648");
    } else {
      expect(files.read(cg, "cpu", "cpu.cfs_quota_us").trim()).toBe("200000");
      expect(files.read(cg, "cpu", "cpu.cfs_period_us").trim()).toBe("100000");
      expect(files.read(cg, "memory", "memory.limit_in_bytes").trim()).toBe("2147483648");
    }
    expect(files.read(cg, "pids", "pids.max").trim()).toBe("64");
  }, SLOW);

  test("a process that outgrows memory.limit is OOM-killed and counted", async () => {
    const cg = track(openCgroup(testPath("oom")));
    cg.create();
    cg.apply({ memory: { limit: 32 * MiB, swap: 32 * MiB } });
    // dd's 64 MiB buffer is touched by the read from /dev/zero: twice the limit.
    const r = await runIn(cg, "exec dd if=/dev/zero of=/dev/null bs=64M count=1");
    expect(r.code).toBe(137);
    const mem = cg.stats().memory!;
    expect(mem.oomKill).toBeGreaterThanOrEqual(1);
    expect(mem.limit).toBe(32 * MiB);
    expect(mem.levels[0]!.path).toBe(cg.path);
    if (mem.events) expect(mem.events.oom_kill).toBeGreaterThanOrEqual(1);
  }, SLOW);

  test("fork fails at pids.max and the failure is counted", async () => {
    const cg = track(openCgroup(testPath("pids")));
    cg.create();
    cg.apply({ pids: { limit: 4 } });
    // The shell itself is one task: the 4th background sleep cannot be forked.
    const r = await runIn(cg, "for i in 1 2 3 4 5 6 7 8; do sleep 2 >/dev/null 2>&1 & done; echo all-forked");
    const pids = cg.stats().pids!;
    expect(pids.limit).toBe(4);
    expect(pids.eventsMax).toBeGreaterThanOrEqual(1);
    expect(r.stdout).not.toContain("all-forked");
    expect(r.stderr).toMatch(/fork/i);
    // berth stats' reading (breakdown: false) keeps the limit and count, not pids.events
    const json = cg.stats({ breakdown: false, levels: false, hugetlb: false }).pids!;
    expect(json).toEqual({ current: pids.current, limit: 4 });
    // …and its table (limits: false) the count alone: pids.max is left unread
    expect(cg.stats({ breakdown: false, levels: false, hugetlb: false, limits: false }).pids).toEqual({ current: pids.current });
  }, SLOW);

  test("a busy loop under a small quota is throttled, and cpu.stat counts it", async () => {
    const cg = track(openCgroup(testPath("throttle")));
    cg.create();
    cg.apply({ cpu: { quota: 5000, period: 100000 } });
    await runIn(cg, "timeout 1 sh -c 'while :; do :; done'");
    const cpu = cg.stats().cpu!;
    expect(cpu.limitCpus).toBe(0.05);
    expect(cpu.nrPeriods).toBeGreaterThan(0);
    expect(cpu.nrThrottled).toBeGreaterThan(0);
    expect(cpu.throttledUsec).toBeGreaterThan(0);
    expect(cpu.userUsec! + cpu.systemUsec!).toBeGreaterThan(0);
    // The figures a stats table shows are the same without the breakdown; the user/system
    // split, swap, high/soft limit and failcnt are left unread.
    const table = cg.stats({ breakdown: false });
    expect(table.cpu).toMatchObject({ limitCpus: 0.05, nrPeriods: cpu.nrPeriods, nrThrottled: cpu.nrThrottled, throttledUsec: cpu.throttledUsec });
    expect(table.cpu!.usageUsec).toBeGreaterThanOrEqual(cpu.usageUsec);
    if (opts.names.cpuLimit !== "cpu.max") expect(table.cpu!.userUsec).toBeUndefined();
    const mem = table.memory!;
    expect(mem.high).toBeUndefined();
    expect(mem.failcnt).toBeUndefined();
    expect(mem.swapUsage).toBeUndefined();
    expect(typeof mem.oomKill).toBe("number");
    expect(mem.usage).toBeGreaterThanOrEqual(0);
    // berth stats' table (limits: false): no CPU limit or memory peak, the memory limit still there
    const bare = cg.stats({ breakdown: false, limits: false });
    expect(bare.cpu!.limitCpus).toBeUndefined();
    expect(bare.cpu!.nrThrottled).toBe(cpu.nrThrottled);
    expect(bare.memory!.peak).toBeUndefined();
    expect(bare.memory!.limit).toBe(mem.limit);
  }, SLOW);

  test("freeze stops a busy loop and thaw resumes it", async () => {
    const cg = track(openCgroup(testPath("freeze")));
    cg.create();
    startIn(cg, "while :; do :; done");
    await Bun.sleep(200);
    cg.freeze();
    expect(cg.frozen()).toBe(true);
    const a = cg.stats().cpu!.usageUsec;
    await Bun.sleep(300);
    const b = cg.stats().cpu!.usageUsec;
    expect(b - a).toBeLessThan(5000);
    cg.thaw();
    expect(cg.frozen()).toBe(false);
    // resumed: the loop's CPU time grows again (waited for, bounded — a busy host gives it less per second)
    let resumed = 0;
    for (let i = 0; i < 100 && resumed <= 20000; i++) {
      await Bun.sleep(100);
      resumed = cg.stats().cpu!.usageUsec - b;
    }
    expect(resumed).toBeGreaterThan(20000);
  }, SLOW);

  test("kill ends every process, including children, and pids() lists them first", async () => {
    const cg = track(openCgroup(testPath("kill")));
    cg.create();
    const pid = startIn(cg, "sleep 60 & sleep 60 & wait");
    const before = await waitForPids(cg, 3);
    expect(before).toContain(pid);
    expect(before.length).toBe(3);
    cg.kill();
    cg.destroy({ timeoutMs: 5000 });
    expect(cg.exists()).toBe(false);
  }, SLOW);

  test("destroy of a cgroup with a live process names the process", async () => {
    const cg = track(openCgroup(testPath("busy")));
    cg.create();
    const pid = startIn(cg, "exec sleep 60");
    await waitForPids(cg, 1);
    await waitForComm(pid, "sleep");
    expect(() => cg.destroy({ timeoutMs: 200 })).toThrow(new RegExp(`pid ${pid} \\(sleep\\) still in it`));
    expect(cg.exists()).toBe(true);
  }, SLOW);

  test("destroy waits for a process that is still exiting", async () => {
    const cg = track(openCgroup(testPath("exiting")));
    cg.create();
    const pid = startIn(cg, "exec sleep 60");
    await waitForPids(cg, 1);
    process.kill(pid, "SIGKILL");
    cg.destroy({ timeoutMs: 5000 });
    expect(cg.exists()).toBe(false);
  }, SLOW);

  test("a cpuset outside the host's CPUs is refused by name and a rolled-back create leaves nothing", () => {
    const cg = track(openCgroup(testPath("cpuset")));
    cg.create();
    let err: unknown;
    try {
      cg.apply({ cpu: { cpus: "0,4096" } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BerthError);
    expect((err as Error).message).toMatch(/^linux\.resources\.cpu\.cpus: CPU 4096 is not on this host/);
    cg.rollback();
    expect(cg.exists()).toBe(false);
  }, SLOW);

  test("cpuset limits where a process may run", async () => {
    const cg = track(openCgroup(testPath("cpus")));
    cg.create();
    cg.apply({ cpu: { cpus: "0" } });
    const r = await runIn(cg, "grep Cpus_allowed_list /proc/self/status");
    expect(r.stdout.trim()).toMatch(/Cpus_allowed_list:\s+0$/);
  }, SLOW);

  test("device rules deny /dev/zero while /dev/null stays usable", async () => {
    const cg = track(openCgroup(testPath("devices")));
    cg.create();
    cg.apply({
      devices: [
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
      ],
    });
    const r = await runIn(cg, "echo x > /dev/null && echo null-ok; head -c1 /dev/zero >/dev/null 2>&1 || echo zero-denied");
    expect(r.stdout).toBe("null-ok\nzero-denied\n");
  }, SLOW);

  // Throttles need a real block device; the v2 VM may have none (its root is 9p).
  const disk = firstBlockDevice();
  test.skipIf(!disk)("an I/O throttle on a real block device lands in blkio.throttle / io.max", () => {
    const cg = track(openCgroup(testPath("io")));
    cg.create();
    cg.apply({ blockIO: { throttleReadBpsDevice: [{ major: disk![0], minor: disk![1], rate: 1048576 }] } });
    const dev = `${disk![0]}:${disk![1]}`;
    if (opts.names.cpuLimit === "cpu.max") expect(files.read(cg, "io", "io.max")).toContain(`${dev} rbps=1048576 wbps=max riops=max wiops=max`);
    else expect(files.read(cg, "blkio", "blkio.throttle.read_bps_device").trim()).toBe(`${dev} 1048576`);
  }, SLOW);

  test("update of a running cgroup changes the limit in place", () => {
    const cg = track(openCgroup(testPath("update")));
    cg.create();
    cg.apply({ memory: { limit: 64 * MiB }, pids: { limit: 10 } });
    cg.apply({ memory: { limit: 128 * MiB }, pids: { limit: 20 } }, { update: true });
    expect(cg.stats().memory!.limit).toBe(128 * MiB);
    expect(cg.stats().pids!.limit).toBe(20);
  }, SLOW);

  test("stats read memory.stat figures and a working set of usage minus inactive_file", async () => {
    const cg = track(openCgroup(testPath("memstat")));
    cg.create();
    // The pid joins before it execs; memory is charged once `sleep` has touched pages.
    startIn(cg, "exec sleep 60");
    const deadline = Date.now() + 30_000;
    let m = cg.stats().memory!;
    while (m.usage === 0 && Date.now() < deadline) {
      await Bun.sleep(20);
      m = cg.stats().memory!;
    }
    expect(m.usage).toBeGreaterThan(0);
    expect(m.workingSet).toBe(Math.max(0, m.usage - m.inactiveFile));
    expect(Object.keys(m.stat).length).toBeGreaterThan(10);
  }, SLOW);

  test("cgroup pressure (PSI) is readable per cgroup", () => {
    const cg = track(openCgroup(testPath("psi")));
    cg.create();
    const psi = cg.stats().psi;
    expect(psi?.cpu?.some.avg10).toBeGreaterThanOrEqual(0);
    expect(psi?.memory?.some.total).toBeGreaterThanOrEqual(0);
  }, SLOW);
}
