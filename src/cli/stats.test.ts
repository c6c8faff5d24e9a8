/**
 * `berth stats` on real processes in real cgroups: every figure is compared with the
 * cgroup file it comes from, read by the test itself.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { detectHostCgroups } from "../cgroups/layout.ts";
import { netTotals, parseNetDev } from "../observe/netdev.ts";
import { berth, CgroupFixture, hasCgroupFile, MiB, readCgroupNumber, until } from "../../test/observe-fixture.ts";

const SLOW = 60_000;
const { layout } = detectHostCgroups();
const v2 = layout.mode === "v2";
const fx = new CgroupFixture("stats");
afterAll(() => fx.cleanup());

const json = (...args: string[]) => {
  const r = berth("stats", "--no-stream", "--format", "json", "--interval", "200", ...args);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
};

describe("berth stats", () => {
  test("memory limit, pids and OOM kills equal the cgroup's files; the cgroup path and a PID in it agree", async () => {
    const { path, pid } = fx.start("mem", ["sh", "-c", "sleep 1000 & sleep 1000 & wait"], { memory: { limit: 32 * MiB }, pids: { limit: 50 } });
    // a hog OOM-killed at the cgroup's own limit
    const hog = fx.start("mem", ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]);
    expect(await hog.exited).toBe(137);
    expect(await until(() => readCgroupNumber(path, "pids.current") === 3)).toBe(true);

    const [rec] = json(path);
    expect(rec).toMatchObject({ kind: "cgroup", id: path, name: path, cgroup: path, pid, net: null });
    expect(rec.memory.limit).toBe(readCgroupNumber(path, v2 ? "memory.max" : "memory.limit_in_bytes"));
    expect(rec.memory.limit).toBe(32 * MiB);
    expect(rec.memory.limitSet).toBe(true);
    const oomKills = v2 ? readCgroupNumber(path, "memory.events", "oom_kill") : readCgroupNumber(path, "memory.oom_control", "oom_kill");
    expect(oomKills).toBeGreaterThanOrEqual(1);
    expect(rec.memory.oomKills).toBe(oomKills);
    expect(rec.pids).toEqual({ current: readCgroupNumber(path, "pids.current"), limit: 50 });
    // docker's MEM USAGE is the working set: usage less inactive file pages
    expect(rec.memory.usage).toBe(rec.memory.workingSet);
    expect(rec.memory.raw).toBeGreaterThanOrEqual(rec.memory.usage);

    const [byPid] = json(String(pid));
    expect(byPid).toMatchObject({ kind: "process", id: String(pid), name: "sh", pid, cgroup: path });
    expect(byPid.memory.limit).toBe(32 * MiB);
    expect(byPid.memory.oomKills).toBe(oomKills);
  }, SLOW);

  test("a busy loop under 0.1 CPU: throttled in the sample, as cpu.stat counts it; PSI where a v2 cgroup has it", () => {
    const { path } = fx.start("busy", ["sh", "-c", "while :; do :; done"], { cpu: { quota: 10_000, period: 100_000 } });
    const [rec] = json("--interval", "500", path);
    expect(rec.cpu.limitCpus).toBe(0.1);
    // a template printing whole records reads the limits too (a table leaves them unread)
    const whole = berth("stats", "--no-stream", "--interval", "0", "--format", "{{json .}}", path);
    expect(JSON.parse(whole.stdout).cpu.limitCpus).toBe(0.1);
    expect(rec.cpu.periods).toBeGreaterThan(0);
    expect(rec.cpu.throttledPeriods).toBeGreaterThan(0);
    expect(rec.cpu.throttledPercent).toBe(Math.round((rec.cpu.throttledPeriods / rec.cpu.periods) * 10_000) / 100);
    expect(readCgroupNumber(path, "cpu.stat", "nr_throttled")).toBeGreaterThanOrEqual(rec.cpu.throttledPeriods);
    // v1 has no pressure files; on a hybrid host the cgroup's cgroup2 twin has them
    if (hasCgroupFile(path, "cpu.pressure")) expect(typeof rec.psi.cpu).toBe("number");
    else expect(rec.psi).toEqual({ cpu: null, memory: null, io: null });
  }, SLOW);

  test("--no-stream --interval 0: no waiting, every period so far, as cpu.stat counts them", async () => {
    const { path } = fx.start("life", ["sh", "-c", "while :; do :; done"], { cpu: { quota: 10_000, period: 100_000 } });
    expect(await until(() => readCgroupNumber(path, "cpu.stat", "nr_throttled") > 0)).toBe(true);
    const before = { periods: readCgroupNumber(path, "cpu.stat", "nr_periods"), throttled: readCgroupNumber(path, "cpu.stat", "nr_throttled") };
    const [rec] = json("--interval", "0", path);
    const after = { periods: readCgroupNumber(path, "cpu.stat", "nr_periods"), throttled: readCgroupNumber(path, "cpu.stat", "nr_throttled") };
    expect(rec.cpu.periods).toBeGreaterThanOrEqual(before.periods);
    expect(rec.cpu.periods).toBeLessThanOrEqual(after.periods);
    expect(rec.cpu.throttledPeriods).toBeGreaterThanOrEqual(before.throttled);
    expect(rec.cpu.throttledPeriods).toBeLessThanOrEqual(after.throttled);
    expect(rec.window).toBeGreaterThan(0);
    const streaming = berth("stats", "--interval", "0", path);
    expect(streaming.code).toBe(125);
    expect(streaming.stderr).toBe('berth: --interval: invalid value "0"; use a whole number ≥ 10\n');
  }, SLOW);

  test("NET I/O is read inside the process's own network namespace, loopback left out", async () => {
    const { path, pid } = fx.start("net", ["unshare", "--net", "sleep", "1000"]);
    // unshare(1) enters the new namespace, then execs sleep: until then the pid is in the host's
    expect(await until(() => readFileSync(`/proc/${pid}/comm`, "utf8") === "sleep\n", SLOW / 2)).toBe(true);
    const [rec] = json(path);
    expect(rec.pid).toBe(pid);
    expect(rec.net).toEqual(netTotals(parseNetDev(readFileSync(`/proc/${pid}/net/dev`, "utf8"))));
  }, SLOW);

  test("the table has docker's columns; --format wide adds throttling, pressure and OOM kills; templates pick fields", () => {
    const { path } = fx.start("table", ["sleep", "1000"], { pids: { limit: 10 } });
    const table = berth("stats", "--no-stream", "--interval", "100", path);
    expect(table.code).toBe(0);
    const [header, row] = table.stdout.trimEnd().split("\n");
    expect(header!.split(/\s{2,}/)).toEqual(["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"]);
    expect(row).toStartWith(path);
    const wide = berth("stats", "--no-stream", "--interval", "100", "--format", "wide", path);
    expect(wide.stdout.split("\n")[0]!.split(/\s{2,}/)).toEqual([
      "CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS", "THROTTLED %", "PSI CPU", "PSI MEM", "PSI IO", "OOM KILLS",
    ]);
    const t = berth("stats", "--no-stream", "--interval", "100", "--format", "{{.Name}} pids={{.PIDs}} net={{.NetIO}} oom={{.OOMKills}}", path);
    expect(t.stdout).toBe(`${path} pids=1 net=- oom=0\n`);
  }, SLOW);

  test("--all lists a container cgroup with no process left; without it, only running containers", () => {
    const id = "e0".repeat(32);
    const path = fx.cgroup(`docker/${id}`);
    const all = json("--all");
    expect(all.find((r) => r.id === id)).toMatchObject({ kind: "container", runtime: "docker", name: id.slice(0, 12), pid: 0, cgroup: path, pids: { current: 0 } });
    expect(json().some((r) => r.id === id)).toBe(false);
  }, SLOW);

  test("errors are one line, exit 125", () => {
    const none = berth("stats", "--no-stream", "no-such-container-anywhere");
    expect(none.code).toBe(125);
    expect(none.stderr).toBe('berth: TARGET: no container, process or cgroup "no-such-container-anywhere" on this host; `berth stats --no-stream --all` lists the containers, and a cgroup path starts with /\n');
    const gone = berth("stats", "--no-stream", `${fx.base}/never-made`);
    expect(gone.code).toBe(125);
    expect(gone.stderr).toStartWith(`berth: TARGET: no container, process or cgroup "${fx.base}/never-made" on this host (no cgroup`);
    const bad = berth("stats", "--no-stream", "--format", "{{.Nope}}");
    expect(bad.code).toBe(125);
    expect(bad.stderr).toStartWith("berth: --format: {{.Nope}}: no field Nope; use {{json .}} or one of .ID");
  }, SLOW);
});
