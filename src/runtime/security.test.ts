/**
 * Security boundaries, each proved from inside a real container: what /proc/1/status
 * says about capabilities and no_new_privs, a setuid program that must not gain root,
 * seccomp actions on real system calls, idmapped mounts, personality, I/O priority and
 * scheduling, and the LSM fields on a host without an LSM.
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildProbe, canRunContainers, cgroupDirsFor, RuntimeFixture, until, copySharedRootfs } from "../../test/runtime-harness.ts";
import { clientSpec } from "../../test/client-specs.ts";
import { CAPABILITIES } from "../security/capabilities.ts";
import { rootlessSpec } from "../spec/default-spec.ts";
import type { Spec } from "../spec/runtime-spec.ts";

setDefaultTimeout(30_000);

const fx = new RuntimeFixture("security");
afterAll(() => fx.cleanup(), 60_000);

function run(script: string, change?: (s: Spec) => void): { out: string; err: string; code: number; id: string } {
  const id = fx.id();
  const r = fx.runSpec(id, fx.spec(id, (s) => {
    s.process!.args = ["sh", "-c", script];
    change?.(s);
  }));
  return { out: r.stdout, err: r.stderr, code: r.code, id };
}

/** A create that must fail: one line on stderr naming the field, exit 1, nothing left behind. */
function refused(change: (s: Spec) => void): string {
  const id = fx.id();
  const r = fx.rt(["create", "--bundle", fx.bundle(id, fx.spec(id, change)), id]);
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(existsSync(join(fx.root, id))).toBe(false);
  expect(cgroupDirsFor(id)).toEqual([]);
  return r.stderr.trim();
}

/** Idmapped mounts need the filesystem's support: tmpfs got it in Linux 6.3 (the v2 VM boots Debian's 6.1 with /tmp on tmpfs). */
function canIdmap(dir: string): boolean {
  const fs = Bun.spawnSync(["stat", "-f", "-c", "%T", dir]).stdout.toString().trim();
  const [major, minor] = readFileSync("/proc/sys/kernel/osrelease", "utf8").split(".").map(Number) as [number, number];
  return fs !== "tmpfs" || major > 6 || (major === 6 && minor >= 3);
}

const mask = (names: string[]) => names.reduce((m, n) => m | (1n << BigInt(CAPABILITIES.indexOf(n as never))), 0n);
const statusField = (status: string, key: string) => status.match(new RegExp(`^${key}:\\s*(\\S+)`, "m"))?.[1];
const capField = (status: string, key: string) => BigInt(`0x${statusField(status, key)}`);

let probes: string;
let writableRootfs: string;
beforeAll(() => {
  if (!canRunContainers) return;
  probes = join(fx.dir, "probes");
  mkdirSync(probes);
  buildProbe("euid-probe", probes);
  buildProbe("seccomp-agent", probes);
  // a rootfs of this file's own, holding a setuid-root program
  writableRootfs = join(fx.dir, "rootfs-setuid");
  copySharedRootfs(writableRootfs);
  copyFileSync(join(probes, "euid-probe"), join(writableRootfs, "bin", "euid-probe"));
  chownSync(join(writableRootfs, "bin", "euid-probe"), 0, 0);
  chmodSync(join(writableRootfs, "bin", "euid-probe"), 0o4755);
});

