/**
 * Each config.json field, checked from inside a real container the way a user would:
 * what /proc, the mount table, `id`, `ulimit`, `hostname` and the cgroup files say.
 */
import { afterAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { canRunContainers, cgroupDirsFor, RuntimeFixture, until, copySharedRootfs } from "../../test/runtime-harness.ts";
import type { Spec } from "../spec/runtime-spec.ts";

// each test execs the runtime several times; in the cgroup v2 VM that takes seconds
setDefaultTimeout(30_000);

const fx = new RuntimeFixture("fields");
afterAll(() => fx.cleanup(), 60_000);

/** run `script` with sh in a container built from the default spec plus `change`; returns stdout, fails on stderr. */
function sh(script: string, change?: (s: Spec) => void, extra: string[] = []): { out: string; code: number; err: string } {
  const id = fx.id();
  const r = fx.runSpec(id, fx.spec(id, (s) => {
    s.process!.args = ["sh", "-c", script];
    change?.(s);
  }), extra);
  return { out: r.stdout, code: r.code, err: r.stderr };
}

const hostNs = (t: string) => readlinkSync(`/proc/self/ns/${t}`);
/** a pure cgroup v2 host (the cgv2-vm) rather than this project's v1 hybrid host */
const pureV2 = existsSync("/sys/fs/cgroup/cgroup.controllers");

describe.skipIf(!canRunContainers)("namespaces", () => {
  test("new pid, uts, ipc, net, mount namespaces differ from the host's", () => {
    const r = sh("for t in pid uts ipc net mnt; do readlink /proc/self/ns/$t; done");
    const inside = r.out.trim().split("\n");
    expect(inside).toHaveLength(5);
    ["pid", "uts", "ipc", "net", "mnt"].forEach((t, i) => expect(inside[i]).not.toBe(hostNs(t)));
  });

  test("the network namespace has only lo, and it is up", () => {
    const r = sh("ls /sys/class/net; cat /sys/class/net/lo/operstate /sys/class/net/lo/flags");
    const [ifaces, , flags] = r.out.trim().split("\n");
    expect(ifaces).toBe("lo");
    expect(Number(flags) & 1).toBe(1); // IFF_UP
  });

  test("cgroup namespace: the container sees its cgroup as /", () => {
    const r = sh("cat /proc/self/cgroup", (s) => s.linux!.namespaces!.push({ type: "cgroup" }));
    for (const line of r.out.trim().split("\n")) expect(line.split(":")[2]).toBe("/");
  });

  test("time namespace offsets move the container's boottime clock", () => {
    const r = sh("cut -d' ' -f1 /proc/uptime", (s) => {
      s.linux!.namespaces!.push({ type: "time" });
      s.linux!.timeOffsets = { boottime: { secs: 86400 * 365, nanosecs: 0 } };
    });
    const hostUptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    expect(Number(r.out) - hostUptime).toBeGreaterThan(86400 * 364);
  });

  test("join by path: a second container shares the first one's uts and network namespaces", async () => {
    const first = fx.id();
    expect(fx.rt(["create", "--bundle", fx.bundle(first, fx.spec(first, (s) => { s.process!.args = ["sleep", "60"]; })), first]).code).toBe(0);
    const pid = fx.state(first).pid;
    const r = sh("hostname; readlink /proc/self/ns/net", (s) => {
      delete s.hostname;
      s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === "uts" || n.type === "network" ? { type: n.type, path: `/proc/${pid}/ns/${n.type === "network" ? "net" : n.type}` } : n));
    });
    expect(r.out.split("\n")[0]).toBe(first);
    expect(r.out.split("\n")[1]).toBe(readlinkSync(`/proc/${pid}/ns/net`));
    fx.rt(["delete", "--force", first]);
  });

  test("user namespace: container root is an unprivileged host uid, and files it makes show that uid", () => {
    const shared = join(fx.dir, "userns-shared");
    mkdirSync(shared);
    const rootfs = join(fx.dir, "rootfs-userns");
    copySharedRootfs(rootfs);
    // the container's root (host uid 100000) must be able to reach its rootfs and the shared dir
    Bun.spawnSync(["chown", "-R", "100000:100000", rootfs, shared]);
    const r = sh("id -u; cat /proc/self/uid_map; touch /shared/made-inside", (s) => {
      s.root = { path: rootfs };
      s.linux!.namespaces!.push({ type: "user" });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.mounts = s.mounts!.filter((m) => m.type !== "cgroup" && m.destination !== "/sys");
      s.mounts!.push({ destination: "/shared", type: "bind", source: shared, options: ["rbind", "rw"] });
    });
    expect(r.err).toBe("");
    const [uid, map] = r.out.trim().split("\n");
    expect(uid).toBe("0");
    expect(map!.trim().split(/\s+/)).toEqual(["0", "100000", "65536"]);
    expect(statSync(join(shared, "made-inside")).uid).toBe(100000);
  });
});

