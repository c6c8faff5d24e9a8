/**
 * containerd 1.6 drives berth-runtime the way it drives runc: `ctr run --runc-binary`
 * sets the io.containerd.runc.v2 shim's BinaryName, and the real shim then calls
 * create/start/kill/pause/resume/ps/exec/delete with its own flags. Images come from a
 * local registry on 127.0.0.1; the daemon, its shims and everything they made are
 * removed at the end, and the last test checks that nothing is left.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RUNTIME } from "../runtime-harness.ts";
import { CLIENT_LOCK_HOOK_TIMEOUT, isRoot, requireCommands, runCommand, until, holdClientLock } from "./client-env.ts";
import type { HeldLock } from "../../src/sys/lock-file.ts";
import { type Containerd, cgroupDirs, shimPidsUnder, startContainerd } from "./containerd.ts";
import { type LocalRegistry, startRegistryWithBusybox } from "./registry.ts";

// every test runs several ctr and runtime processes; the first builds the image
setDefaultTimeout(60_000);

/** ctr's namespace: the runtime's --root is <runtimeRoot>/<NS>, cgroups are /<NS>/<id>. */
const NS = `berth-ctr-${process.pid}`;
let work = "";
let registry: LocalRegistry | undefined;
let cd: Containerd | undefined;
let image = "";
let counter = 0;

let clientLock: HeldLock | undefined;

beforeAll(async () => {
  if (!isRoot) return;
  clientLock = await holdClientLock("containerd");
  requireCommands({ containerd: "containerd", ctr: "containerd", "containerd-shim-runc-v2": "containerd", script: "bsdutils" });
  work = mkdtempSync(join(tmpdir(), "berth-ctr-"));
  registry = await startRegistryWithBusybox(work);
  image = registry.image;
  cd = await startContainerd(work, { cgroupParents: [`/${NS}`] });
  mustCtr(["images", "pull", "--plain-http", image]);
}, CLIENT_LOCK_HOOK_TIMEOUT + 600_000);

afterAll(async () => {
  try {
    await cd?.stop();
    await registry?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  } finally {
    clientLock?.release();
  }
}, 120_000);

function daemon(): Containerd {
  if (!cd) throw new Error("containerd did not start (see beforeAll)");
  return cd;
}

function ctr(args: string[], opts: { input?: string } = {}) {
  return daemon().ctr(NS, args, opts);
}

function mustCtr(args: string[]): string {
  const r = ctr(args);
  if (r.code !== 0) throw new Error(`ctr ${args.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

const fifoDir = () => join(daemon().dir, "fifo");

/** `ctr run` through berth-runtime: the shim's BinaryName and its --root both point at ours. */
function runArgs(id: string, opts: string[], argv: string[]): string[] {
  return ["run", "--runc-binary", RUNTIME, "--runc-root", daemon().runtimeRoot, "--fifo-dir", fifoDir(), ...opts, image, id, ...argv];
}

const newId = (name: string) => `${name}-${++counter}`;
const runtimeRoot = () => join(daemon().runtimeRoot, NS);
const bundle = (id: string) => join(daemon().stateDir, "io.containerd.runtime.v2.task", NS, id);

/** berth-runtime's own view of a container the shim made (proof the shim called berth, not runc). */
function berthState(id: string): { status: string; pid: number } & Record<string, unknown> {
  const r = runCommand([RUNTIME, "--root", runtimeRoot(), "state", id]);
  if (r.code !== 0) throw new Error(`berth-runtime state ${id}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout);
}

/** `ctr task ls` as id → {pid, status}. */
function tasks(): Map<string, { pid: number; status: string }> {
  const out = mustCtr(["tasks", "ls"]).trim().split("\n").slice(1);
  return new Map(out.map((l) => l.trim().split(/\s+/)).map(([id, pid, status]) => [id!, { pid: Number(pid), status: status! }]));
}

/** A detached container whose stdout/stderr go to a log file; returns the file. */
function runDetached(id: string, argv: string[], opts: string[] = []): string {
  const log = join(work, `${id}.log`);
  const r = ctr(runArgs(id, ["--detach", "--log-uri", `file://${log}`, ...opts], argv));
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return log;
}