describe.skipIf(!canRunContainers)("capabilities", () => {
  test("the default spec's three capabilities are all /proc/1/status shows, and chown, mknod, sethostname fail", () => {
    const r = run("cat /proc/1/status; touch /dev/shm/f; chown 1 /dev/shm/f || echo chown-denied; mknod /dev/shm/n c 1 3 || echo mknod-denied; hostname x || echo hostname-denied");
    const want = mask(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    for (const key of ["CapBnd", "CapEff", "CapPrm"]) expect(capField(r.out, key)).toBe(want);
    expect(capField(r.out, "CapInh")).toBe(0n);
    // runc's default lists them as ambient without inheritable: the kernel could not raise them
    expect(capField(r.out, "CapAmb")).toBe(0n);
    expect(r.out).toContain("chown-denied");
    expect(r.out).toContain("mknod-denied");
    expect(r.out).toContain("hostname-denied");
  });

  test("each of the five sets is applied as given, and ambient capabilities survive exec as a non-root user", () => {
    const r = run("cat /proc/1/status", (s) => {
      s.process!.user = { uid: 1000, gid: 1000 };
      s.process!.capabilities = {
        bounding: ["CAP_NET_BIND_SERVICE", "CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
        permitted: ["CAP_NET_BIND_SERVICE", "CAP_CHOWN", "CAP_KILL"],
        inheritable: ["CAP_NET_BIND_SERVICE", "CAP_KILL"],
        effective: ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
        ambient: ["CAP_NET_BIND_SERVICE"],
      };
    });
    expect(capField(r.out, "CapBnd")).toBe(mask(["CAP_NET_BIND_SERVICE", "CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"]));
    expect(capField(r.out, "CapInh")).toBe(mask(["CAP_NET_BIND_SERVICE", "CAP_KILL"]));
    expect(capField(r.out, "CapAmb")).toBe(mask(["CAP_NET_BIND_SERVICE"]));
    // exec as non-root: permitted and effective become the ambient set (capabilities(7))
    expect(capField(r.out, "CapPrm")).toBe(mask(["CAP_NET_BIND_SERVICE"]));
    expect(capField(r.out, "CapEff")).toBe(mask(["CAP_NET_BIND_SERVICE"]));
  });

  test("a capability name that does not exist is refused, naming the entry", () => {
    const err = refused((s) => { s.process!.capabilities!.effective = ["CAP_KILL", "CAP_TELEPORT"]; });
    expect(err).toContain('process.capabilities.effective[1]: "CAP_TELEPORT" is not a capability');
  });
});

describe.skipIf(!canRunContainers)("no_new_privileges", () => {
  const asUser = (nnp: boolean) => run("cat /proc/self/status | grep NoNewPrivs; /bin/euid-probe", (s) => {
    s.root = { path: writableRootfs, readonly: true };
    s.process!.user = { uid: 1000, gid: 1000 };
    s.process!.noNewPrivileges = nnp;
  });

  test("with it, a setuid-root program runs as the user; without it the same program gets euid 0", () => {
    const withNnp = asUser(true);
    expect(withNnp.out).toContain("NoNewPrivs:\t1");
    expect(withNnp.out).toContain("uid=1000 euid=1000");
    const without = asUser(false);
    expect(without.out).toContain("NoNewPrivs:\t0");
    expect(without.out).toContain("uid=1000 euid=0");
  });
});

describe.skipIf(!canRunContainers)("seccomp", () => {
  const profile = (syscalls: unknown[], extra: Record<string, unknown> = {}) => (s: Spec) => {
    s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], syscalls, ...extra } as never;
  };

  test("SCMP_ACT_ERRNO: mkdir is denied with EPERM, and with the errnoRet asked for", () => {
    const eperm = run("mkdir /dev/shm/a", profile([{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }]));
    expect(eperm.code).not.toBe(0);
    expect(eperm.err).toContain("Operation not permitted");
    const enospc = run("mkdir /dev/shm/a", profile([{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 28 }]));
    expect(enospc.err).toContain("No space left on device");
    // and nothing else is affected
    expect(run("touch /dev/shm/f && echo ok", profile([{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }])).out).toBe("ok\n");
  });

  test("SCMP_ACT_KILL_PROCESS and SCMP_ACT_TRAP end the caller with SIGSYS", () => {
    const kill = run("(sync); echo status=$?", profile([{ names: ["sync"], action: "SCMP_ACT_KILL_PROCESS" }]));
    expect(kill.out).toContain("status=159"); // 128 + SIGSYS
    const trap = run("(sync); echo status=$?", profile([{ names: ["sync"], action: "SCMP_ACT_TRAP" }]));
    expect(trap.out).toContain("status=159");
    const killThread = run("(sync); echo status=$?", profile([{ names: ["sync"], action: "SCMP_ACT_KILL" }]));
    expect(killThread.out).toContain("status=159");
  });

  test("SCMP_ACT_LOG lets the call through and the kernel logs it", () => {
    const r = run("mkdir /dev/shm/logged && echo made", profile([{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_LOG" }]));
    expect(r.out).toBe("made\n");
    const dmesg = Bun.spawnSync(["dmesg"]).stdout.toString();
    // audit type 1326 is AUDIT_SECCOMP; without auditd the kernel prints it
    expect(dmesg).toMatch(/type=1326 .*comm="mkdir".*syscall=(83|258)/);
  });

  test("SCMP_ACT_ALLOW: docker's default profile (default ERRNO) runs a shell and still blocks unshare", () => {
    const docker = (clientSpec("docker-run") as { linux: { seccomp: unknown } }).linux.seccomp;
    const r = run("echo allowed; unshare -U true || echo unshare-denied", (s) => { s.linux!.seccomp = docker as never; });
    expect(r.out).toContain("allowed");
    expect(r.out).toContain("unshare-denied");
  });

  test("an argument filter: personality(PER_LINUX32) is denied with ENOSYS, personality(PER_LINUX) is not", () => {
    const r = run("linux32 uname -m || echo denied; linux64 uname -m", profile([
      { names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 38, args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }] },
    ]));
    expect(r.out).toContain("denied");
    expect(r.out).toContain("x86_64");
    expect(r.err).toContain("Function not implemented");
  });

  test("SCMP_ACT_NOTIFY: the agent gets the listener fd and the container's state, and answers mkdir itself", async () => {
    const sock = join(fx.dir, "agent.sock");
    const stateFile = join(fx.dir, "agent-state.json");
    const agent = Bun.spawn([join(probes, "seccomp-agent"), sock, stateFile, "0"], { stderr: "pipe" });
    try {
      expect(await until(() => existsSync(sock))).toBe(true);
      const r = run("mkdir /dev/shm/by-agent && echo mkdir-ok; ls /dev/shm", profile(
        [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY" }],
        { listenerPath: sock, listenerMetadata: "berth-test" },
      ));
      // the agent said "success" without making it: the call never reached the kernel
      expect(r.out).toBe("mkdir-ok\n");
      const st = JSON.parse(readFileSync(stateFile, "utf8"));
      expect(st.fds).toEqual(["seccompFd"]);
      expect(st.metadata).toBe("berth-test");
      expect(st.state.id).toBe(r.id);
      expect(st.state.status).toBe("creating");
      expect(st.pid).toBeGreaterThan(1);
    } finally {
      agent.kill("SIGKILL");
      await agent.exited;
    }
  });

  test("compiled programs are cached under --root by content, and the cache is used", () => {
    const cache = join(fx.root, ".seccomp-cache");
    const change = profile([{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 5 }]);
    run("true", change);
    const files = readdirSync(cache).filter((f) => f.endsWith(".bpf"));
    expect(files.length).toBeGreaterThan(0);
    const before = Object.fromEntries(files.map((f) => [f, statSync(join(cache, f)).mtimeMs]));
    const again = run("mkdir /dev/shm/x", change);
    expect(again.err).toContain("Input/output error");
    for (const f of files) expect(statSync(join(cache, f)).mtimeMs).toBe(before[f]!);
  });

  test("bad profiles are refused before anything is created", () => {
    expect(refused(profile([{ names: ["mkdir"], action: "SCMP_ACT_EXPLODE" }]))).toContain("linux.seccomp.syscalls[0].action");
    expect(refused(profile([], { architectures: ["SCMP_ARCH_Z80"] }))).toContain("linux.seccomp.architectures[0]");
    expect(refused(profile([{ names: ["personality"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 8, op: "SCMP_CMP_ALMOST" }] }]))).toContain("linux.seccomp.syscalls[0].args[0].op");
    expect(refused(profile([{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }]))).toContain("listenerPath");
  });
});

describe.skipIf(!canRunContainers)("user namespaces and idmapped mounts", () => {
  test("an idmapped bind mount shows disk owner 0 as the mapped id, and unmapped owners as nobody", () => {
    const dir = join(fx.dir, "idmapped");
    mkdirSync(dir);
    writeFileSync(join(dir, "by-root"), "");
    writeFileSync(join(dir, "by-5"), "");
    chownSync(join(dir, "by-5"), 5, 5);
    const change = (s: Spec) => {
      s.mounts!.push({
        destination: "/data", type: "bind", source: dir, options: ["bind", "ro"],
        uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 2000, size: 1 }],
      });
    };
    if (!canIdmap(dir)) {
      // the other half of the contract: a kernel or filesystem without idmapped mounts gets a clear error
      expect(refused(change)).toContain("mounts[7] (/data): make an idmapped copy of");
      expect(refused(change)).toContain("invalid argument; this kernel or the source's filesystem cannot idmap mounts");
      return;
    }
    const r = run("stat -c '%n %u %g' /data/by-root /data/by-5", change);
    expect(r.out).toBe("/data/by-root 1000 2000\n/data/by-5 65534 65534\n");
    // the host's view is unchanged
    expect(statSync(join(dir, "by-root")).uid).toBe(0);
  });

  // where the kernel cannot idmap the test's filesystem, the test above checks the clear error instead
  test.skipIf(!canIdmap(tmpdir()))("in a user namespace, an idmapped mount lets container root own host root's files", () => {
    const dir = join(fx.dir, "idmapped-userns");
    mkdirSync(dir);
    writeFileSync(join(dir, "f"), "");
    const rootfs = join(fx.dir, "rootfs-idmap-userns");
    copySharedRootfs(rootfs);
    Bun.spawnSync(["chown", "-R", "100000:100000", rootfs]);
    const r = run("stat -c '%u %g' /data/f; touch /data/made; cat /proc/self/uid_map", (s) => {
      s.root = { path: rootfs, readonly: true };
      s.linux!.namespaces!.push({ type: "user" });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.mounts = s.mounts!.filter((m) => m.destination !== "/sys" && !m.destination.startsWith("/sys/"));
      s.mounts!.push({
        destination: "/data", type: "bind", source: dir, options: ["rbind"],
        uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }], gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      });
    });
    expect(r.out.split("\n")[0]).toBe("0 0");
    // written through the mapping: container root (host 100000) writes disk owner 0
    expect(statSync(join(dir, "made")).uid).toBe(0);
  });

  test("a non-root caller maps a /etc/subuid range through newuidmap and newgidmap", () => {
    // nobody gets a range for this test only; the files are restored even on failure
    const saved = Object.fromEntries(["/etc/subuid", "/etc/subgid"].map((f) => [f, existsSync(f) ? readFileSync(f, "utf8") : undefined]));
    const work = join(fx.dir, "rootless-caller");
    try {
      for (const f of Object.keys(saved)) writeFileSync(f, `${saved[f] ?? ""}nobody:300000:65536\n`);
      mkdirSync(work);
      const rootfs = join(work, "rootfs");
      const shared = join(work, "shared");
      copySharedRootfs(rootfs);
      mkdirSync(shared);
      Bun.spawnSync(["chown", "-R", "300000:300000", rootfs, shared]);
      chownSync(work, 65534, 65534);
      const id = fx.id();
      const spec = rootlessSpec(fx.spec(id, (s) => {
        s.root = { path: rootfs, readonly: true };
        s.process!.args = ["sh", "-c", "id -u; cat /proc/self/uid_map /proc/self/gid_map; touch /shared/made"];
        s.mounts!.push({ destination: "/shared", type: "bind", source: shared, options: ["rbind"] });
      }), 0, 0);
      spec.linux!.uidMappings = [{ containerID: 0, hostID: 300000, size: 65536 }];
      spec.linux!.gidMappings = [{ containerID: 0, hostID: 300000, size: 65536 }];
      writeFileSync(join(work, "config.json"), JSON.stringify(spec));
      const p = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
        join(import.meta.dir, "..", "..", "bin", "berth-runtime"), "--root", join(work, "state"), "run", "--bundle", work, id], {
        stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, HOME: work },
      });
      const out = p.stdout.toString();
      expect({ code: p.exitCode, err: p.stderr.toString().includes("newuidmap") ? p.stderr.toString() : "" }).toEqual({ code: 0, err: "" });
      const [uid, uidMap, gidMap] = out.trim().split("\n");
      expect(uid).toBe("0");
      expect(uidMap!.trim().split(/\s+/)).toEqual(["0", "300000", "65536"]);
      expect(gidMap!.trim().split(/\s+/)).toEqual(["0", "300000", "65536"]);
      expect(statSync(join(shared, "made")).uid).toBe(300000);
      // no cgroup could be made by nobody; the runtime said so and went on, as runc does
      expect(p.stderr.toString()).toContain("running without a cgroup of its own");
    } finally {
      for (const [f, text] of Object.entries(saved)) {
        if (text === undefined) rmSync(f, { force: true });
        else writeFileSync(f, text);
      }
    }
  });

  test("bad mappings are refused naming the entry", () => {
    expect(refused((s) => {
      s.linux!.namespaces!.push({ type: "user" });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 10 }, { containerID: 5, hostID: 200000, size: 10 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 10 }];
    })).toContain("linux.uidMappings[1]: container ids 5…14 overlap linux.uidMappings[0]");
    expect(refused((s) => {
      s.linux!.namespaces!.push({ type: "user" });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 10 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 10 }, { containerID: 10, hostID: 100005, size: 10 }];
    })).toContain("linux.gidMappings[1]: host ids 100005…100014 overlap linux.gidMappings[0]");
    expect(refused((s) => {
      s.linux!.namespaces!.push({ type: "user" });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 0 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 1 }];
    })).toContain("linux.uidMappings[0].size: is 0");
    expect(refused((s) => {
      s.mounts!.push({ destination: "/data", type: "tmpfs", source: "tmpfs", uidMappings: [{ containerID: 0, hostID: 1, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1, size: 1 }] });
    })).toContain("need a bind mount");
  });

  test("a mount the kernel forbids in a user namespace is refused with what to do instead", () => {
    const rootfs = join(fx.dir, "rootfs-userns-mount");
    copySharedRootfs(rootfs);
    Bun.spawnSync(["chown", "-R", "100000:100000", rootfs]);
    const err = refused((s) => {
      s.root = { path: rootfs, readonly: true };
      s.linux!.namespaces!.push({ type: "user" });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.mounts!.push({ destination: "/mnt", type: "ext4", source: "/dev/null" });
    });
    expect(err).toContain("mounts[7] (/mnt): mount ext4 on /mnt: operation not permitted; the kernel lets a user namespace mount only");
  });
});