describe.skipIf(!canRunContainers)("root filesystem and mounts", () => {
  test("pivot_root: the chroot-again escape (seed 000) stays inside the container", () => {
    const rootfs = join(fx.dir, "rootfs-escape");
    copySharedRootfs(rootfs);
    const src = join(fx.dir, "escape.c");
    // the seed's Go program in C: hold the real root open, chroot into a subdir, fchdir out, climb, chroot(".")
    writeFileSync(src, `#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
  int real = open("/", O_RDONLY | O_DIRECTORY);
  mkdir("/jail", 0755);
  if (chroot("/jail") != 0) { perror("chroot"); return 2; }
  if (fchdir(real) != 0) { perror("fchdir"); return 2; }
  for (int i = 0; i < 64; i++) chdir("..");
  if (chroot(".") != 0) { perror("chroot back"); return 2; }
  struct stat st;
  puts(stat("${fx.dir}/escape-marker", &st) == 0 ? "ESCAPED" : "INSIDE");
  return 0;
}
`);
    writeFileSync(join(fx.dir, "escape-marker"), "host only");
    const cc = Bun.spawnSync(["gcc", "-static", "-O2", "-o", join(rootfs, "escape"), src]);
    expect(cc.exitCode).toBe(0);
    const id = fx.id();
    const r = fx.runSpec(id, fx.spec(id, (s) => {
      s.root = { path: rootfs };
      s.process!.args = ["/escape"];
      for (const set of ["bounding", "effective", "permitted"] as const) s.process!.capabilities![set]!.push("CAP_SYS_CHROOT");
    }));
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("INSIDE\n");
  });

  test("readonly root, /proc of its own, read-only /sys and /proc/sys, masked /proc/keys", () => {
    const r = sh([
      "touch /x 2>/dev/null && echo root-rw || echo root-ro",
      "ls -d /proc/[0-9]* | tr '\\n' ' '; echo",
      "touch /sys/x 2>/dev/null && echo sys-rw || echo sys-ro",
      "echo 1 > /proc/sys/kernel/shmmni 2>/dev/null && echo procsys-rw || echo procsys-ro",
      "wc -c < /proc/keys",
      "ls -A /sys/firmware | wc -l",
    ].join("; "));
    const lines = r.out.trim().split("\n");
    // only the container's processes: sh as PID 1, ls, and tr if sh had forked it yet (a race)
    expect([2, 3]).toContain(lines[1]!.trim().split(" ").length);
    expect(lines[1]!.trim().split(" ")[0]).toBe("/proc/1");
    expect([lines[0], ...lines.slice(2)]).toEqual(["root-ro", "sys-ro", "procsys-ro", "0", "0"]);
  });

  test("/dev: the default devices, links, pts, shm, mqueue", () => {
    const r = sh("ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty | awk '{print $1, $5, $6, $NF}'; for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done; grep -E ' /dev/(pts|shm|mqueue) ' /proc/mounts | cut -d' ' -f2,3; head -c 4 /dev/zero | od -An -tx1");
    const lines = r.out.trim().split("\n");
    expect(lines.slice(0, 6)).toEqual([
      "crw-rw-rw- 1, 7 /dev/full", "crw-rw-rw- 1, 3 /dev/null", "crw-rw-rw- 1, 8 /dev/random",
      "crw-rw-rw- 5, 0 /dev/tty", "crw-rw-rw- 1, 9 /dev/urandom", "crw-rw-rw- 1, 5 /dev/zero",
    ]);
    expect(lines.slice(6, 11)).toEqual(["/proc/self/fd", "/proc/self/fd/0", "/proc/self/fd/1", "/proc/self/fd/2", "pts/ptmx"]);
    expect(lines.slice(11, 14)).toEqual(["/dev/pts devpts", "/dev/shm tmpfs", "/dev/mqueue mqueue"]);
    expect(lines[14]!.trim()).toBe("00 00 00 00");
  });

  test("linux.devices: mknod with mode and owner, allowed by the device cgroup", () => {
    const r = sh("ls -ln /dev/mynull | awk '{print $1, $3, $4, $5, $6}'; echo hi > /dev/mynull && echo wrote", (s) => {
      s.linux!.devices = [{ path: "/dev/mynull", type: "c", major: 1, minor: 3, fileMode: 0o622, uid: 7, gid: 9 }];
    });
    expect(r.out.trim().split("\n")).toEqual(["crw--w--w- 7 9 1, 3", "wrote"]);
  });

  test("the device cgroup denies a device the spec did not give", () => {
    const r = sh("mknod /tmp/sda b 8 0 && head -c1 /tmp/sda >/dev/null 2>&1 && echo opened || echo denied", (s) => {
      s.root!.readonly = false;
      s.mounts!.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs" });
      for (const set of ["bounding", "effective", "permitted"] as const) s.process!.capabilities![set]!.push("CAP_MKNOD");
    });
    expect(r.out.trim()).toBe("denied");
  });

  test("bind mounts: ro, nosuid, noexec flags; tmpfs size and mode; rro reaches submounts", () => {
    const src = join(fx.dir, "bindsrc");
    mkdirSync(join(src, "sub"), { recursive: true });
    writeFileSync(join(src, "f"), "content\n");
    const r = sh("cat /b/f; touch /b/x 2>/dev/null && echo b-rw || echo b-ro; grep -E ' /(b|t|r|r/sub) ' /proc/mounts | cut -d' ' -f2,4; stat -c %a /t; touch /r/sub/x 2>/dev/null && echo sub-rw || echo sub-ro", (s) => {
      s.mounts!.push(
        { destination: "/b", type: "bind", source: src, options: ["bind", "ro", "nosuid", "noexec"] },
        { destination: "/t", type: "tmpfs", source: "tmpfs", options: ["size=1m", "mode=710"] },
        { destination: "/r", type: "bind", source: src, options: ["rbind", "rro"] },
        { destination: "/r/sub", type: "tmpfs", source: "tmpfs" },
      );
    });
    const lines = r.out.trim().split("\n");
    expect(lines[0]).toBe("content");
    expect(lines[1]).toBe("b-ro");
    const mounts = Object.fromEntries(lines.slice(2, 6).map((l) => l.split(" ") as [string, string]));
    expect(mounts["/b"]!.split(",")).toEqual(expect.arrayContaining(["ro", "nosuid", "noexec"]));
    expect(mounts["/t"]!.split(",")).toEqual(expect.arrayContaining(["size=1024k", "mode=710"]));
    expect(lines[6]).toBe("710");
    // /r/sub is a tmpfs mounted after rro was applied, so it stays rw; rro applies to what was there at the time
    expect(lines[7]).toBe("sub-rw");
  });

  test("propagation: mounts from the host arrive as slaves by default; rootfsPropagation and rshared are applied", () => {
    // mountinfo's optional fields: "master:N" = receives mounts from a peer group, "shared:N" = propagates them
    const src = join(fx.dir, "propsrc");
    mkdirSync(src, { recursive: true });
    // a shared mount of the test's own, so there is propagation to observe (this host's / is private)
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=1m", "berth-prop-test", src]).exitCode).toBe(0);
    try {
      expect(Bun.spawnSync(["mount", "--make-shared", src]).exitCode).toBe(0);
      const line = (out: string, dest: string) => out.split("\n").find((l) => l.split(" ")[4] === dest) ?? "";
      const bind = (opts: string[]) => (s: Spec) => { s.mounts!.push({ destination: "/p", type: "bind", source: src, options: ["rbind", ...opts] }); };
      // default: / is made rslave before anything is mounted, so the container receives but never sends
      expect(line(sh("cat /proc/self/mountinfo", bind([])).out, "/p")).toMatch(/ master:\d+/);
      expect(line(sh("cat /proc/self/mountinfo", bind([])).out, "/p")).not.toMatch(/ shared:\d+/);
      // rshared on the mount: it propagates (in its own peer group)
      expect(line(sh("cat /proc/self/mountinfo", bind(["rshared"])).out, "/p")).toMatch(/ shared:\d+/);
      // rootfsPropagation private: nothing from the host reaches the container
      const priv = sh("cat /proc/self/mountinfo", (s) => { bind([])(s); s.linux!.rootfsPropagation = "rprivate"; });
      expect(line(priv.out, "/p")).not.toMatch(/ (master|shared):\d+/);
    } finally {
      Bun.spawnSync(["umount", src]);
    }
  });

  test("cgroup mount: the container's own cgroup, read-only", () => {
    const limitFile = pureV2 ? "/sys/fs/cgroup/memory.max" : "/sys/fs/cgroup/memory/memory.limit_in_bytes";
    const r = sh(`ls /sys/fs/cgroup; cat ${limitFile}; touch /sys/fs/cgroup/x 2>/dev/null && echo rw || echo ro`, (s) => {
      s.linux!.namespaces!.push({ type: "cgroup" });
      s.linux!.resources = { memory: { limit: 64 * 1024 * 1024 } };
    });
    const lines = r.out.trim().split("\n");
    if (pureV2) {
      expect(lines).toContain("memory.max");
      expect(lines).toContain("cgroup.procs");
    } else {
      expect(lines).toContain("memory");
      expect(lines).toContain("unified");
    }
    expect(lines).toContain(String(64 * 1024 * 1024));
    expect(lines.at(-1)).toBe("ro");
  });
});

