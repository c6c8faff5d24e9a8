/**
 * src/sys/libc.ts over native/libc-binding.node, on the real kernel: what each call
 * returns, and that a failure carries its own errno (the binding returns -errno, so
 * nothing in between can overwrite it).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  addressOf, canAccess, chmodPath, close, errno, flock, listDir, LOCK_EX, LOCK_NB, mkdirParents, mkdirPath, mkfifo, O, openPath, pathExists, POLLIN, pollFd,
  preadFd, R_OK, readBytes, readFd, readLink, readText, readTextIfExists, realPath, renamePath, rmdirPath, socketPair, spawnProcess, statFd, statFs, statPath, syscall, unlinkPath,
  rewriteText, setPipeSize, waitPid, waitProcessEnd, W_OK, writeAll, writeText, X_OK,
} from "./libc.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-libc-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SYS_getpid = 39, SYS_write = 1, SYS_readv = 19;

describe("files", () => {
  test("writeText then readText and readBytes round-trip, with the mode asked for", () => {
    const p = join(dir, "a.txt");
    writeText(p, "héllo\n", 0o600);
    expect(readText(p)).toBe("héllo\n");
    expect(Buffer.from(readBytes(p)).toString()).toBe("héllo\n");
    expect(statPath(p).mode & 0o777).toBe(0o600);
    writeText(p, "more\n", 0o600, O.APPEND);
    expect(readFileSync(p, "utf8")).toBe("héllo\nmore\n");
  });

  test("readText reads a proc file to its end (st_size 0) and a file larger than its first buffer", () => {
    expect(readText("/proc/self/status")).toContain(`Pid:\t${process.pid}\n`);
    const big = "x".repeat(100_000);
    writeFileSync(join(dir, "big"), big);
    expect(readText(join(dir, "big"))).toBe(big);
  });

  test("rewriteText rewrites a file in place (same inode) and never creates one", () => {
    const p = join(dir, "hosts");
    writeText(p, "a long first text\n");
    const inode = statPath(p).ino;
    expect(rewriteText(p, "short\n")).toBe(true);
    expect(readText(p)).toBe("short\n");
    expect(statPath(p).ino).toBe(inode);
    expect(rewriteText(join(dir, "not-there"), "x")).toBe(false);
    expect(existsSync(join(dir, "not-there"))).toBe(false);
    expect(rewriteText(join(dir, "no-dir", "hosts"), "x")).toBe(false);
  });

  test("a missing file is ENOENT, named in the error, and errno() says so", () => {
    const p = join(dir, "missing");
    expect(() => readText(p)).toThrow(`ENOENT: no such file or directory, open '${p}'`);
    expect(errno()).toBe(2);
    try {
      readText(p);
    } catch (err) {
      expect((err as { code: string }).code).toBe("ENOENT");
    }
  });

  test("a file that opens but cannot be read names read, not open (a directory: EISDIR)", () => {
    expect(() => readText(dir)).toThrow(`EISDIR: is a directory, read '${dir}'`);
    expect(errno()).toBe(21);
  });

  test("readTextIfExists: undefined when the file is not there (ENOENT, ENOTDIR); other failures raise with the path", () => {
    writeFileSync(join(dir, "present"), "here");
    expect(readTextIfExists(join(dir, "present"))).toBe("here");
    expect(readTextIfExists(join(dir, "absent"))).toBeUndefined();
    expect(readTextIfExists(join(dir, "present", "below"))).toBeUndefined();
    expect(() => readTextIfExists(dir)).toThrow(`EISDIR: is a directory, read '${dir}'`);
    // /proc/self/mem at offset 0 is unmapped: the file is there, its read fails
    expect(() => readTextIfExists("/proc/self/mem")).toThrow("EIO: input/output error, read '/proc/self/mem'");
  });

  test("readTextIfExists: ESRCH from the read (a /proc/PID file whose process was reaped after the open) or ENODEV (a cgroup file whose cgroup was removed) is absent too", () => {
    const p = join(dir, "proc-like");
    writeFileSync(p, "1 (x) S");
    // strace fails the read of that one file as the kernel does for a reaped process
    const read = (error: string) =>
      Bun.spawnSync(["strace", "-f", "-qq", "-o", "/dev/null", "-P", p, "-e", "trace=read", "-e", `inject=read:error=${error}`, process.execPath, "-e",
        `const { readTextIfExists } = await import(${JSON.stringify(join(import.meta.dir, "libc.ts"))}); try { console.log(String(readTextIfExists(process.argv[1]))) } catch (e) { console.log(e.message) }`, p]).stdout.toString().trim();
    expect(read("ESRCH")).toBe("undefined");
    expect(read("ENODEV")).toBe("undefined");
    expect(read("EIO")).toBe(`EIO: input/output error, read '${p}'`);
  });

  test("a path with a NUL byte is refused (EINVAL), not cut short at it", () => {
    writeFileSync(join(dir, "cut"), "x");
    expect(() => readText(`${join(dir, "cut")}\0ignored`)).toThrow("EINVAL");
  });

  test("a path longer than PATH_MAX is ENAMETOOLONG", () => {
    expect(() => readText(`/${"a".repeat(5000)}`)).toThrow("ENAMETOOLONG");
  });

  test("mkdir, mkdir -p, rename, rmdir, unlink, chmod and pathExists", () => {
    const d = join(dir, "d");
    mkdirPath(d, 0o700);
    expect(() => mkdirPath(d, 0o700)).toThrow("EEXIST");
    mkdirParents(join(d, "x", "y", "z"), 0o755);
    expect(statPath(join(d, "x", "y", "z")).isDirectory).toBe(true);
    renamePath(join(d, "x", "y", "z"), join(d, "x", "y", "w"));
    expect(pathExists(join(d, "x", "y", "z"))).toBe(false);
    rmdirPath(join(d, "x", "y", "w"));
    expect(() => rmdirPath(join(d, "x"))).toThrow("ENOTEMPTY");
    writeText(join(d, "f"), "1");
    chmodPath(join(d, "f"), 0o640);
    expect(statPath(join(d, "f")).mode & 0o777).toBe(0o640);
    unlinkPath(join(d, "f"));
    expect(pathExists(join(d, "f"))).toBe(false);
  });

  test("stat, lstat and fstat: type, size, owner", () => {
    const p = join(dir, "s");
    writeFileSync(p, "12345");
    symlinkSync(p, join(dir, "s-link"));
    const st = statPath(join(dir, "s-link"));
    expect(st).toMatchObject({ isFile: true, isSymbolicLink: false, size: 5, uid: process.getuid!() });
    expect(statPath(join(dir, "s-link"), { follow: false }).isSymbolicLink).toBe(true);
    const fd = openPath(p, O.RDONLY);
    try {
      expect(statFd(fd).size).toBe(5);
      const buf = new Uint8Array(3);
      expect(preadFd(fd, buf, 2)).toBe(3);
      expect(Buffer.from(buf).toString()).toBe("345");
      expect(readFd(fd, buf.subarray(0, 2))).toBe(2); // never past the subarray
      expect(Buffer.from(buf).toString()).toBe("125");
    } finally {
      close(fd);
    }
  });

  test("stat of a block device: its type and rdev, as stat(1) prints them", () => {
    const block = readdirSync("/sys/block")[0];
    if (block === undefined || !existsSync(`/dev/${block}`)) return;
    const [major, minor] = readFileSync(`/sys/block/${block}/dev`, "utf8").trim().split(":").map(Number);
    const st = statPath(`/dev/${block}`);
    expect(st.isBlockDevice).toBe(true);
    expect([(st.rdev >> 8) & 0xfff, (st.rdev & 0xff) | ((st.rdev >> 12) & ~0xff)]).toEqual([major!, minor!]);
    expect(statPath(dir).isBlockDevice).toBe(false);
  });

  test("statFs: the numbers df prints; a missing path is ENOENT naming it", () => {
    const fs = statFs(dir);
    const df = Bun.spawnSync(["stat", "-f", "-c", "%b %f %a %c %d %S %t", dir]).stdout.toString().trim().split(" ");
    expect(fs.blocks).toBe(Number(df[0]));
    expect(fs.bsize).toBe(Number(df[5]));
    expect(fs.type).toBe(parseInt(df[6]!, 16));
    expect(fs.files).toBe(Number(df[3]));
    expect(fs.bavail).toBeLessThanOrEqual(fs.bfree);
    expect(() => statFs(join(dir, "missing"))).toThrow(`ENOENT: no such file or directory, statfs '${join(dir, "missing")}'`);
  });

  test("canAccess: R_OK/W_OK/X_OK as access(2) answers, false for a missing path", () => {
    const p = join(dir, "modes");
    writeFileSync(p, "");
    chmodPath(p, 0o644);
    expect(canAccess(p, R_OK)).toBe(true);
    expect(canAccess(p, X_OK)).toBe(false); // root too: execute needs some x bit
    expect(canAccess("/bin/sh", X_OK)).toBe(true);
    expect(canAccess(dir, W_OK)).toBe(true);
    expect(canAccess("/proc/sys/kernel/osrelease", W_OK)).toBe(false); // sysctl files check their mode bits for root too
    expect(canAccess(join(dir, "missing"), R_OK)).toBe(false);
  });

  test("readFdText: a pipe read to its end (standard input in the CLIs)", () => {
    const r = Bun.spawnSync([process.execPath, "-e", `const { readFdText } = await import(${JSON.stringify(join(import.meta.dir, "libc.ts"))}); process.stdout.write(String(readFdText(0).length))`], {
      stdin: new TextEncoder().encode("é".repeat(40000)),
    });
    expect(r.stdout.toString()).toBe("40000");
  });

  test("realPath resolves symlinks; readLink returns a link's target as stored", () => {
    symlinkSync("s", join(dir, "rel-link"));
    expect(realPath(join(dir, "rel-link"))).toBe(realPath(join(dir, "s")));
    expect(readLink(join(dir, "rel-link"))).toBe("s");
    expect(readLink(`/proc/${process.pid}/ns/net`)).toMatch(/^net:\[\d+\]$/);
    expect(() => readLink(join(dir, "s"))).toThrow("EINVAL");
  });

  test("listDir: every entry but . and .., with its d_type", () => {
    const d = join(dir, "list");
    mkdirPath(d, 0o755);
    mkdirPath(join(d, "sub"), 0o755);
    writeFileSync(join(d, "file"), "");
    symlinkSync("file", join(d, "link"));
    const got = listDir(d).sort((a, b) => (a.name < b.name ? -1 : 1));
    expect(got).toEqual([{ name: "file", type: 8 }, { name: "link", type: 10 }, { name: "sub", type: 4 }]);
    expect(() => listDir(join(d, "file"))).toThrow("ENOTDIR");
  });
});

describe("fds, locks, pipes", () => {
  test("setPipeSize: the capacity a FIFO has — raised when the kernel allows, else what it had (never -1)", () => {
    const p = join(dir, "fifo-capacity");
    expect(mkfifo(p, 0o600)).toBe(0);
    const fd = openPath(p, O.RDWR);
    try {
      const raised = setPipeSize(fd, 1 << 17);
      expect(raised).toBeGreaterThanOrEqual(1 << 17);
      // past /proc/sys/fs/pipe-max-size: refused without CAP_SYS_RESOURCE (this host's root lacks it), the capacity as it was
      const max = Number(readFileSync("/proc/sys/fs/pipe-max-size", "utf8"));
      const past = setPipeSize(fd, max * 2);
      expect(past === raised || past >= max * 2).toBe(true);
    } finally {
      close(fd);
    }
  });
  test("flock: a second process cannot take a held lock with LOCK_NB (EWOULDBLOCK)", () => {
    const p = join(dir, "lock");
    writeFileSync(p, "");
    const fd = openPath(p, O.RDONLY);
    try {
      expect(flock(fd, LOCK_EX)).toBe(0);
      const other = Bun.spawnSync(["flock", "-n", p, "true"]);
      expect(other.exitCode).toBe(1);
    } finally {
      close(fd);
    }
    expect(Bun.spawnSync(["flock", "-n", p, "true"]).exitCode).toBe(0);
  });

  test("flock on a closed fd is -1 with EBADF", () => {
    expect(flock(9999, LOCK_EX | LOCK_NB)).toBe(-1);
    expect(errno()).toBe(9);
  });

  test("socketPair: two connected close-on-exec fds", () => {
    const pair = socketPair();
    if (pair === -1) throw new Error(`socketpair: errno ${errno()}`);
    const [a, b] = pair;
    writeAll(a, "ping");
    const buf = new Uint8Array(8);
    expect(Buffer.from(buf.subarray(0, readFd(b, buf))).toString()).toBe("ping");
    const flags = parseInt(/flags:\s+(\d+)/.exec(readText(`/proc/self/fdinfo/${a}`))![1]!, 8);
    expect(flags & O.CLOEXEC).toBe(O.CLOEXEC);
    close(a);
    expect(readFd(b, buf)).toBe(0);
    close(b);
  });

  test("pollFd: 0 when nothing came within the timeout, POLLIN once data waits", () => {
    const pair = socketPair();
    if (pair === -1) throw new Error(`socketpair: errno ${errno()}`);
    const [a, b] = pair;
    try {
      expect(pollFd(b, POLLIN, 10)).toBe(0);
      writeAll(a, "x");
      expect(pollFd(b, POLLIN, 1000) & POLLIN).toBe(POLLIN);
      expect(() => pollFd(9999, POLLIN, 0)).not.toThrow(); // an unknown fd is POLLNVAL in revents, not an error
      expect(pollFd(9999, POLLIN, 0)).toBe(0x20);
    } finally {
      close(a);
      close(b);
    }
  });

  test("mkfifo makes a FIFO; a second one at the same path is EEXIST", () => {
    const p = join(dir, "fifo");
    expect(mkfifo(p, 0o600)).toBe(0);
    expect((statPath(p).mode & 0o170000) === 0o010000).toBe(true);
    expect(mkfifo(p, 0o600)).toBe(-1);
    expect(errno()).toBe(17);
  });
});

describe("spawnProcess and waitPid", () => {
  /** Everything the child writes to its fd `at` until it exits, and its status. */
  function runCollecting(argv: string[], fdsFor: (chan: number) => number[], env?: Record<string, string>): { out: string; code: number } {
    const pair = socketPair();
    if (pair === -1) throw new Error(`socketpair: errno ${errno()}`);
    const [ours, theirs] = pair;
    let pid: number;
    try {
      pid = spawnProcess(argv[0]!, argv, fdsFor(theirs), env);
    } finally {
      close(theirs);
    }
    const chunks: Buffer[] = [];
    const buf = new Uint8Array(4096);
    for (let n; (n = readFd(ours, buf)) > 0;) chunks.push(Buffer.from(buf.subarray(0, n)));
    close(ours);
    return { out: Buffer.concat(chunks).toString(), code: waitPid(pid) };
  }

  test("argv as given, an empty environment, and only the fds asked for — close-on-exec or not", () => {
    // a plain fd (no O_CLOEXEC) that must not reach the child all the same
    const leaky = syscall(32 /* dup */, 0);
    expect(leaky).toBeGreaterThan(2);
    try {
      const r = runCollecting(["/bin/sh", "-c", 'echo "$0 $1"; env; ls /proc/self/fd', "first arg", "second"], (chan) => [0, chan, 2]);
      const [args, ...rest] = r.out.trim().split("\n");
      expect(args).toBe("first arg second");
      // only what sh sets itself (PWD): nothing of this process's environment
      expect(rest.filter((l) => l.includes("=")).map((l) => l.split("=")[0])).toEqual(["PWD"]);
      // 0, 1, 2 and the directory ls reads /proc/self/fd through
      expect(rest.filter((l) => /^\d+$/.test(l)).map(Number)).toEqual([0, 1, 2, 3]);
      expect(r.code).toBe(0);
    } finally {
      close(leaky);
    }
  });

  test("an environment when given: exactly its variables", () => {
    const r = runCollecting(["/usr/bin/env"], (chan) => [0, chan, 2], { CNI_COMMAND: "DEL", PATH: "/usr/bin" });
    expect(r.code).toBe(0);
    expect(r.out.trim().split("\n").sort()).toEqual(["CNI_COMMAND=DEL", "PATH=/usr/bin"]);
  });

  test("fds are placed even when one's target is another's source (0 and 1 swapped)", () => {
    const parent = [readLink("/proc/self/fd/0"), readLink("/proc/self/fd/1")];
    // the shell's own fds ($$), read while no redirection of its own is in place
    const r = runCollecting(["/bin/sh", "-c", 'x=$(readlink /proc/$$/fd/0 /proc/$$/fd/1); echo "$x" >&3'], (chan) => [1, 0, 2, chan]);
    expect(r.out.trim().split("\n")).toEqual([parent[1]!, parent[0]!]);
  });

  test("a preserved fd above 2 arrives at its own number, open", () => {
    const r = runCollecting(["/bin/sh", "-c", "echo through-3 >&3"], (chan) => [0, 1, 2, chan]);
    expect(r.out).toBe("through-3\n");
  });

  const openFilesLimit = Number(/^Max open files\s+(\d+)/m.exec(readText("/proc/self/limits"))?.[1] ?? 0);
  test.skipIf(openFilesLimit < 1200)("as many fds as asked for (--preserve-fds has no limit of its own)", () => {
    // ls writes to the socket (its fd 1) and lists fds 3…1102, each a copy of it, and 1103: its own /proc/self/fd
    const r = runCollecting(["/bin/ls", "/proc/self/fd"], (chan) => [0, chan, 2, ...Array<number>(1100).fill(chan)]);
    const fds = r.out.trim().split("\n").map(Number).sort((a, b) => a - b);
    expect(fds).toEqual(Array.from({ length: 1104 }, (_, i) => i));
  });

  test("waitPid: the exit code, or 128 + the signal", () => {
    expect(runCollecting(["/bin/sh", "-c", "exit 7"], (chan) => [0, 1, 2, chan]).code).toBe(7);
    expect(runCollecting(["/bin/sh", "-c", "kill -KILL $$"], (chan) => [0, 1, 2, chan]).code).toBe(128 + 9);
  });

  test("no signal blocked in the child, and none of 1–31 ignored, though Bun ignores SIGPIPE and SIGXFSZ", () => {
    const r = runCollecting(["/bin/sh", "-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status >&3"], (chan) => [0, 1, 2, chan]);
    const [blocked, ignored] = r.out.trim().split("\n").map((l) => BigInt(`0x${l.split("\t")[1]}`));
    expect(blocked).toBe(0n);
    // glibc's posix_spawn leaves its own two signals (32, 33) ignored; berth-init resets all 64 itself
    expect(ignored! & 0x7fffffffn).toBe(0n);
  });

  test("a missing program is ENOENT naming it; a bad fd is EBADF; nothing is left to reap", () => {
    // every thread's children, as the kernel lists them (not waitpid(-1), which would block on, or reap, any child of the runner's)
    const children = () => listDir("/proc/self/task").map((t) => readText(`/proc/self/task/${t.name}/children`)).join("").trim();
    const before = children();
    expect(() => spawnProcess("/nonexistent/berth-test", ["x"], [0, 1, 2])).toThrow(/ENOENT.*posix_spawn '\/nonexistent\/berth-test'/);
    expect(() => spawnProcess("/bin/true", ["true"], [0, 1, 2, 9999])).toThrow(/EBADF/);
    expect(children()).toBe(before);
    // pid 1 is nobody's child here
    expect(() => waitPid(1)).toThrow(/ECHILD/);
  });
});