describe.skipIf(!canRunContainers)("process attributes", () => {
  test("rlimits: every RLIMIT_* name reaches /proc/1/limits", () => {
    const names = ["CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE", "MEMLOCK", "AS", "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME"];
    // below the host's hard limits: root here lacks CAP_SYS_RESOURCE to raise them
    const hostHard = (name: string): number => {
      const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.toLowerCase().includes(LIMIT_LABEL[name]!))!;
      const hard = line.trim().split(/\s{2,}/)[2]!;
      return hard === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(hard);
    };
    const want = Object.fromEntries(names.map((n) => [n, Math.min(hostHard(n), n === "STACK" ? 8 << 20 : n === "NOFILE" ? 4096 : 1 << 30)]));
    const r = run("cat /proc/1/limits", (s) => {
      s.process!.rlimits = names.map((n) => ({ type: `RLIMIT_${n}`, soft: want[n]!, hard: want[n]! }));
    });
    for (const n of names) {
      const line = r.out.split("\n").find((l) => l.toLowerCase().includes(LIMIT_LABEL[n]!))!;
      expect(line.trim().split(/\s{2,}/).slice(1, 3)).toEqual([String(want[n]), String(want[n])]);
    }
  });

  test("personality LINUX32 makes uname report a 32-bit machine", () => {
    expect(run("uname -m", (s) => { s.linux!.personality = { domain: "LINUX32" }; }).out).toBe("i686\n");
  });

  test("ioPriority and scheduler are what the kernel reports for the init", () => {
    const id = fx.id();
    const spec = fx.spec(id, (s) => {
      s.process!.args = ["sleep", "60"];
      s.process!.ioPriority = { class: "IOPRIO_CLASS_IDLE", priority: 0 };
      s.process!.scheduler = { policy: "SCHED_BATCH", nice: 7 };
    });
    expect(fx.rt(["create", "--bundle", fx.bundle(id, spec), id]).code).toBe(0);
    const pid = fx.state(id).pid;
    expect(Bun.spawnSync(["ionice", "-p", String(pid)]).stdout.toString().trim()).toBe("idle");
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    expect(fields[16]).toBe("7"); // nice (field 19)
    expect(fields[38]).toBe("3"); // policy (field 41): SCHED_BATCH
    fx.rt(["delete", "--force", id]);
  });

  test("bad process attributes are refused naming the field", () => {
    expect(refused((s) => { s.process!.ioPriority = { class: "IOPRIO_CLASS_URGENT", priority: 1 }; })).toContain("process.ioPriority.class");
    expect(refused((s) => { s.process!.ioPriority = { class: "IOPRIO_CLASS_BE", priority: 9 }; })).toContain("process.ioPriority.priority");
    expect(refused((s) => { s.process!.scheduler = { policy: "SCHED_FIFO", priority: 0 }; })).toContain("process.scheduler.priority");
    expect(refused((s) => { s.process!.scheduler = { policy: "SCHED_OTHER", nice: 40 }; })).toContain("process.scheduler.nice");
    expect(refused((s) => { s.linux!.personality = { domain: "SVR4" }; })).toContain("linux.personality.domain");
    expect(refused((s) => { s.linux!.intelRdt = { closID: "x" } as never; })).toContain("linux.intelRdt: Intel RDT");
    expect(refused((s) => { s.linux!.sysctl = { "vm.swappiness": "1" }; })).toContain('linux.sysctl["vm.swappiness"]: is not a namespaced sysctl');
    expect(refused((s) => {
      s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== "network");
      s.linux!.sysctl = { "net.ipv4.ip_forward": "1" };
    })).toContain(`linux.sysctl["net.ipv4.ip_forward"]: needs the container's own network namespace`);
  });
});

