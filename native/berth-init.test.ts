/**
 * native/berth-init on the real kernel, as root: each test sends a plan built with
 * encodePlan and checks what the kernel did, the report lines (native/PROTOCOL.md) and
 * the exit code. Everything that mounts runs in a new mount namespace made rslave first,
 * so nothing reaches the host; temp dirs are removed and only processes a test started
 * are ended, by pid.
 */
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, closeSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, symlinkSync, writeFileSync, constants } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodePlan } from "../src/plan/encode.ts";
import { CLONE, CREATE, MOUNT_ATTR, MS, OP, type OpArg, type OpName } from "../src/plan/ops.ts";
import { HelperSession, type HelperOptions, type Report } from "../src/sys/init-helper.ts";

type Step = [OpName, OpArg[]];

const isRoot = process.getuid?.() === 0;
const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;
const RLIMIT_CORE = 4;
const RLIMIT_NOFILE = 7;
const SLAVE = MS.REC | MS.SLAVE;
/** the first ops of every plan that mounts: a private copy of the mount table, rslave */
const NEW_MOUNT_NS: Step[] = [["UNSHARE", [CLONE.NEWNS]], ["MOUNT", ["", "/", "", SLAVE, ""]]];

function encode(steps: Step[]): Uint8Array {
  return encodePlan({ ops: steps.map(([op, args]) => ({ op, args, field: "test", what: op })) });
}

/** exec a program found at an absolute path: FIND_EXEC + EXEC with an empty environment unless given */
function exec(argv: string[], env: string[] = []): Step[] {
  return [["FIND_EXEC", [argv[0]!]], ["EXEC", [argv.length, ...argv, ...env]]];
}

let dirs: string[] = [];
let sessions: HelperSession[] = [];
let pids: number[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "berth-init-"));
  dirs.push(d);
  return d;
}

function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.startsWith("Z");
  } catch {
    return false;
  }
}