const readLog = (file: string) => (existsSync(file) ? readFileSync(file, "utf8") : "");

/** Remove a task and its container whatever state they are in (for tests that fail half-way). */
function removeContainer(id: string): void {
  ctr(["tasks", "kill", "--all", "--signal", "SIGKILL", id]);
  ctr(["tasks", "delete", "--force", id]);
  ctr(["containers", "delete", id]);
}

/** What is left of a container after delete: runtime state, cgroup, bundle, task. */
function leftovers(id: string): string[] {
  const left: string[] = [];
  if (existsSync(join(runtimeRoot(), id))) left.push(`runtime state ${join(runtimeRoot(), id)}`);
  left.push(...cgroupDirs(`/${NS}/${id}`).map((d) => `cgroup ${d}`));
  if (existsSync(bundle(id))) left.push(`bundle ${bundle(id)}`);
  if (tasks().has(id)) left.push(`task ${id}`);
  return left;
}

/** The container's freezer state, read from the host: v1 freezer.state, v2 cgroup.freeze. */
function frozen(id: string): boolean {
  const v2 = join("/sys/fs/cgroup", NS, id, "cgroup.freeze");
  if (existsSync("/sys/fs/cgroup/cgroup.controllers")) return readFileSync(v2, "utf8").trim() === "1";
  return readFileSync(join("/sys/fs/cgroup/freezer", NS, id, "freezer.state"), "utf8").trim() === "FROZEN";
}

/** The namespace inode link of a host pid, e.g. "net:[4026531840]". */
const nsOf = (pid: number, ns: string) => {
  const r = runCommand(["readlink", `/proc/${pid}/ns/${ns}`]);
  return r.stdout.trim();
};

