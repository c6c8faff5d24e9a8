/**
 * `berth cgroup` end to end: the real CLI on the real kernel (this host's layout, and
 * pure v2 inside cgv2-vm). Checks what a user sees — exit codes, the one-line errors,
 * the files written — and that bad input leaves no cgroup behind.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { detectHostCgroups } from "../../cgroups/layout.ts";
import { openCgroup } from "../../cgroups/open-cgroup.ts";
import { BERTH, berth } from "../../../test/observe-fixture.ts";

const SLOW = 120_000;
const base = `/berth-cli-${process.pid}`;
const { layout } = detectHostCgroups();


/** Every directory the cgroup would have, on this host's layout. */
function dirsOf(path: string): string[] {
  return Object.values(openCgroup(path).dirs());
}

afterAll(() => {
  // Remove whatever a failed test left, children first, then the base.
  const cg = openCgroup(base);
  if (cg.exists()) {
    cg.kill("SIGKILL");
    cg.destroy({ timeoutMs: 5000 });
  }
});

describe("berth cgroup", () => {
  test("run applies the limits, the command runs inside, and stat shows throttling and the OOM kill", () => {
    const path = `${base}/demo`;
    const run = berth("cgroup", "run", path, "--cpus", "0.1", "--memory", "32m", "--",
      "sh", "-c", "timeout 1 sh -c 'while :; do :; done'; dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo exit=$?; cat /proc/self/cgroup");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("exit=137");
    // The command ran in the cgroup (v1 memory line, or the v2 line).
    expect(run.stdout).toMatch(new RegExp(`:${path}\\n`));
    // The mechanism is printed, on stderr, with the flag that caused each write.
    if (layout.mode === "v2") expect(run.stderr).toContain(`wrote "10000 100000" to /sys/fs/cgroup${path}/cpu.max  (--cpus)`);
    else expect(run.stderr).toMatch(/wrote "10000" to \S+\/cpu\.cfs_quota_us  \(--cpus\)/);

    const stat = berth("cgroup", "stat", path);
    expect(stat.code).toBe(0);
    expect(stat.stdout).toMatch(/throttled [1-9]\d* of \d+ periods/);
    expect(stat.stdout).toMatch(/oom_kill[ ]+[1-9]/);

    const json = JSON.parse(berth("cgroup", "stat", path, "--json").stdout);
    expect(json.memory.limit).toBe(32 * 1024 * 1024);
    expect(json.memory.oomKill).toBeGreaterThanOrEqual(1);
    expect(json.cpu.nrThrottled).toBeGreaterThan(0);

    expect(berth("cgroup", "ls", base).stdout).toMatch(/\n\s+demo\s/);
    const rm = berth("cgroup", "rm", path);
    expect(rm.code).toBe(0);
    for (const d of dirsOf(path)) expect(existsSync(d)).toBe(false);
  }, SLOW);

  test("run returns the command's exit code, 127 when it is not found, and --rm removes the cgroup", () => {
    const path = `${base}/codes`;
    expect(berth("cgroup", "run", "-q", "--rm", path, "--", "sh", "-c", "exit 3").code).toBe(3);
    expect(berth("cgroup", "run", "-q", "--rm", path, "--", "/nonexistent/command").code).toBe(127);
    for (const d of dirsOf(path)) expect(existsSync(d)).toBe(false);
  }, SLOW);

  const bad: [string, string[], RegExp][] = [
    ["a size with a bad unit", ["--memory", "2x"], /^berth: --memory: invalid size "2x"; use a size such as 512m, 2g/],
    ["a negative size", ["--memory", "-5"], /^berth: --memory: invalid size "-5"/],
    ["a cpuset outside the host", ["--cpuset-cpus", "0-4095"], /^berth: --cpuset-cpus: CPU \S+ is not on this host/],
    ["a device rule with a bad type", ["--device", "allow x 1:3 rw"], /^berth: --device: invalid device type "x"/],
    ["a zero CPU count", ["--cpus", "0"], /^berth: --cpus: invalid CPU count "0"/],
    ["an unknown flag", ["--memroy", "1g"], /^berth: unknown option '--memroy'/],
  ];
  for (const [what, flags, message] of bad) {
    test(`create with ${what} exits 125 with one line and leaves no cgroup`, () => {
      const path = `${base}/bad`;
      const r = berth("cgroup", "create", path, ...flags);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")[0]).toMatch(message);
      for (const d of dirsOf(path)) expect(existsSync(d)).toBe(false);
    }, SLOW);
  }

  test("rm refuses a cgroup with processes unless --kill, and never the root", () => {
    const path = `${base}/busy`;
    expect(berth("cgroup", "create", "-q", path, "--pids", "10").code).toBe(0);
    const cg = openCgroup(path);
    const sleeper = Bun.spawn(["sleep", "60"]);
    try {
      expect(berth("cgroup", "add", "-q", path, String(sleeper.pid)).code).toBe(0);
      const refused = berth("cgroup", "rm", path);
      expect(refused.code).toBe(125);
      expect(refused.stderr).toContain(`pid ${sleeper.pid} (sleep)`);
      expect(refused.stderr).toContain("--kill");
      expect(cg.exists()).toBe(true);
      expect(berth("cgroup", "rm", "--kill", path).code).toBe(0);
      expect(cg.exists()).toBe(false);
    } finally {
      sleeper.kill("SIGKILL");
    }
    expect(berth("cgroup", "rm", "/").stderr).toMatch(/^berth: PATH: refusing to remove the root cgroup/);
  }, SLOW);

  test("stat --watch prints a new sample each interval, with rates, until interrupted", async () => {
    const path = `${base}/watch`;
    expect(berth("cgroup", "create", "-q", path).code).toBe(0);
    const watch = Bun.spawn([BERTH, "cgroup", "stat", "--watch", "--interval", "200", path], { stdout: "pipe", stderr: "ignore" });
    await Bun.sleep(layout.mode === "v2" ? 6000 : 1200);
    watch.kill("SIGINT");
    const out = await new Response(watch.stdout).text();
    expect(out.split(`cgroup ${path}\n`).length - 1).toBeGreaterThanOrEqual(2);
    expect(out).toMatch(/now {7}\d+\.\d{2} CPUs/);
    expect(out).not.toContain("\x1b[2J");
    expect(berth("cgroup", "rm", path).code).toBe(0);
  }, SLOW);

  test("stat --watch on a terminal redraws in place", async () => {
    const path = `${base}/tty`;
    expect(berth("cgroup", "create", "-q", path).code).toBe(0);
    // script(1) gives the command a real pty, as an operator's terminal would.
    const tty = Bun.spawn(["script", "-qfec", `${BERTH} cgroup stat --watch --interval 200 ${path}`, "/dev/null"], { stdout: "pipe", stderr: "ignore", stdin: "pipe" });
    await Bun.sleep(layout.mode === "v2" ? 6000 : 1200);
    tty.kill("SIGTERM");
    const out = await new Response(tty.stdout).text();
    expect(out).toContain("\x1b[H\x1b[2Jcgroup " + path);
    expect(berth("cgroup", "rm", path).code).toBe(0);
  }, SLOW);

  test("set changes a limit in place and names the file", () => {
    const path = `${base}/set`;
    expect(berth("cgroup", "create", "-q", path, "--pids", "10").code).toBe(0);
    const r = berth("cgroup", "set", path, "--pids", "20");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wrote "20" to \S+\/pids\.max  \(--pids\)/);
    expect(JSON.parse(berth("cgroup", "stat", "--json", path).stdout).pids.limit).toBe(20);
    expect(berth("cgroup", "rm", path).code).toBe(0);
  }, SLOW);
});