afterEach(() => {
  for (const s of sessions) {
    s.close();
    if (s.subprocess!.exitCode === null && s.subprocess!.signalCode === null) s.subprocess!.kill("SIGKILL");
  }
  for (const pid of pids) {
    try {
      if (alive(pid)) process.kill(pid, "SIGKILL");
    } catch (err) {
      // it exited (and was reaped) between the look and the kill: gone, as the kill wanted
      if ((err as { code?: string }).code !== "ESRCH") throw err;
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
  sessions = [];
  pids = [];
});

beforeAll(() => {
  // test this checkout's source, not a stale binary
  const r = Bun.spawnSync(["sh", "scripts/build-native.sh"], { cwd: join(import.meta.dir, ".."), stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`build-native.sh failed: ${r.stderr.toString()}`);
}, 120_000); // a static build of every native/ file: seconds on a busy host, a minute under the v2 VM's emulation

function start(plan: Uint8Array | Step[], opts: HelperOptions = {}): HelperSession {
  const s = new HelperSession(plan instanceof Uint8Array ? plan : encode(plan), { stdio: ["ignore", "pipe", "pipe"], ...opts });
  sessions.push(s);
  return s;
}

async function finish(s: HelperSession, reports: Report[] = []): Promise<{ reports: Report[]; stdout: string; stderr: string; code: number }> {
  for (let r = s.next(); r.kind !== "eof"; r = s.next()) {
    reports.push(r);
    if (r.kind === "pid") pids.push(r.pid);
  }
  const [stdout, stderr, code] = await Promise.all([
    new Response(s.subprocess!.stdout as ReadableStream).text(),
    new Response(s.subprocess!.stderr as ReadableStream).text(),
    s.subprocess!.exited,
  ]);
  return { reports, stdout, stderr, code };
}

function run(plan: Uint8Array | Step[], opts: HelperOptions = {}) {
  return finish(start(plan, opts));
}

function error(step: number, errno: number, syscall: string, detail = ""): Report {
  return { kind: "error", step, errno, syscall, detail };
}

/** read one byte from a FIFO once the helper opens it for writing, polling until a deadline */
async function readFifo(path: string, ms = 5000): Promise<string> {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(8);
    for (const deadline = Date.now() + ms; Date.now() < deadline; await Bun.sleep(5)) {
      try {
        const n = readSync(fd, buf);
        if (n > 0) return buf.subarray(0, n).toString();
      } catch (err) {
        if ((err as { code?: string }).code !== "EAGAIN") throw err;
      }
    }
    throw new Error(`nothing written to ${path} within ${ms} ms`);
  } finally {
    closeSync(fd);
  }
}

function mkfifo(path: string): void {
  const r = Bun.spawnSync(["mkfifo", path]);
  if (r.exitCode !== 0) throw new Error(`mkfifo ${path} failed`);
}

describe.skipIf(!isRoot)("berth-init", () => {
  test("UNSHARE(NEWUTS) + SETHOSTNAME: the program sees the new name, the host keeps its own", async () => {
    const host = readFileSync("/proc/sys/kernel/hostname", "utf8");
    const r = await run([["UNSHARE", [CLONE.NEWUTS]], ["SETHOSTNAME", ["berth-test"]], ...exec(["/bin/hostname"])]);
    expect(r).toEqual({ reports: [], stdout: "berth-test\n", stderr: "", code: 0 });
    expect(readFileSync("/proc/sys/kernel/hostname", "utf8")).toBe(host);
  });

  test("EXEC passes exactly argv and the plan's environment", async () => {
    const r = await run(exec(["/usr/bin/env"], ["A=1", "B=two words"]));
    expect(r.stdout).toBe("A=1\nB=two words\n");
    expect(r.code).toBe(0);
  });

  describe("FIND_EXEC", () => {
    test("no candidate exists: ENOENT at its step, detail the first candidate", async () => {
      const r = await run([["UMASK", [0o22]], ["FIND_EXEC", ["/nonexistent/a", "/nonexistent/b"]], ["EXEC", [1, "a"]]]);
      expect(r.reports).toEqual([error(1, 2, "faccessat", "/nonexistent/a")]);
      expect(r.code).toBe(1);
    });

    test("the first candidate that exists wins", async () => {
      const r = await run([["FIND_EXEC", ["/nonexistent/echo", "/bin/echo", "/usr/bin/false"]], ["EXEC", [2, "echo", "hi"]]]);
      expect(r).toEqual({ reports: [], stdout: "hi\n", stderr: "", code: 0 });
    });

    test("an existing file that is not executable, or a directory, is EACCES with the candidate", async () => {
      const d = tempDir();
      const file = join(d, "script");
      writeFileSync(file, "#!/bin/sh\n", { mode: 0o644 });
      let r = await run([["FIND_EXEC", ["/nonexistent/x", file, "/bin/true"]], ["EXEC", [1, "x"]]]);
      expect(r.reports).toEqual([error(0, 13, "faccessat", file)]);
      r = await run([["FIND_EXEC", [d]], ["EXEC", [1, "x"]]]);
      expect(r.reports).toEqual([error(0, 13, "faccessat", d)]);
    });

    test("a candidate the user cannot reach is passed over, and reported as EACCES when nothing else exists", async () => {
      const d = tempDir(); // 0700, root's
      const prog = join(d, "prog");
      writeFileSync(prog, "#!/bin/sh\n", { mode: 0o755 });
      const asUser: Step[] = [["SETGROUPS", []], ["SETRESGID", [1000]], ["SETRESUID", [1000]]];
      let r = await run([...asUser, ["FIND_EXEC", [prog, "/bin/echo"]], ["EXEC", [2, "echo", "fallback"]]]);
      expect(r.stdout).toBe("fallback\n");
      r = await run([...asUser, ["FIND_EXEC", ["/nonexistent/prog", prog]], ["EXEC", [1, "prog"]]]);
      expect(r.reports).toEqual([error(3, 13, "faccessat", prog)]);
    });
  });

  describe("EXEC after READY reports on stderr and exits 127/126", () => {
    test("a missing interpreter is 127, a file the kernel cannot run is 126", async () => {
      const d = tempDir();
      const noInterp = join(d, "no-interp");
      writeFileSync(noInterp, "#!/nonexistent/interp\n", { mode: 0o755 });
      const garbage = join(d, "garbage");
      writeFileSync(garbage, "\x01\x02 not a program\n", { mode: 0o755 });
      let r = await run([["READY", []], ...exec([noInterp])]);
      expect(r.reports).toEqual([{ kind: "ready" }]);
      expect(r.stderr).toBe(`berth-init: exec ${noInterp}: No such file or directory\n`);
      expect(r.code).toBe(127);
      r = await run([["READY", []], ...exec([garbage])]);
      expect(r.stderr).toBe(`berth-init: exec ${garbage}: Exec format error\n`);
      expect(r.code).toBe(126);
    });
  });

  describe("SETNS", () => {
    test("a namespace of another type, or a plain file, is EINVAL from setns at its step", async () => {
      const d = tempDir();
      writeFileSync(join(d, "f"), "");
      let r = await run([["UMASK", [0o22]], ["SETNS", ["/proc/self/ns/net", CLONE.NEWUTS]], ...exec(["/bin/true"])]);
      expect(r.reports).toEqual([error(1, 22, "setns", "/proc/self/ns/net")]);
      r = await run([["SETNS", [join(d, "f"), CLONE.NEWNET]], ...exec(["/bin/true"])]);
      expect(r.reports).toEqual([error(0, 22, "setns", join(d, "f"))]);
      r = await run([["SETNS", ["/nonexistent/ns", CLONE.NEWNET]], ...exec(["/bin/true"])]);
      expect(r.reports).toEqual([error(0, 2, "open", "/nonexistent/ns")]);
    });

    test("joining a namespace of the right type works", async () => {
      const r = await run([["SETNS", [`/proc/${process.pid}/ns/uts`, CLONE.NEWUTS]], ...exec(["/bin/hostname"])]);
      expect(r.stdout).toBe(`${readFileSync("/proc/sys/kernel/hostname", "utf8")}`);
      expect(r.code).toBe(0);
    });
  });

  describe("FORK", () => {
    test("wait=1 with NEWPID: the child is pid 1 and its exit code comes back", async () => {
      const r = await run([["UNSHARE", [CLONE.NEWPID]], ["FORK", [1, 0, 64]], ...exec(["/bin/sh", "-c", "echo $$; exit 7"])]);
      expect(r.reports).toEqual([{ kind: "pid", pid: expect.any(Number) }]);
      expect(r.stdout).toBe("1\n");
      expect(r.code).toBe(7);
    });

    test("wait=1: a child killed by a signal is 128+signal; the parent ignores SIGTERM", async () => {
      let r = await run([["FORK", [1, 0, 64]], ...exec(["/bin/sh", "-c", "kill -TERM $PPID; echo alive; kill -KILL $$"])]);
      expect(r.stdout).toBe("alive\n");
      expect(r.code).toBe(128 + 9);
      r = await run([["FORK", [1, 0, 64]], ["RESET_SIGNALS", []], ...exec(["/bin/sh", "-c", "kill -TERM $$"])]);
      expect(r.code).toBe(128 + 15);
    });

    test("wait=0: `pid N` comes first, the parent exits 0 and the child goes on", async () => {
      const d = tempDir();
      mkfifo(join(d, "exec.fifo"));
      const s = start([
        ["FORK", [0, 0, 64]], ["OPEN_DIR", [d]], ["READY", []], ["WAIT_START", ["exec.fifo"]], ...exec(["/bin/echo", "child ran"]),
      ]);
      const first = s.next();
      expect(first).toEqual({ kind: "pid", pid: expect.any(Number) });
      const child = (first as { pid: number }).pid;
      pids.push(child);
      expect(s.next()).toEqual({ kind: "ready" });
      expect(await s.subprocess!.exited).toBe(0);
      expect(alive(child)).toBe(true); // blocked in WAIT_START
      expect(await readFifo(join(d, "exec.fifo"))).toBe("0");
      const r = await finish(s);
      expect(r.stdout).toBe("child ran\n");
    });
  });

  test("WAIT_START: the program runs only once the FIFO is opened for reading", async () => {
    const d = tempDir();
    const proof = join(d, "proof");
    mkfifo(join(d, "exec.fifo"));
    const s = start([["OPEN_DIR", [d]], ["READY", []], ["WAIT_START", ["exec.fifo"]], ...exec(["/bin/touch", proof])]);
    expect(s.next()).toEqual({ kind: "ready" });
    expect(existsSync(proof)).toBe(false);
    expect(s.subprocess!.exitCode).toBe(null);
    expect(await readFifo(join(d, "exec.fifo"))).toBe("0");
    const r = await finish(s);
    expect(r.code).toBe(0);
    expect(existsSync(proof)).toBe(true);
  });

  describe("a mini container from a busybox root filesystem", () => {
    for (const how of ["PIVOT_ROOT", "MOVE_CHROOT"] as const) {
      test(`${how}: pid 1, own hostname, /proc and /dev/null, no old root left`, async () => {
        const rootfs = join(tempDir(), "rootfs");
        mkdirSync(join(rootfs, "bin"), { recursive: true });
        copyFileSync("/bin/busybox", join(rootfs, "bin/busybox"));
        chmodSync(join(rootfs, "bin/busybox"), 0o755);
        const script = "echo $$; /bin/busybox hostname; ls /; cat /proc/1/cmdline; echo; ls -l /dev/null; readlink /dev/fd; echo x > /dev/null";
        const r = await run([
          ["UNSHARE", [CLONE.NEWNS | CLONE.NEWPID | CLONE.NEWUTS | CLONE.NEWIPC]],
          ["FORK", [1, 0, 64]],
          ["MOUNT", ["", "/", "", SLAVE, ""]],
          ["MOUNT", [rootfs, rootfs, "", MS.BIND | MS.REC, ""]],
          ["MOUNT_IN_ROOT", [rootfs, "/proc", "proc", "proc", MS.NOSUID | MS.NODEV | MS.NOEXEC, "", CREATE.DIR, 0]],
          ["MOUNT_IN_ROOT", [rootfs, "/dev", "tmpfs", "tmpfs", MS.NOSUID, "mode=755", CREATE.DIR, 0]],
          ["MKNOD_IN_ROOT", [rootfs, "/dev/null", S_IFCHR | 0o666, (1 << 8) | 3, 0, 0]],
          ["SYMLINK_IN_ROOT", [rootfs, "busybox", "/bin/sh"]],
          ["SYMLINK_IN_ROOT", [rootfs, "/proc/self/fd", "/dev/fd"]],
          ["SETHOSTNAME", ["mini"]],
          [how, [rootfs]],
          ["CHDIR", ["/"]],
          ...exec(["/bin/sh", "-c", script], ["PATH=/bin"]),
        ]);
        expect(r.stderr).toBe("");
        const lines = r.stdout.split("\n");
        expect(lines.slice(0, 5)).toEqual(["1", "mini", "bin", "dev", "proc"]);
        expect(lines[5]).toBe(`/bin/sh\0-c\0${script}\0`);
        expect(lines[6]).toMatch(/^crw-rw-rw- +1 0 +0 +1, +3 /);
        expect(lines[7]).toBe("/proc/self/fd");
        expect(r.code).toBe(0);
        expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(rootfs);
      });
    }
  });

  test("*_IN_ROOT: symlinks pointing outside the root land inside it, never on the host", async () => {
    const base = tempDir();
    const rootfs = join(base, "rootfs");
    const outside = join(base, "outside");
    mkdirSync(rootfs);
    mkdirSync(outside);
    symlinkSync(outside, join(rootfs, "evil")); // absolute, to a host dir that exists
    symlinkSync("../../../../../../..", join(rootfs, "up")); // climbs past the root
    const r = await run([
      ...NEW_MOUNT_NS,
      ["MOUNT_IN_ROOT", [rootfs, "/evil/x", "tmpfs", "tmpfs", 0, "", CREATE.DIR, 0]],
      ["MOUNT_IN_ROOT", [rootfs, "/up/outside/y", "tmpfs", "tmpfs", 0, "", CREATE.DIR, 0]],
      ["MKDIR_IN_ROOT", [rootfs, "/evil/z", 0o755]],
      ["SYMLINK_IN_ROOT", [rootfs, "t", "/evil/link"]],
      ["MKNOD_IN_ROOT", [rootfs, "/up/fifo", S_IFIFO | 0o600, 0, 0, 0]],
      ...exec(["/bin/cat", "/proc/self/mountinfo"]),
    ]);
    expect(r.reports).toEqual([]);
    expect(r.code).toBe(0);
    const points = r.stdout.split("\n").map((l) => l.split(" ")[4]);
    expect(points).toContain(join(rootfs, outside, "x"));
    expect(points).toContain(join(rootfs, "outside/y"));
    expect(points).not.toContain(join(outside, "x"));
    for (const p of ["x", "z", "link"]) expect(existsSync(join(outside, p))).toBe(false);
    expect(existsSync("/outside/y")).toBe(false);
    expect(statSync(join(rootfs, outside, "z")).isDirectory()).toBe(true);
    expect(lstatSync(join(rootfs, outside, "link")).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(rootfs, "fifo")).isFIFO()).toBe(true);
  });

  test("*_IN_ROOT: links to long missing paths, forty deep, are ENAMETOOLONG, not a crash; nothing is made", async () => {
    // each link points through the next to 2000 missing directories: the paths to make,
    // links expanded, nest 80 000 deep — the helper stops at its bound instead of its stack
    const rootfs = tempDir();
    const missing = "/m".repeat(2000);
    for (let i = 1; i <= 40; i++) symlinkSync(i < 40 ? `/L${i + 1}${missing}` : missing, join(rootfs, `L${i}`));
    const r = await run([["MKDIR_IN_ROOT", [rootfs, "/L1/x", 0o755]]]);
    expect(r.reports).toEqual([error(0, 36, "openat2", "/L1/x")]);
    expect(r.code).toBe(1);
    expect(existsSync(join(rootfs, "m"))).toBe(false);
  });

  test("MOUNT_IN_ROOT: create=2 makes an empty file 0644, create=3 follows the source, optional skips", async () => {
    const base = tempDir();
    const rootfs = join(base, "rootfs");
    mkdirSync(rootfs);
    writeFileSync(join(base, "src-file"), "hello");
    const r = await run([
      ...NEW_MOUNT_NS,
      ["UMASK", [0o077]],
      ["MOUNT_IN_ROOT", [rootfs, "/etc/a/hosts", join(base, "src-file"), "", MS.BIND, "", CREATE.FILE, 0]],
      ["MOUNT_IN_ROOT", [rootfs, "/like/file", join(base, "src-file"), "", MS.BIND, "", CREATE.LIKE_SOURCE, 0]],
      ["MOUNT_IN_ROOT", [rootfs, "/like/dir", base, "", MS.BIND, "", CREATE.LIKE_SOURCE, 0]],
      ["MOUNT_IN_ROOT", [rootfs, "/missing", base, "", MS.BIND, "", CREATE.NONE, 1]],
      ...exec(["/bin/sh", "-c", `cat ${rootfs}/etc/a/hosts ${rootfs}/like/file; ls ${rootfs}/like/dir`]),
    ]);
    expect(r.reports).toEqual([]);
    expect(r.stdout).toBe("hellohellorootfs\nsrc-file\n");
    expect(statSync(join(rootfs, "etc/a/hosts")).mode & 0o7777).toBe(0o644);
    expect(statSync(join(rootfs, "etc/a")).mode & 0o7777).toBe(0o755);
    expect(statSync(join(rootfs, "like/dir")).isDirectory()).toBe(true);
    expect(existsSync(join(rootfs, "missing"))).toBe(false);

    const fail = await run([...NEW_MOUNT_NS, ["MOUNT_IN_ROOT", [rootfs, "/missing", base, "", MS.BIND, "", CREATE.NONE, 0]]]);
    expect(fail.reports).toEqual([error(2, 2, "openat2", "/missing")]);
  });

  test("MKDIR_IN_ROOT, MKNOD_IN_ROOT, SYMLINK_IN_ROOT: exact modes whatever the umask, owners, existing entries", async () => {
    const rootfs = tempDir();
    writeFileSync(join(rootfs, "node"), "a regular file first");
    const r = await run([
      ["UMASK", [0o077]],
      ["MKDIR_IN_ROOT", [rootfs, "/a/b/c", 0o711]],
      ["MKDIR_IN_ROOT", [rootfs, "/a/b/c", 0o700]],
      ["MKNOD_IN_ROOT", [rootfs, "/node", S_IFIFO | 0o640, 0, 1234, 5678]],
      ["MKNOD_IN_ROOT", [rootfs, "/dev/fifo", S_IFIFO | 0o666, 0, 0, 0]],
      ["SYMLINK_IN_ROOT", [rootfs, "target", "/l/link"]],
      ["SYMLINK_IN_ROOT", [rootfs, "other", "/l/link"]],
      ...exec(["/bin/true"]),
    ]);
    expect(r.reports).toEqual([]);
    expect(r.code).toBe(0);
    expect(statSync(join(rootfs, "a")).mode & 0o7777).toBe(0o755);
    expect(statSync(join(rootfs, "a/b")).mode & 0o7777).toBe(0o755);
    expect(statSync(join(rootfs, "a/b/c")).mode & 0o7777).toBe(0o711);
    const node = lstatSync(join(rootfs, "node"));
    expect([node.isFIFO(), node.mode & 0o7777, node.uid, node.gid]).toEqual([true, 0o640, 1234, 5678]);
    expect(lstatSync(join(rootfs, "dev/fifo")).mode & 0o7777).toBe(0o666);
    expect(lstatSync(join(rootfs, "l/link")).isSymbolicLink()).toBe(true);

    const fail = await run([["MKDIR_IN_ROOT", [rootfs, "/node/sub", 0o755]]]);
    expect(fail.reports).toEqual([error(0, 20, "openat2", "/node/sub")]);
  });

  test("MOUNT: a failure names mount, its errno and the target", async () => {
    const r = await run([...NEW_MOUNT_NS, ["MOUNT", ["tmpfs", "/nonexistent-berth-target", "tmpfs", 0, ""]]]);
    expect(r.reports).toEqual([error(2, 2, "mount", "/nonexistent-berth-target")]);
    expect(r.code).toBe(1);
    expect(existsSync("/nonexistent-berth-target")).toBe(false);
  });

  test("MOUNT MS_REMOUNT: EPERM on a locked mount is retried with the locked flags", async () => {
    const m = tempDir();
    const s = start([
      ...NEW_MOUNT_NS,
      ["MOUNT", ["tmpfs", m, "tmpfs", MS.NOSUID | MS.NODEV | MS.NOEXEC, ""]],
      ["UNSHARE", [CLONE.NEWUSER]],
      ["USERNS_SYNC", []],
      ["UNSHARE", [CLONE.NEWNS]], // owned by the new user namespace: the copied mounts are locked
      ["MOUNT", ["", m, "", MS.REMOUNT | MS.BIND | MS.RDONLY, ""]],
      ...exec(["/bin/cat", "/proc/self/mountinfo"]),
    ]);
    const map = s.next();
    expect(map).toEqual({ kind: "map", pid: s.pid });
    writeFileSync(`/proc/${s.pid}/uid_map`, "0 0 1\n");
    writeFileSync(`/proc/${s.pid}/gid_map`, "0 0 1\n");
    s.go();
    const r = await finish(s);
    expect(r.reports).toEqual([]);
    const line = r.stdout.split("\n").find((l) => l.split(" ")[4] === m);
    expect(line?.split(" ")[5]?.split(",")).toEqual(expect.arrayContaining(["ro", "nosuid", "nodev", "noexec"]));
  });

  test("USERNS_SYNC: anything but `g` ends the helper with exit 1 and no report", async () => {
    const s = start([["UNSHARE", [CLONE.NEWUSER]], ["USERNS_SYNC", []], ...exec(["/bin/true"])]);
    expect(s.next()).toEqual({ kind: "map", pid: s.pid });
    s.send("x");
    const r = await finish(s);
    expect(r.reports).toEqual([]);
    expect(r.code).toBe(1);
  });

  test("MOUNT_SETATTR makes a bind mount read-only, recursively", async () => {
    const d = tempDir();
    const r = await run([
      ...NEW_MOUNT_NS,
      ["MOUNT", [d, d, "", MS.BIND | MS.REC, ""]],
      ["MOUNT_SETATTR", [d, "/", MOUNT_ATTR.RDONLY, 0, 0, 1]],
      ...exec(["/bin/sh", "-c", `touch ${d}/f 2>/dev/null || echo refused`]),
    ]);
    expect(r.reports).toEqual([]);
    expect(r.stdout).toBe("refused\n");
    expect(existsSync(join(d, "f"))).toBe(false);
  });

  test("MASK_PATH and BIND_SELF_IN_ROOT: runc's masked and readonly paths", async () => {
    const root = tempDir();
    mkdirSync(join(root, "secret-dir"));
    writeFileSync(join(root, "secret-dir/s"), "s");
    writeFileSync(join(root, "key"), "k");
    mkdirSync(join(root, "ro"));
    const r = await run([
      ...NEW_MOUNT_NS,
      ["MASK_PATH", [root, "/secret-dir"]],
      ["MASK_PATH", [root, "/key"]],
      ["MASK_PATH", [root, "/missing"]],
      ["BIND_SELF_IN_ROOT", [root, "/ro", 0]],
      ["MOUNT_IN_ROOT", [root, "/ro", "", "", MS.BIND | MS.REMOUNT | MS.RDONLY, "", CREATE.NONE, 0]],
      ["BIND_SELF_IN_ROOT", [root, "/missing", 1]],
      ...exec(["/bin/sh", "-c", `ls -A ${root}/secret-dir; cat ${root}/key; touch ${root}/ro/f 2>/dev/null || echo ro`]),
    ]);
    expect(r.reports).toEqual([]);
    expect(r.stdout).toBe("ro\n");
    const fail = await run([...NEW_MOUNT_NS, ["BIND_SELF_IN_ROOT", [root, "/missing", 0]]]);
    expect(fail.reports).toEqual([error(2, 2, "openat2", "/missing")]);
  });

  describe("CLOSE_FROM", () => {
    const probe = exec(["/bin/sh", "-c", "for n in 3 4 5 6; do [ -e /proc/$$/fd/$n ] && echo $n; done; true"]);

    test("--preserve-fds reach the program; fds from CLOSE_FROM's fd up, and the socket, do not", async () => {
      let r = await run([["CLOSE_FROM", [5]], ...probe], { preserveFds: 2 });
      expect(r.stdout).toBe("3\n4\n"); // 5 is the helper's socket
      r = await run([["CLOSE_FROM", [4]], ...probe], { preserveFds: 2 });
      expect(r.stdout).toBe("3\n");
      r = await run(probe);
      expect(r.stdout).toBe(""); // the socket at fd 3 is close-on-exec even without CLOSE_FROM
    });
  });

  test("SETRLIMIT: soft and hard limits, all ones as unlimited", async () => {
    const r = await run([
      ["SETRLIMIT", [RLIMIT_NOFILE, 123, 456]],
      ["SETRLIMIT", [RLIMIT_CORE, -1n, -1n]],
      ...exec(["/bin/sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c"]),
    ]);
    expect(r.stdout).toBe("123\n456\nunlimited\n");
  });

  test("CHDIR, UMASK, SETSID, SETGROUPS, SETRESGID, SETRESUID", async () => {
    const d = tempDir();
    chmodSync(d, 0o755);
    const r = await run([
      ["CHDIR", [d]],
      ["UMASK", [0o027]],
      ["SETSID", []],
      ["SETGROUPS", [10, 20]],
      ["SETRESGID", [5]],
      ["SETRESUID", [7]],
      ...exec(["/bin/sh", "-c", "pwd; umask; [ \"$(cut -d' ' -f6 /proc/$$/stat)\" = $$ ] && echo leader; grep -E '^(Uid|Gid|Groups)' /proc/self/status"]),
    ]);
    expect(r.stdout).toBe(`${d}\n0027\nleader\nUid:\t7\t7\t7\t7\nGid:\t5\t5\t5\t5\nGroups:\t10 20 \n`);
    const fail = await run([["CHDIR", ["/nonexistent/dir"]]]);
    expect(fail.reports).toEqual([error(0, 2, "chdir", "/nonexistent/dir")]);
  });

  test("KEEPCAPS + CAPS: a non-root program keeps exactly the capabilities asked for, ambient too", async () => {
    const NET_BIND = 1n << 10n;
    const r = await run([
      ["KEEPCAPS", [1]],
      ["SETGROUPS", []],
      ["SETRESGID", [1000]],
      ["SETRESUID", [1000]],
      ["KEEPCAPS", [0]],
      ["CAPS", [NET_BIND, NET_BIND, NET_BIND, NET_BIND, NET_BIND]],
      ["NO_NEW_PRIVS", []],
      ...exec(["/bin/grep", "-E", "^(Cap|NoNewPrivs)", "/proc/self/status"]),
    ]);
    expect(r.reports).toEqual([]);
    const caps = "0000000000000400";
    expect(r.stdout).toBe(`CapInh:\t${caps}\nCapPrm:\t${caps}\nCapEff:\t${caps}\nCapBnd:\t${caps}\nCapAmb:\t${caps}\nNoNewPrivs:\t1\n`);
  });

  test("SECCOMP: the filter is loaded; a bad program length is a plan error", async () => {
    // ld [nr]; jeq uname(63) ? errno(EPERM) : allow
    const insns: [number, number, number, number][] = [[0x20, 0, 0, 0], [0x15, 0, 1, 63], [0x06, 0, 0, 0x00050001], [0x06, 0, 0, 0x7fff0000]];
    const prog = new Uint8Array(insns.length * 8);
    const view = new DataView(prog.buffer);
    insns.forEach(([code, jt, jf, k], i) => {
      view.setUint16(i * 8, code, true);
      view.setUint8(i * 8 + 2, jt);
      view.setUint8(i * 8 + 3, jf);
      view.setUint32(i * 8 + 4, k, true);
    });
    const r = await run([["NO_NEW_PRIVS", []], ["SECCOMP", [0, prog]], ...exec(["/bin/sh", "-c", "/bin/uname 2>&1 || echo blocked"])]);
    expect(r.stdout).toEndWith("blocked\n");
    const bad = await run([["NO_NEW_PRIVS", []], ["SECCOMP", [0, prog.subarray(0, 12)]]]);
    expect(bad.reports).toEqual([error(1, 22, "plan", "program length 12")]);
  });

  test("RESET_SIGNALS: no signal ignored or blocked reaches the program", async () => {
    const r = await run([["RESET_SIGNALS", []], ...exec(["/bin/grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"])]);
    expect(r.stdout).toBe("SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
  });

  test("LOOPBACK_UP brings lo up in a new network namespace", async () => {
    const r = await run([["UNSHARE", [CLONE.NEWNET]], ["LOOPBACK_UP", []], ...exec(["/bin/busybox", "ip", "link", "show", "lo"])]);
    expect(r.stdout).toMatch(/<LOOPBACK,UP,LOWER_UP>/);
  });

  test("JOIN_KEYRING: the program's session keyring has the name", async () => {
    const name = `berth-test-${process.pid}-${Date.now()}`;
    const r = await run([["JOIN_KEYRING", [name]], ...exec(["/bin/cat", "/proc/keys"])]);
    expect(r.stdout).toContain(`keyring   ${name}: empty`);
  });

  test("WRITE_FILE writes the string without its NUL; a missing file is open ENOENT", async () => {
    const d = tempDir();
    writeFileSync(join(d, "f"), "");
    let r = await run([["WRITE_FILE", [join(d, "f"), "value\n"]]]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(d, "f"), "utf8")).toBe("value\n");
    r = await run([["WRITE_FILE", [join(d, "nope"), "x"]]]);
    expect(r.reports).toEqual([error(0, 2, "open", join(d, "nope"))]);
    expect(existsSync(join(d, "nope"))).toBe(false);
  });

  describe("a malformed plan is refused before any op runs", () => {
    test("bad magic is an error at step -1", async () => {
      const bytes = encode([["SETHOSTNAME", ["x"]]]);
      bytes.set(new TextEncoder().encode("NOTAPLAN"), 0);
      const r = await run(bytes);
      expect(r.reports).toEqual([error(-1, 22, "plan", "magic")]);
      expect(r.code).toBe(1);
    });

    test("bad arguments are errors at the op's step, and earlier ops do not run", async () => {
      const d = tempDir();
      const f = join(d, "f");
      writeFileSync(f, "unchanged");
      const cases: [Step, string][] = [
        [["CHDIR", [new Uint8Array([47])]], "argument 0"], // a string without its NUL
        [["CHDIR", [new Uint8Array([47, 0, 47, 0])]], "argument 0"], // a NUL inside
        [["UMASK", [new Uint8Array(4)]], "argument 0"], // an integer that is not 8 bytes
        [["UNSHARE", [1, 2]], "argument count 2"],
        [["FIND_EXEC", []], "argument count 0"],
        [["EXEC", [3, "/bin/true"]], "argc 3"],
        [["SETRESUID", [-1]], "argument 0"], // -1 would mean "unchanged" to setresuid
        [["SETRESGID", [2 ** 32]], "argument 0"],
        [["MOUNT_IN_ROOT", ["/", "/x", "", "", 0, "", 4, 0]], "create 4"],
        [["IDMAP_TREE", [64, "/", "0 0 1\n", "0 0 1\n", 0]], "slot 64"],
        [["CONNECT_UNIX", [99, "/x.sock"]], "slot 99"],
        [["SECCOMP_NOTIFY", [0, new Uint8Array(8), 64]], "slot 64"],
        [["SCHED_SETATTR", [new Uint8Array(40)]], "sched_attr size 40"],
      ];
      for (const [step, detail] of cases) {
        const r = await run([["WRITE_FILE", [f, "changed"]], step]);
        expect(r.reports).toEqual([error(1, 22, "plan", detail)]);
      }
      expect(readFileSync(f, "utf8")).toBe("unchanged");
    });

    test("an op of the helper's first process after FORK is refused: its code never runs in the container's process", async () => {
      const d = tempDir();
      const f = join(d, "f");
      writeFileSync(f, "unchanged");
      const hostOps: Step[] = [
        ["SETNS", [`/proc/${process.pid}/ns/uts`, CLONE.NEWUTS]],
        ["USERNS_SYNC", []],
        ["IDMAP_TREE", [0, "/", "0 0 1\n", "0 0 1\n", 0]],
        ["OPEN_TREE", [0, "/", 0]],
        ["CONNECT_UNIX", [0, "/x.sock"]],
      ];
      for (const step of hostOps) {
        const r = await run([["WRITE_FILE", [f, "changed"]], ["FORK", [1, 0, 64]], step, ...exec(["/bin/true"])]);
        expect(r.reports).toEqual([error(2, 22, "plan", `after FORK: op ${OP[step[0]]}`)]);
        expect(r.code).toBe(1);
      }
      expect(readFileSync(f, "utf8")).toBe("unchanged");
      // before FORK the same op runs
      const r = await run([["SETNS", [`/proc/${process.pid}/ns/uts`, CLONE.NEWUTS]], ["FORK", [1, 0, 64]], ...exec(["/bin/hostname"])]);
      expect(r).toEqual({ reports: [{ kind: "pid", pid: expect.any(Number) }], stdout: readFileSync("/proc/sys/kernel/hostname", "utf8"), stderr: "", code: 0 });
    });

    test("an unknown op code, an argument past the end, trailing bytes", async () => {
      let bytes = encode([["SETHOSTNAME", ["a"]], ["CHDIR", ["/"]]]);
      // op 1 starts at 16 + 8 + 4 + 2 = 30: code, argc, then its argument's length
      const view = () => new DataView(bytes.buffer);
      view().setUint32(30, 99, true);
      expect((await run(bytes)).reports).toEqual([error(1, 22, "plan", "unknown op 99")]);
      bytes = encode([["SETHOSTNAME", ["a"]], ["CHDIR", ["/"]]]);
      view().setUint32(38, 1000, true);
      expect((await run(bytes)).reports).toEqual([error(1, 22, "plan", "truncated argument 0")]);
      bytes = encode([["SETHOSTNAME", ["a"]], ["CHDIR", ["/"]]]);
      view().setUint32(12, 1, true);
      expect((await run(bytes)).reports).toEqual([error(-1, 22, "plan", "trailing bytes 14")]);
    });
  });
});