describe.skipIf(!isRoot)("containerd: ctr with berth-runtime", () => {
  test("run: the container's stdout, stderr and exit code come back through the shim, and --rm removes it", () => {
    const id = newId("run");
    const r = ctr(runArgs(id, ["--rm"], ["sh", "-c", "echo hi; echo oops >&2; echo pid=$$; exit 7"]));
    expect(r.stdout).toBe("hi\npid=1\n");
    expect(r.stderr).toContain("oops");
    expect(r.code).toBe(7);
    expect(leftovers(id)).toEqual([]);
    expect(mustCtr(["containers", "ls", "-q"]).split("\n")).not.toContain(id);
  });

  test("run -d: task ls shows it RUNNING with the init's host pid, as berth-runtime's state does", async () => {
    const id = newId("detached");
    const log = runDetached(id, ["sh", "-c", "echo started; exec sleep 1000"]);
    try {
      const t = tasks().get(id);
      expect(t?.status).toBe("RUNNING");
      const st = berthState(id);
      expect(st.status).toBe("running");
      expect(st.pid).toBe(t!.pid);
      expect(st.bundle).toBe(bundle(id));
      // the pid file the shim asked for: decimal, no newline (go-runc's Atoi)
      expect(readFileSync(join(bundle(id), "init.pid"), "utf8")).toBe(String(t!.pid));
      // the init is in the cgroup ctr asked for (/<namespace>/<id>)
      expect(readFileSync(`/proc/${t!.pid}/cgroup`, "utf8")).toContain(`/${NS}/${id}`);
      expect(await until(() => readLog(log).includes("started"))).toBe(true);
    } finally {
      removeContainer(id);
    }
  });

  test("task ps: the shim's `ps --format json` lists the container's processes", async () => {
    const id = newId("ps");
    runDetached(id, ["sh", "-c", "sleep 1000 & exec sleep 1001"]);
    try {
      const init = tasks().get(id)!.pid;
      let pids: number[] = [];
      expect(
        await until(() => {
          pids = mustCtr(["tasks", "ps", id]).trim().split("\n").slice(1).map((l) => Number(l.trim().split(/\s+/)[0]));
          return pids.length === 2;
        }),
      ).toBe(true);
      expect(pids).toContain(init);
      for (const pid of pids) expect(readFileSync(`/proc/${pid}/cgroup`, "utf8")).toContain(`/${NS}/${id}`);
    } finally {
      removeContainer(id);
    }
  });

  test("pause and resume freeze and thaw the container's cgroup", async () => {
    const id = newId("pause");
    const log = runDetached(id, ["sh", "-c", "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.05; done"]);
    try {
      expect(await until(() => readLog(log).includes("tick 2"))).toBe(true);
      const p = ctr(["tasks", "pause", id]);
      expect(p.stderr).toBe("");
      expect(p.code).toBe(0);
      expect(tasks().get(id)?.status).toBe("PAUSED");
      expect(berthState(id).status).toBe("paused");
      expect(frozen(id)).toBe(true);
      // frozen: the loop prints nothing more (checked by length, not by waiting a set time)
      const before = readLog(log).length;
      expect(ctr(["tasks", "ps", id]).code).toBe(0);
      expect(readLog(log).length).toBe(before);

      const r = ctr(["tasks", "resume", id]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(tasks().get(id)?.status).toBe("RUNNING");
      expect(berthState(id).status).toBe("running");
      expect(frozen(id)).toBe(false);
      expect(await until(() => readLog(log).length > before)).toBe(true);
    } finally {
      removeContainer(id);
    }
  });

  test("metrics: the shim reads the cgroup berth-runtime made, limits included", () => {
    const id = newId("metrics");
    const limit = 48 * 1024 * 1024;
    runDetached(id, ["sh", "-c", "sleep 1000 & exec sleep 1001"], ["--memory-limit", String(limit)]);
    try {
      const r = ctr(["tasks", "metrics", "--format", "json", id]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const m = JSON.parse(r.stdout);
      expect(m.pids.current).toBe(2);
      if (existsSync("/sys/fs/cgroup/cgroup.controllers")) {
        expect(m.memory.usage_limit).toBe(limit);
        expect(m.cpu.usage_usec).toBeGreaterThan(0);
      } else {
        expect(m.memory.usage.limit).toBe(limit);
        expect(m.memory.usage.usage).toBeGreaterThan(0);
        expect(m.cpu.usage.total).toBeGreaterThan(0);
      }
      // and the table form ctr prints by default
      const table = mustCtr(["tasks", "metrics", id]);
      expect(table).toMatch(/^pids\.current\s+2\s*$/m);
    } finally {
      removeContainer(id);
    }
  });

  test("kill: SIGTERM reaches the init, the task stops, and task delete reports its exit status", async () => {
    const id = newId("kill");
    const log = runDetached(id, ["sh", "-c", 'trap "echo got TERM; exit 3" TERM; echo started; while :; do sleep 0.05; done']);
    try {
      expect(await until(() => readLog(log).includes("started"))).toBe(true);
      const k = ctr(["tasks", "kill", "--signal", "SIGTERM", id]);
      expect(k.stderr).toBe("");
      expect(k.code).toBe(0);
      expect(await until(() => tasks().get(id)?.status === "STOPPED")).toBe(true);
      expect(readLog(log)).toContain("got TERM");
      expect(berthState(id).status).toBe("stopped");
      // ctr 1.6 task delete reports the exit status the shim collected (as a warning, exit 0)
      const d = ctr(["tasks", "delete", id]);
      expect(d.stderr).toContain(`task ${id} exit with non-zero exit code 3`);
      expect(d.code).toBe(0);
      expect(mustCtr(["containers", "delete", id])).toBe("");
      expect(leftovers(id)).toEqual([]);
    } finally {
      removeContainer(id);
    }
  });

  test("kill --all SIGKILL stops every process of the container (exit status 137)", async () => {
    const id = newId("killall");
    runDetached(id, ["sh", "-c", "sleep 1000 & sleep 1001 & exec sleep 1002"]);
    try {
      expect(await until(() => mustCtr(["tasks", "ps", id]).trim().split("\n").length === 4)).toBe(true);
      const pids = mustCtr(["tasks", "ps", id]).trim().split("\n").slice(1).map((l) => Number(l.trim().split(/\s+/)[0]));
      const k = ctr(["tasks", "kill", "--all", "--signal", "SIGKILL", id]);
      expect(k.stderr).toBe("");
      expect(k.code).toBe(0);
      expect(await until(() => tasks().get(id)?.status === "STOPPED")).toBe(true);
      expect(await until(() => pids.every((p) => !existsSync(`/proc/${p}`)))).toBe(true);
      const d = ctr(["tasks", "delete", id]);
      expect(d.stderr).toContain(`task ${id} exit with non-zero exit code 137`);
      expect(d.code).toBe(0);
      ctr(["containers", "delete", id]);
      expect(leftovers(id)).toEqual([]);
    } finally {
      removeContainer(id);
    }
  });

  test("delete --force of a running task removes the runtime state, the cgroup and the bundle", () => {
    const id = newId("delete");
    runDetached(id, ["sleep", "1000"]);
    try {
      const pid = tasks().get(id)!.pid;
      const d = ctr(["tasks", "delete", "--force", id]);
      expect(d.stderr).toContain(`task ${id} exit with non-zero exit code 137`);
      expect(d.code).toBe(0);
      expect(existsSync(`/proc/${pid}`)).toBe(false);
      expect(mustCtr(["containers", "delete", id])).toBe("");
      expect(leftovers(id)).toEqual([]);
    } finally {
      removeContainer(id);
    }
  });

  test("--with-ns: a container joins another one's network namespace by path", () => {
    const holder = newId("netns-holder");
    runDetached(holder, ["sleep", "1000"]);
    const id = newId("netns-joiner");
    try {
      const pid = tasks().get(holder)!.pid;
      const r = ctr(runArgs(id, ["--rm", "--with-ns", `network:/proc/${pid}/ns/net`], ["sh", "-c", "readlink /proc/self/ns/net; readlink /proc/self/ns/uts"]));
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const [net, uts] = r.stdout.trim().split("\n");
      expect(net).toBe(nsOf(pid, "net"));
      expect(uts).not.toBe(nsOf(pid, "uts"));
    } finally {
      removeContainer(id);
      removeContainer(holder);
    }
  });

  test("a missing executable fails the task with the runtime's error text, and leaves nothing", () => {
    const id = newId("enoent");
    try {
      const r = ctr(runArgs(id, ["--rm"], ["/nonexistent"]));
      expect(r.code).not.toBe(0);
      // containerd reads the last error line of berth-runtime's --log (log.json)
      expect(r.stderr).toContain("OCI runtime create failed");
      expect(r.stderr).toMatch(/no such file or directory/i);
      expect(r.stderr).toContain("/nonexistent");
      expect(leftovers(id)).toEqual([]);
    } finally {
      removeContainer(id);
    }
  });
});

describe.skipIf(!isRoot)("containerd: needs exec", () => {
  test("task exec: output and exit code of a process started in a running container", () => {
    const id = newId("exec");
    runDetached(id, ["sleep", "1000"]);
    try {
      const a = ctr(["tasks", "exec", "--fifo-dir", fifoDir(), "--exec-id", "e1", id, "echo", "from-exec"]);
      expect(a.stderr).toBe("");
      expect(a.stdout).toBe("from-exec\n");
      expect(a.code).toBe(0);
      const b = ctr(["tasks", "exec", "--fifo-dir", fifoDir(), "--exec-id", "e2", id, "sh", "-c", "echo out; echo err >&2; exit 3"]);
      expect(b.stdout).toBe("out\n");
      expect(b.stderr).toContain("err");
      expect(b.code).toBe(3);
    } finally {
      removeContainer(id);
    }
  });

  test("task exec joins the container's namespaces and cgroup, not the host's", () => {
    const id = newId("exec-ns");
    runDetached(id, ["sleep", "1000"]);
    try {
      const init = tasks().get(id)!.pid;
      const kinds = ["pid", "mnt", "net", "uts", "ipc"];
      const r = ctr(["tasks", "exec", "--fifo-dir", fifoDir(), "--exec-id", "ns", id, "sh", "-c", `for n in ${kinds.join(" ")}; do readlink /proc/self/ns/$n; done; cat /proc/1/cmdline | tr '\\0' ' '; echo; cat /proc/self/cgroup`]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const lines = r.stdout.split("\n");
      expect(lines.slice(0, kinds.length)).toEqual(kinds.map((k) => nsOf(init, k)));
      // PID 1 in there is the container's init
      expect(lines[kinds.length]!.trim()).toBe("sleep 1000");
      const cgroups = lines.slice(kinds.length + 1).join("\n");
      expect(cgroups).toContain(`/${NS}/${id}`);
    } finally {
      removeContainer(id);
    }
  });

  test("task exec --user --cwd: the process runs as that uid in that directory", () => {
    const id = newId("exec-user");
    runDetached(id, ["sleep", "1000"]);
    try {
      const r = ctr(["tasks", "exec", "--fifo-dir", fifoDir(), "--exec-id", "u", "--user", "65534", "--cwd", "/tmp", id, "sh", "-c", "id -u; id -g; pwd"]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("65534\n65534\n/tmp\n");
      expect(r.code).toBe(0);
    } finally {
      removeContainer(id);
    }
  });

  test("task exec of a missing executable fails with the runtime's error, and the container keeps running", () => {
    const id = newId("exec-enoent");
    runDetached(id, ["sleep", "1000"]);
    try {
      const r = ctr(["tasks", "exec", "--fifo-dir", fifoDir(), "--exec-id", "x", id, "/nonexistent"]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/no such file or directory/i);
      expect(tasks().get(id)?.status).toBe("RUNNING");
    } finally {
      removeContainer(id);
    }
  });
});

/**
 * ctr -t needs a terminal on its own stdin: script(1) gives it one. The container's
 * pty master comes back to the shim over --console-socket.
 */
describe.skipIf(!isRoot)("containerd: needs a terminal", () => {
  const underScript = (args: string[]) => {
    const command = ["ctr", "--address", daemon().socket, "--namespace", NS, ...args].map(shellQuote).join(" ");
    return runCommand(["script", "--quiet", "--return", "--command", command, "/dev/null"], { timeoutMs: 60_000 });
  };

  test("run -t: the process has a terminal as stdin and stdout, and its exit code comes back", () => {
    const id = newId("tty");
    try {
      const r = underScript(runArgs(id, ["--rm", "--tty"], ["sh", "-c", "[ -t 0 ] && [ -t 1 ] && echo on-a-tty; tty; exit 5"]));
      const out = r.stdout.replace(/\r/g, "");
      expect(out).toContain("on-a-tty\n/dev/pts/0\n");
      expect(r.code).toBe(5);
      expect(leftovers(id)).toEqual([]);
    } finally {
      removeContainer(id);
    }
  });

  test("task exec -t: the exec'd process gets its own terminal", () => {
    const id = newId("exec-tty");
    runDetached(id, ["sleep", "1000"]);
    try {
      const r = underScript(["tasks", "exec", "--fifo-dir", fifoDir(), "--tty", "--exec-id", "t", id, "sh", "-c", "[ -t 0 ] && [ -t 1 ] && echo on-a-tty; exit 4"]);
      expect(r.stdout.replace(/\r/g, "")).toContain("on-a-tty\n");
      expect(r.code).toBe(4);
    } finally {
      removeContainer(id);
    }
  });
});

describe.skipIf(!isRoot)("containerd: teardown", () => {
  test("stopping the daemon leaves no shim, mount, cgroup, runtime state or socket behind", async () => {
    const d = daemon();
    // one container still running when the daemon stops, as after a failed test
    runDetached(newId("left-running"), ["sleep", "1000"]);
    const leftPid = [...tasks().values()].map((t) => t.pid);
    const shims = shimPidsUnder(d.stateDir);
    expect(shims.length).toBeGreaterThan(0);
    const sockets = shims.map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cwd/address`, "utf8").trim().replace(/^unix:\/\//, "");
      } catch {
        return "";
      }
    });
    const daemonPid = d.pid;
    await d.stop();
    expect(existsSync(`/proc/${daemonPid}`)).toBe(false);
    expect(shimPidsUnder(d.stateDir)).toEqual([]);
    for (const pid of leftPid) expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(work);
    expect(cgroupDirs(`/${NS}`)).toEqual([]);
    expect(existsSync(d.dir)).toBe(false);
    for (const s of sockets.filter(Boolean)) expect(existsSync(s)).toBe(false);
  });
});

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
