/**
 * Real-kernel tests (root): cgroup device filters attach to cgroup2 directories, so they
 * run on the v1-hybrid host (its cgroup2 mount is /sys/fs/cgroup/unified) and in the
 * pure v2 VM (/sys/fs/cgroup) alike. Only the cgroup this test makes is touched.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { closeSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync, writeSync } from "node:fs";
import type { Subprocess } from "bun";
import { deviceFilterProgram } from "../cgroups/devices.ts";
import { validateDeviceRules } from "../spec/validate-resources.ts";
import { BerthError } from "../errors.ts";
import { attachedDeviceFilterCount, replaceDeviceFilter } from "./bpf.ts";
import { CLIENT_SPECS_DIR } from "../../test/client-specs.ts";

/** The first cgroup2 mount in /proc/self/mountinfo: `… mountpoint … - cgroup2 …`. */
function cgroup2Mount(): string | undefined {
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const [before, after] = line.split(" - ");
    if (after?.split(" ")[0] === "cgroup2") return before?.split(" ")[4];
  }
  return undefined;
}

const mount = cgroup2Mount();
const canRun = process.getuid?.() === 0 && mount !== undefined;
const SLOW = 120_000; // the VM runs under TCG: every exec costs tens of milliseconds

let cgroup: string | undefined;
let children: Subprocess[] = [];

function makeCgroup(): string {
  cgroup = `${mount}/berth-test-dev-${crypto.randomUUID().slice(0, 8)}`;
  mkdirSync(cgroup);
  return cgroup;
}

afterEach(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  const dir = cgroup;
  cgroup = undefined;
  // Our child may have forked before it was killed: whatever is still in the cgroup we
  // made descends from it, so kill those PIDs too, then rmdir, which says EBUSY until
  // the last task has left.
  for (let attempt = 0; dir; attempt++) {
    for (const pid of readFileSync(`${dir}/cgroup.procs`, "utf8").split("\n").filter(Boolean)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {} // already gone
    }
    try {
      rmdirSync(dir);
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== "EBUSY" || attempt >= 200) throw err;
      await Bun.sleep(50);
    }
  }
  await Promise.all(children.map((child) => child.exited));
  children = [];
}, SLOW);

/** Run `script` in sh with its process already inside `dir`: it waits on fd 3 until it has been moved. */
async function runInCgroup(dir: string, script: string): Promise<{ stdout: string; stderr: string }> {
  const child = Bun.spawn(["sh", "-c", 'read x <&3; exec "$@"', "gate", "sh", "-c", script], {
    stdio: ["ignore", "pipe", "pipe", "pipe"],
  });
  children.push(child);
  const gate = child.stdio[3] as number;
  try {
    writeFileSync(`${dir}/cgroup.procs`, `${child.pid}\n`);
  } catch (err) {
    // Kill before the gate closes: on EOF `read` returns and the script would run outside.
    child.kill("SIGKILL");
    closeSync(gate);
    throw err;
  }
  writeSync(gate, "go\n");
  closeSync(gate);
  const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  await child.exited;
  return { stdout, stderr };
}

/** What each open fd of this process points at (`/proc/self/fd`). */
function openFds(): Map<string, string> {
  const fds = new Map<string, string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      fds.set(fd, readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // closed between the listing and the readlink
    }
  }
  return fds;
}

/**
 * Run `fn` and check it closed every fd it opened, whether it returned or threw: no fd
 * may be open afterwards that was not open before. (Not a count: earlier test files'
 * subprocess pipes are closed by the runtime whenever it gets to them, which changes
 * the count without this code doing anything.)
 */
function closesItsFds(fn: () => void): unknown {
  const before = openFds();
  try {
    fn();
    return undefined;
  } catch (err) {
    return err;
  } finally {
    const leaked = [...openFds()].filter(([fd, target]) => before.get(fd) !== target && /^anon_inode:bpf|^\/sys\/fs\/cgroup/.test(target));
    expect(leaked).toEqual([]);
  }
}

describe.skipIf(!canRun)(`cgroup device filters on ${mount}`, () => {
  test("a filter decides what a process in the cgroup may open, and a replacement takes over", async () => {
    const dir = makeCgroup();
    const denyAllButNull = validateDeviceRules([
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
    ]);
    expect(closesItsFds(() => replaceDeviceFilter(dir, deviceFilterProgram(denyAllButNull)))).toBeUndefined();
    expect(attachedDeviceFilterCount(dir)).toBe(1);
    const first = await runInCgroup(dir, "echo x > /dev/null && echo null-ok; head -c1 /dev/zero >/dev/null 2>&1 || echo zero-denied");
    expect(first.stdout).toBe("null-ok\nzero-denied\n");

    // allow everything but /dev/zero (c 1:5)
    const allButZero = validateDeviceRules([{ allow: true }, { allow: false, type: "c", major: 1, minor: 5 }]);
    for (let i = 0; i < 2; i++) {
      expect(closesItsFds(() => replaceDeviceFilter(dir, deviceFilterProgram(allButZero)))).toBeUndefined();
      expect(attachedDeviceFilterCount(dir)).toBe(1);
    }
    const second = await runInCgroup(dir, "head -c1 /dev/urandom >/dev/null && echo urandom-ok; head -c1 /dev/zero >/dev/null 2>&1 || echo zero-denied");
    expect(second.stdout).toBe("urandom-ok\nzero-denied\n");
  }, SLOW);

  test("the verifier accepts the programs for real clients' rule lists", () => {
    const dir = makeCgroup();
    const lists: unknown[] = ["docker-run", "ctr-run", "podman-run"].map(
      (name) => JSON.parse(readFileSync(`${CLIENT_SPECS_DIR}${name}.json`, "utf8")).linux.resources.devices,
    );
    lists.push([], [{ allow: false }, { allow: true, type: "b", major: 8, access: "r" }, { allow: false, type: "b", major: 8, minor: 0, access: "w" }]);
    for (const rules of lists) {
      replaceDeviceFilter(dir, deviceFilterProgram(validateDeviceRules(rules)));
      expect(attachedDeviceFilterCount(dir)).toBe(1);
    }
  }, SLOW);

  test("a program the verifier rejects: BerthError with the cgroup, the command, the errno and the verifier's words", () => {
    const dir = makeCgroup();
    const caught = closesItsFds(() => replaceDeviceFilter(dir, new Uint8Array(8))); // one all-zero instruction, no exit
    expect(caught).toBeInstanceOf(BerthError);
    const err = caught as BerthError;
    expect(err.errno).toBe("EINVAL");
    expect(err.message).toContain(`bpf(BPF_PROG_LOAD) for cgroup ${dir}: EINVAL`);
    expect(err.message).toContain("verifier:");
    expect(attachedDeviceFilterCount(dir)).toBe(0);
  }, SLOW);

  test("a directory that is not a cgroup2 one fails by name and closes what it opened", () => {
    const caught = closesItsFds(() => replaceDeviceFilter("/proc", deviceFilterProgram([])));
    expect(caught).toBeInstanceOf(BerthError);
    expect((caught as BerthError).message).toMatch(/^bpf\(BPF_PROG_\w+\) for cgroup \/proc: E[A-Z]+ \(/);
  }, SLOW);
});
