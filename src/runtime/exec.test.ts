/**
 * `exec` into real running containers: the process is in every one of the container's
 * namespaces and its cgroup, with the capabilities and seccomp filter the spec gives
 * (not the runtime's), its exit status comes back, --detach and --pid-file work, and its
 * errors read like create's.
 */
import { afterAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { canRunContainers, cgroupDirsFor, RuntimeFixture, until } from "../../test/runtime-harness.ts";
import type { Spec } from "../spec/runtime-spec.ts";
import { detectHostCgroups } from "../cgroups/layout.ts";

setDefaultTimeout(30_000);

const fx = new RuntimeFixture("exec");
const v2 = detectHostCgroups().layout.mode === "v2";
afterAll(() => fx.cleanup(), 60_000);

/** A running container (sleep) made from the test spec plus `change`; returns its id and init pid. */
function running(change?: (s: Spec) => void): { id: string; pid: number } {
  const id = fx.id();
  const spec = fx.spec(id, (s) => {
    s.process!.args = ["sleep", "300"];
    change?.(s);
  });
  expect(fx.rt(["create", "--bundle", fx.bundle(id, spec), id]).code).toBe(0);
  expect(fx.rt(["start", id]).code).toBe(0);
  return { id, pid: fx.state(id).pid };
}

describe.skipIf(!canRunContainers)("exec", () => {
  test("the process is in each of the container's namespaces and its cgroup, and its status comes back", () => {
    const { id, pid } = running((s) => s.linux!.namespaces!.push({ type: "cgroup" }));
    const r = fx.rt(["exec", id, "sh", "-c", "for t in pid net ipc uts mnt cgroup; do readlink /proc/self/ns/$t; done; hostname; echo $$; exit 7"]);
    expect(r.code).toBe(7);
    const lines = r.stdout.trim().split("\n");
    ["pid", "net", "ipc", "uts", "mnt", "cgroup"].forEach((t, i) => expect(lines[i]).toBe(readlinkSync(`/proc/${pid}/ns/${t}`)));
    expect(lines[6]).toBe(id.slice(0, 60));
    // in the container's pid namespace: a small pid, not the host's
    expect(Number(lines[7])).toBeLessThan(100);
    // and its root is the container's: busybox's sh, not the host's
    expect(fx.rt(["exec", id, "sh", "-c", "readlink /bin/sh"]).stdout.trim()).toBe("/bin/busybox");
  });

  test("--detach with --pid-file: the process runs in the container's cgroup, and the pid file holds its host pid", async () => {
    const { id } = running();
    const pidFile = join(fx.dir, `${id}.exec.pid`);
    const r = fx.rt(["exec", "--detach", "--pid-file", pidFile, id, "sleep", "200"]);
    expect(r.code).toBe(0);
    const text = readFileSync(pidFile, "utf8");
    expect(text).toMatch(/^\d+$/);
    const pid = Number(text);
    expect(await until(() => readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("sleep"))).toBe(true);
    for (const dir of cgroupDirsFor(id)) {
      if (readFileSync(join(dir, "cgroup.procs"), "utf8").length === 0) continue;
      expect(readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")).toContain(String(pid));
    }
    // every hierarchy, v1 and cgroup2 alike: the same cgroups as the container's init
    expect(readFileSync(`/proc/${pid}/cgroup`, "utf8")).toBe(readFileSync(`/proc/${fx.state(id).pid}/cgroup`, "utf8"));
    expect(readFileSync(`/proc/${pid}/cgroup`, "utf8")).toContain(`/${id}\n`);
  });

  test("--cgroup: the process runs in an existing sub-cgroup, in every hierarchy or per v1 controller", () => {
    const { id, pid } = running();
    const dirs = cgroupDirsFor(id);
    for (const d of dirs) {
      mkdirSync(join(d, "batch"));
      // a new v1 cpuset starts empty and takes no task until it has cpus and mems
      for (const f of ["cpuset.cpus", "cpuset.mems"]) if (existsSync(join(d, f)) && !existsSync(join(d, "cgroup.controllers"))) writeFileSync(join(d, "batch", f), readFileSync(join(d, f)));
    }
    /** hierarchy (the middle field of /proc/PID/cgroup) → path */
    const byHierarchy = (text: string) => new Map(text.trim().split("\n").map((l) => [l.split(":")[1]!, l.split(":")[2]!] as const));
    const init = byHierarchy(readFileSync(`/proc/${pid}/cgroup`, "utf8"));
    const own = [...init].filter(([h, p]) => !h.startsWith("name=") && p.endsWith(`/${id}`));
    expect(own.length).toBe(dirs.length);

    const all = fx.rt(["exec", "--cgroup", "batch", id, "cat", "/proc/self/cgroup"]);
    expect(all.stderr).toBe("");
    expect(all.code).toBe(0);
    const seen = byHierarchy(all.stdout);
    for (const [h, p] of own) expect(seen.get(h)).toBe(`${p}/batch`);

    const errors = (args: string[]) => {
      const r = fx.rt(["exec", ...args, id, "true"]);
      // runc's code for an exec that failed itself
      expect(r.code).toBe(255);
      return r.stderr.trim();
    };
    if (v2) {
      expect(errors(["--cgroup", "memory:batch"])).toBe("--cgroup: invalid --cgroup argument: memory: cgroup v2 has a single hierarchy; give the sub-cgroup without a <controller>: prefix");
    } else {
      const some = fx.rt(["exec", "--cgroup", "memory:batch", "--cgroup", "pids:batch", id, "cat", "/proc/self/cgroup"]);
      expect(some.code).toBe(0);
      const got = byHierarchy(some.stdout);
      for (const [h, p] of own) expect(got.get(h)).toBe(h === "memory" || h === "pids" ? `${p}/batch` : p);
      expect(errors(["--cgroup", "nosuchctl:batch"])).toStartWith("--cgroup: invalid --cgroup argument: no nosuchctl controller among the container's cgroups");
    }
    expect(errors(["--cgroup", "nosuch"])).toMatch(/^--cgroup: sub-cgroup \/sys\/fs\/cgroup\/\S+\/nosuch does not exist; create it first \(mkdir /);
    expect(errors(["--cgroup", "../escape"])).toBe('--cgroup: invalid --cgroup argument: ../escape (".." would leave the container\'s cgroup; give a path below it)');
    expect(errors(["--cgroup", "batch", "--cgroup", "other"])).toBe("--cgroup: invalid --cgroup argument: batch (missing <controller>: prefix)");
    // nothing was left running from the refused ones: the container holds its init alone
    const procs = readFileSync(join(dirs[0]!, "cgroup.procs"), "utf8").trim().split("\n").filter(Boolean);
    expect(procs).toEqual([String(pid)]);
    expect(readFileSync(join(dirs[0]!, "batch", "cgroup.procs"), "utf8").trim()).toBe("");
  });

  test("with a cgroup namespace the process sees the container's cgroup as /, in every hierarchy", () => {
    const { id, pid } = running((s) => s.linux!.namespaces!.push({ type: "cgroup" }));
    const r = fx.rt(["exec", id, "sh", "-c", "cat /proc/self/cgroup"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.length).toBe(readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n").length);
    for (const line of lines) {
      // named hierarchies berth does not manage (name=systemd) stay where the runtime was
      if (!line.split(":")[1]!.startsWith("name=")) expect(line.split(":")[2]).toBe("/");
    }
  });

  test("capabilities are the process's, not the runtime's; --cap adds one; the container's seccomp filter applies", () => {
    const { id } = running((s) => {
      s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }] } as never;
    });
    const caps = fx.rt(["exec", id, "sh", "-c", "grep CapEff /proc/self/status"]).stdout.trim();
    expect(caps).toBe("CapEff:\t0000000020000420"); // the spec's three, not root's full set
    const more = fx.rt(["exec", "--cap", "CAP_CHOWN", id, "sh", "-c", "grep CapEff /proc/self/status"]).stdout.trim();
    expect(more).toBe("CapEff:\t0000000020000421");
    const denied = fx.rt(["exec", id, "mkdir", "/dev/shm/x"]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain("Operation not permitted");
  });

  test("inline flags: -e, --cwd, -u uid:gid, --additional-gids; --process FILE as containerd sends it", () => {
    const { id } = running();
    const r = fx.rt(["exec", "-e", "GREETING=hi", "--cwd", "/dev", "-u", "1000:1001", "-g", "7", id, "sh", "-c", "echo $GREETING; pwd; id -u; id -g; id -G"]);
    expect(r.stdout).toBe("hi\n/dev\n1000\n1001\n1001 7\n");
    const processFile = join(fx.dir, `${id}.process.json`);
    writeFileSync(processFile, JSON.stringify({ terminal: false, user: { uid: 0, gid: 0 }, args: ["sh", "-c", "echo from-file $X"], env: ["X=1", "PATH=/bin"], cwd: "/" }));
    expect(fx.rt(["exec", "--process", processFile, id]).stdout).toBe("from-file 1\n");
  });

  test("--additional-gids adds to the container's own supplementary groups, as runc's exec appends them", () => {
    const { id } = running((s) => (s.process!.user = { uid: 0, gid: 0, additionalGids: [5] }));
    expect(fx.rt(["exec", id, "id", "-G"]).stdout).toBe("0 5\n");
    expect(fx.rt(["exec", "-u", "1000:1001", "-g", "7", id, "id", "-G"]).stdout).toBe("1001 5 7\n");
  });

  test("errors read like create's, and unknown containers are refused in runc's words", () => {
    const { id } = running();
    const missing = fx.rt(["exec", id, "/no/such/program"]);
    expect(missing.code).toBe(255);
    expect(missing.stderr.trim()).toBe('process.args[0]: "/no/such/program": executable file not found in the root filesystem: no such file or directory');
    expect(fx.rt(["exec", id]).stderr).toContain("exec needs a command");
    expect(fx.rt(["exec", "no-such-container", "true"]).stderr).toContain("does not exist");
  });

  test("a stopped container refuses exec; a paused one unless --ignore-paused", async () => {
    const { id } = running();
    expect(fx.rt(["pause", id]).code).toBe(0);
    expect(fx.rt(["exec", id, "true"]).stderr.trim()).toBe("cannot exec in a paused container (use --ignore-paused to override)");
    expect(fx.rt(["resume", id]).code).toBe(0);
    fx.rt(["kill", id, "KILL"]);
    expect(await until(() => fx.state(id).status === "stopped")).toBe(true);
    expect(fx.rt(["exec", id, "true"]).stderr.trim()).toBe("cannot exec in a stopped container");
  });
});