describe.skipIf(!canRunContainers)("process", () => {
  test("args, env, cwd, HOME, user, groups, umask, rlimits, hostname, domainname", () => {
    const r = sh("echo \"$FOO|$HOME\"; pwd; id -u; id -g; id -G; umask; ulimit -n; hostname; cat /proc/sys/kernel/domainname", (s) => {
      s.process!.env!.push("FOO=bar baz");
      s.process!.cwd = "/work/dir";
      s.process!.user = { uid: 1000, gid: 1001, additionalGids: [5, 1002], umask: 0o027 };
      s.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: 321, hard: 654 }];
      s.hostname = "box";
      s.domainname = "example.test";
      s.mounts!.push({ destination: "/work", type: "tmpfs", source: "tmpfs", options: ["mode=777"] });
    });
    expect(r.err).toBe("");
    expect(r.out.trim().split("\n")).toEqual(["bar baz|/", "/work/dir", "1000", "1001", "1001 5 1002", "0027", "321", "box", "example.test"]);
  });

  test("HOME comes from the image's /etc/passwd for root", () => {
    expect(sh("echo $HOME").out).toBe("/root\n");
  });

  test("oomScoreAdj and namespaced sysctls", () => {
    const r = sh("cat /proc/self/oom_score_adj /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni", (s) => {
      s.process!.oomScoreAdj = 500;
      s.linux!.sysctl = { "net.ipv4.ip_forward": "1", "kernel.shmmni": "1234" };
    });
    expect(r.out.trim().split("\n")).toEqual(["500", "1", "1234"]);
  });

  test("capabilities: the default set is what /proc/self/status shows", () => {
    const r = sh("grep -E '^Cap(Eff|Prm|Bnd|Amb|Inh)' /proc/self/status", (s) => {
      s.process!.capabilities!.inheritable = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    });
    // CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29)
    const mask = ((1n << 5n) | (1n << 10n) | (1n << 29n)).toString(16).padStart(16, "0");
    for (const line of r.out.trim().split("\n")) expect(line.split(/\s+/)[1]).toBe(mask);
  });

  test("linux.resources reach the cgroup before create returns", () => {
    const id = fx.id();
    const spec = fx.spec(id, (s) => {
      s.process!.args = ["sleep", "60"];
      s.linux!.resources!.memory = { limit: 32 * 1024 * 1024 };
      s.linux!.resources!.pids = { limit: 42 };
      s.linux!.resources!.cpu = { shares: 512, quota: 50000, period: 100000 };
    });
    expect(fx.rt(["create", "--bundle", fx.bundle(id, spec), id]).code).toBe(0);
    const dirs = cgroupDirsFor(id);
    if (pureV2) {
      const read = (file: string) => readFileSync(join(dirs[0]!, file), "utf8").trim();
      expect(read("memory.max")).toBe(String(32 * 1024 * 1024));
      expect(read("pids.max")).toBe("42");
      expect(read("cpu.max")).toBe("50000 100000");
      expect(read("cpu.weight")).toBe("59"); // crun's quadratic shares → weight: 512 → 59
    } else {
      const read = (ctrl: string, file: string) => readFileSync(join(dirs.find((d) => d.includes(`/${ctrl}/`))!, file), "utf8").trim();
      expect(read("memory", "memory.limit_in_bytes")).toBe(String(32 * 1024 * 1024));
      expect(read("pids", "pids.max")).toBe("42");
      expect(read("cpu", "cpu.shares")).toBe("512");
      expect(read("cpu", "cpu.cfs_quota_us")).toBe("50000");
    }
    fx.rt(["delete", "--force", id]);
  });
});