describe("waitProcessEnd", () => {
  test("false while the process runs, true once it has ended (a zombie not yet reaped counts), true for none", async () => {
    const p = Bun.spawn(["sleep", "30"], { stdio: ["ignore", "ignore", "ignore"] });
    try {
      expect(waitProcessEnd(p.pid, 20)).toBe(false);
      process.kill(p.pid, "SIGKILL");
      expect(waitProcessEnd(p.pid, 10_000)).toBe(true);
    } finally {
      p.kill("SIGKILL");
      await p.exited;
    }
    expect(waitProcessEnd(0, 10)).toBe(true);
    expect(waitProcessEnd(2 ** 22 + 1, 10)).toBe(true); // above pid_max's ceiling: no such process
  });
});

describe("syscall", () => {
  test("numbers in, the raw result out", () => {
    expect(syscall(SYS_getpid)).toBe(process.pid);
  });

  test("a typed-array argument is passed by address", () => {
    const p = join(dir, "raw");
    const fd = openPath(p, O.WRONLY | O.CREAT, 0o600);
    try {
      const data = Buffer.from("by address");
      expect(syscall(SYS_write, fd, data, data.length)).toBe(data.length);
    } finally {
      close(fd);
    }
    expect(readFileSync(p, "utf8")).toBe("by address");
  });

  test("addressOf: a pointer inside a struct (readv's iovec) reaches the kernel", () => {
    const p = join(dir, "iov");
    writeFileSync(p, "scatter");
    const target = new Uint8Array(7);
    const iov = new DataView(new ArrayBuffer(16)); // struct iovec { void *base; size_t len; }
    iov.setBigUint64(0, addressOf(target), true);
    iov.setBigUint64(8, 7n, true);
    const fd = openPath(p, O.RDONLY);
    try {
      expect(syscall(SYS_readv, fd, new Uint8Array(iov.buffer), 1)).toBe(7);
    } finally {
      close(fd);
    }
    expect(Buffer.from(target).toString()).toBe("scatter");
  });

  test("a DataView is passed by address too; any other object is EINVAL, never a NULL pointer", () => {
    const p = join(dir, "dv");
    writeFileSync(p, "view");
    const target = new DataView(new ArrayBuffer(4));
    const fd = openPath(p, O.RDONLY);
    try {
      expect(syscall(0 /* read */, fd, target, 4)).toBe(4);
      expect(syscall(0, fd, {} as unknown as Uint8Array, 4)).toBe(-1);
      expect(errno()).toBe(22);
    } finally {
      close(fd);
    }
    expect(Buffer.from(target.buffer).toString()).toBe("view");
  });

  test("a failing syscall is -1 with its own errno", () => {
    expect(syscall(SYS_write, 9999, new Uint8Array(1), 1)).toBe(-1);
    expect(errno()).toBe(9); // EBADF
  });
});