describe.skipIf(!canRunContainers)("LSM fields on a host without an LSM", () => {
  const hasLsm = existsSync("/sys/fs/selinux/enforce") || (existsSync("/sys/module/apparmor/parameters/enabled") && readFileSync("/sys/module/apparmor/parameters/enabled", "utf8").startsWith("Y"));

  test.skipIf(hasLsm)("an AppArmor profile or SELinux label is refused rather than silently not applied", () => {
    expect(refused((s) => { s.process!.apparmorProfile = "docker-default"; })).toContain("process.apparmorProfile: AppArmor is not enabled on this host");
    expect(refused((s) => { s.process!.selinuxLabel = "system_u:system_r:container_t:s0"; })).toContain("process.selinuxLabel: SELinux is not enabled on this host");
  });

  test.skipIf(hasLsm)("apparmorProfile unconfined runs; mountLabel is ignored with a warning", () => {
    expect(run("echo ok", (s) => { s.process!.apparmorProfile = "unconfined"; }).out).toBe("ok\n");
    const r = run("echo ok", (s) => { s.linux!.mountLabel = "system_u:object_r:container_file_t:s0"; });
    expect(r.out).toBe("ok\n");
    expect(r.err).toContain("linux.mountLabel: SELinux is not enabled on this host; mount labels are ignored");
  });
});

const LIMIT_LABEL: Record<string, string> = {
  CPU: "max cpu time", FSIZE: "max file size", DATA: "max data size", STACK: "max stack size", CORE: "max core file size",
  RSS: "max resident set", NPROC: "max processes", NOFILE: "max open files", MEMLOCK: "max locked memory",
  AS: "max address space", LOCKS: "max file locks", SIGPENDING: "max pending signals", MSGQUEUE: "max msgqueue size",
  NICE: "max nice priority", RTPRIO: "max realtime priority", RTTIME: "max realtime timeout",
};