describe.skipIf(!canRunContainers)("stdio and file descriptors", () => {
  test("the runtime's stdin/stdout/stderr are the container's", () => {
    const id = fx.id();
    const b = fx.bundle(id, fx.spec(id, (s) => { s.process!.args = ["sh", "-c", "read line; echo \"got:$line\"; echo to-stderr >&2"]; }));
    const p = Bun.spawnSync([join(import.meta.dir, "../../bin/berth-runtime"), "--root", fx.root, "run", "--bundle", b, id], { stdin: Buffer.from("hello\n") });
    expect(p.stdout.toString()).toBe("got:hello\n");
    expect(p.stderr.toString()).toBe("to-stderr\n");
    expect(p.exitCode).toBe(0);
  });

  test("fds above 2 do not leak in; --preserve-fds passes exactly the ones asked for", () => {
    const id = fx.id();
    const b = fx.bundle(id, fx.spec(id, (s) => { s.process!.args = ["sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '"]; }));
    const rt = join(import.meta.dir, "../../bin/berth-runtime");
    const run = (extra: string[]) => Bun.spawnSync(["sh", "-c", `exec 3</etc/hostname 4</etc/hostname; exec "$@"`, "sh", rt, "--root", fx.root, "run", ...extra, "--bundle", b, id]);
    // ls itself opens one fd (its /proc/self/fd directory)
    expect(run([]).stdout.toString().trim()).toBe("0 1 2 3");
    expect(run(["--preserve-fds", "2"]).stdout.toString().trim()).toBe("0 1 2 3 4 5");
  });

  test("--no-pivot runs the container with MS_MOVE + chroot", () => {
    const r = sh("cat /proc/1/cmdline | tr '\\0' ' '; ls /", undefined, ["--no-pivot"]);
    expect(r.out.split("\n")[0]).toContain("sh -c");
    expect(r.out).toContain("bin");
  });

  test("run --detach leaves a running container; kill and delete end it", async () => {
    const id = fx.id();
    const r = fx.rt(["run", "--detach", "--bundle", fx.bundle(id, fx.spec(id, (s) => { s.process!.args = ["sleep", "60"]; })), id]);
    expect(r.code).toBe(0);
    expect(fx.state(id).status).toBe("running");
    expect(fx.rt(["kill", id, "SIGKILL"]).code).toBe(0);
    expect(await until(() => fx.state(id).status === "stopped")).toBe(true);
    expect(fx.rt(["delete", id]).code).toBe(0);
    expect(existsSync(join(fx.root, id))).toBe(false);
  });
});
