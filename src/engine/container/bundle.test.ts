import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { BerthError } from "../../errors.ts";
import { buildSpec, DEFAULT_SHM_SIZE, DOCKER_CAPABILITIES, parseDeviceFlag, parseUlimit, type BundleContext } from "./bundle.ts";
import { execProcessSpec, mergeEnv, parseEnvFile, resolveUser } from "./process-config.ts";
import type { ImageProcessConfig } from "../../spec/image-spec.ts";
import { DOCKER_DEFAULT_SECCOMP, dockerSeccomp } from "./docker-seccomp.ts";
import { csvFields, parseMountFlag, parseVolumeFlag } from "./mount-flags.ts";
import type { RunFlags } from "./run-flags.ts";
import { CLIENT_SPECS_DIR } from "../../../test/client-specs.ts";

const DENY_ALL = { allow: false, type: "a", major: null, minor: null, access: "rwm" };
const ID = "0123456789abcdef".repeat(4);
const PASSWD = "root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1000::/home/web:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const GROUP = "root:x:0:\nweb:x:1000:\nwheel:x:10:web,alice\naudio:x:29:web\n";
const FILES: Record<string, string> = {
  "/env.list": "# comment\n\nA=1\n  B=two words\nFROM_HOST\nMISSING_ON_HOST\n",
  "/labels": "tier=db\n",
  "/seccomp.json": JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] }),
  "/bad.json": "{",
  "/null.json": "null",
  "/syscalls-number.json": JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: 5 }),
  "/syscall-null.json": JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [null] }),
  "/archmap-number.json": JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", archMap: 5 }),
  "/excludes-caps.json": JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO", excludes: { caps: 7 } }] }),
};

function ctx(over: Partial<BundleContext> = {}): BundleContext {
  let n = 0;
  return {
    id: ID,
    rootfs: "/var/lib/berth/snapshots/1/merged",
    etcFiles: { hosts: "/c/hosts", hostname: "/c/hostname", resolvConf: "/c/resolv.conf" },
    host: { cpus: 2, kernel: [6, 1], arch: "amd64", cgroupV2: false, lastCap: 40, swapLimit: true },
    passwd: PASSWD,
    group: GROUP,
    hostEnv: { FROM_HOST: "h", HOME: "/root" },
    readFile: (path, flag) => {
      const t = FILES[path];
      if (t === undefined) throw new BerthError(`cannot read ${path}`, { field: flag });
      return t;
    },
    device: (path, flag) => {
      if (path === "/dev/fuse") return { type: "c", major: 10, minor: 229, mode: 0o20666, uid: 0, gid: 0 };
      if (path === "/dev/sdz") return { type: "b", major: 8, minor: 0, mode: 0o60660, uid: 0, gid: 6 };
      throw new BerthError(`${path} is not a device`, { field: flag });
    },
    blockDevice: (path) => {
      if (path === "/dev/sdz") return [8, 0];
      throw new BerthError(`${path} is not a block device`, { field: "--device-read-bps" });
    },
    volumePath: (name) => `/var/lib/berth/volumes/${name}/_data`,
    newVolumeName: () => `anon${++n}`,
    containerPid: (ref, flag) => {
      if (ref === "db") return 4242;
      throw new BerthError(`no such container: ${ref}`, { field: flag });
    },
    initPath: "/usr/bin/tini-static",
    ...over,
  };
}

const BUSYBOX: ImageProcessConfig = { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"] };
const build = (flags: RunFlags & { args?: string[] } = {}, image: ImageProcessConfig = BUSYBOX, c: BundleContext = ctx()) => buildSpec(image, flags, c);
const fails = (flags: RunFlags & { args?: string[] }, field: string, message: RegExp, image: ImageProcessConfig = BUSYBOX) => {
  let err: unknown;
  try {
    build(flags, image);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(BerthError);
  expect((err as BerthError).field).toBe(field);
  expect((err as BerthError).message).toMatch(message);
  expect((err as BerthError).message).not.toContain("\n");
};

describe("defaults equal docker's", () => {
  const { spec } = build();
  test("capabilities: docker's 14 in bounding, effective and permitted, nothing inherited or ambient", () => {
    expect(DOCKER_CAPABILITIES).toHaveLength(14);
    expect(spec.process!.capabilities).toEqual({ bounding: DOCKER_CAPABILITIES, effective: DOCKER_CAPABILITIES, permitted: DOCKER_CAPABILITIES });
  });
  test("mounts: proc, dev, pts, sys ro, cgroup ro, mqueue, /dev/shm 64 MiB, then resolv.conf, hostname, hosts bound from the record", () => {
    expect(spec.mounts!.map((m) => m.destination)).toEqual(["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm", "/etc/resolv.conf", "/etc/hostname", "/etc/hosts"]);
    expect(spec.mounts!.find((m) => m.destination === "/dev/shm")!.options).toContain(`size=${DEFAULT_SHM_SIZE}`);
    expect(DEFAULT_SHM_SIZE).toBe(67108864);
    expect(spec.mounts!.find((m) => m.destination === "/etc/hosts")).toEqual({ destination: "/etc/hosts", type: "bind", source: "/c/hosts", options: ["rbind", "rprivate"] });
  });
  test("masked and read-only paths, device rules, hostname from the id, HOSTNAME in env, sysctls of a private network", () => {
    expect(spec.linux!.maskedPaths).toContain("/proc/kcore");
    expect(spec.linux!.maskedPaths).toContain("/sys/firmware");
    expect(spec.linux!.readonlyPaths).toEqual(["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]);
    expect(spec.hostname).toBe(ID.slice(0, 12));
    expect(spec.process!.env).toEqual(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", `HOSTNAME=${ID.slice(0, 12)}`]);
    expect(spec.linux!.resources!.devices![0]).toEqual(DENY_ALL);
    expect(spec.linux!.resources!.devices!.at(-1)).toEqual({ allow: false, type: "c", major: 10, minor: 229, access: "rwm" });
    expect(spec.linux!.sysctl).toEqual({ "net.ipv4.ip_unprivileged_port_start": "0", "net.ipv4.ping_group_range": "0 2147483647" });
    expect(spec.linux!.cgroupsPath).toBe(`/berth/${ID}`);
    expect(spec.process!.oomScoreAdj).toBe(0);
    expect(spec.process!.noNewPrivileges).toBeUndefined();
    expect(spec.root).toEqual({ path: "/var/lib/berth/snapshots/1/merged" });
  });
  test("namespaces: mount, network (none until CNI), pid, ipc, uts; cgroup namespace private on v2 only, as docker", () => {
    expect(spec.linux!.namespaces!.map((n) => n.type).sort()).toEqual(["ipc", "mount", "network", "pid", "uts"]);
    const v2 = build({}, BUSYBOX, ctx({ host: { ...ctx().host, cgroupV2: true } })).spec;
    expect(v2.linux!.namespaces!.map((n) => n.type)).toContain("cgroup");
  });
  test("seccomp: docker's default profile for this arch and capability set", () => {
    const s = spec.linux!.seccomp!;
    expect(s.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(s.defaultErrnoRet).toBe(1);
    expect(s.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    const allowed = new Set(s.syscalls!.filter((r) => r.action === "SCMP_ACT_ALLOW" && !r.args).flatMap((r) => r.names));
    for (const name of ["read", "write", "execve", "arch_prctl", "chroot"]) expect(allowed.has(name)).toBe(true);
    // CAP_SYS_ADMIN is not in the set: mount and unshare stay denied, clone only without namespace flags, clone3 ENOSYS
    for (const name of ["mount", "unshare", "reboot", "bpf", "s390_runtime_instr"]) expect(allowed.has(name)).toBe(false);
    expect(s.syscalls!.find((r) => r.names.includes("clone3"))).toEqual({ names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38 });
    expect(s.syscalls!.find((r) => r.names.includes("clone"))!.args![0]).toEqual({ index: 0, value: 2114060288, op: "SCMP_CMP_MASKED_EQ" });
  });
  // docker 20.10's own config.json, recorded on this kind of machine (../shared/reference): the same shape
  const recorded = `${CLIENT_SPECS_DIR}docker-run.json`;
  test.skipIf(!existsSync(recorded))("matches what docker itself writes: capabilities, default mounts, device rules, sysctls", () => {
    const docker = JSON.parse(readFileSync(recorded, "utf8"));
    expect(spec.process!.capabilities).toEqual(docker.process.capabilities);
    const shape = (ms: { destination: string; type: string; options: string[] }[]) => ms.filter((m) => m.type !== "bind").map((m) => [m.destination, m.type, m.options]);
    expect(shape(spec.mounts as never)).toEqual(shape(docker.mounts));
    expect(spec.mounts!.filter((m) => m.type === "bind").map((m) => [m.destination, m.options])).toEqual(docker.mounts.filter((m: { type: string }) => m.type === "bind").map((m: { destination: string; options: string[] }) => [m.destination, m.options]));
    // validation spells out the type and numbers docker leaves implicit in its first rule
    expect(spec.linux!.resources!.devices).toEqual([DENY_ALL, ...docker.linux.resources.devices.slice(1)]);
    expect(spec.linux!.sysctl).toEqual(docker.linux.sysctl);
    expect(spec.linux!.readonlyPaths).toEqual(docker.linux.readonlyPaths);
    for (const p of docker.linux.maskedPaths) expect(spec.linux!.maskedPaths).toContain(p);
  });
});

describe("image config", () => {
  test("an image's config of the wrong types: a string Cmd/Entrypoint is one argument (docker's strslice; it was split into letters), the rest one line naming the field", () => {
    const hostile = (config: Record<string, unknown>) => config as unknown as ImageProcessConfig;
    expect(build({}, hostile({ Cmd: "echo hi" })).spec.process!.args).toEqual(["echo hi"]);
    expect(build({}, hostile({ Entrypoint: "/init", Cmd: ["x"] })).spec.process!.args).toEqual(["/init", "x"]);
    fails({}, "image config Cmd", /is not a list of strings/, hostile({ Cmd: ["sh", 5] }));
    fails({}, "image config Env", /is not a list of strings/, hostile({ Cmd: ["x"], Env: "A=1" }));
    fails({}, "image config User", /is not a string/, hostile({ Cmd: ["x"], User: 5 }));
    fails({}, "image config WorkingDir", /is not a string/, hostile({ Cmd: ["x"], WorkingDir: 5 }));
    fails({}, "image config Labels", /is not an object of strings/, hostile({ Cmd: ["x"], Labels: { a: 5 } }));
    fails({}, "image config Volumes", /is not an object/, hostile({ Cmd: ["x"], Volumes: ["/data"] }));
    fails({}, "image config StopSignal", /is not a string/, hostile({ Cmd: ["x"], StopSignal: 9 }));
  });
  test("Entrypoint + Cmd; user args replace Cmd; --entrypoint replaces Entrypoint and drops Cmd; '' clears it", () => {
    const img: ImageProcessConfig = { Entrypoint: ["/docker-entrypoint.sh"], Cmd: ["redis-server"] };
    expect(build({}, img).spec.process!.args).toEqual(["/docker-entrypoint.sh", "redis-server"]);
    expect(build({ args: ["sh", "-c", "x"] }, img).spec.process!.args).toEqual(["/docker-entrypoint.sh", "sh", "-c", "x"]);
    expect(build({ entrypoint: "/bin/echo" }, img).spec.process!.args).toEqual(["/bin/echo"]);
    expect(build({ entrypoint: "/bin/echo", args: ["hi"] }, img).spec.process!.args).toEqual(["/bin/echo", "hi"]);
    expect(build({ entrypoint: "", args: ["ls"] }, img).spec.process!.args).toEqual(["ls"]);
    fails({ entrypoint: "" }, "run", /no command specified/, img);
    fails({}, "run", /no command specified/, {});
  });
  test("Env: the image's PATH kept, no default added; later -e wins in the first one's place; --env-file; NAME alone from the host", () => {
    const img: ImageProcessConfig = { Env: ["PATH=/opt/bin", "A=image", "KEEP=1"], Cmd: ["x"] };
    const env = build({ env: ["A=flag", "FROM_HOST", "UNSET_ON_HOST", "E="], envFile: ["/env.list"], tty: true }, img).spec.process!.env;
    expect(env).toEqual(["PATH=/opt/bin", `HOSTNAME=${ID.slice(0, 12)}`, "TERM=xterm", "A=flag", "KEEP=1", "B=two words", "FROM_HOST=h", "E="]);
    fails({ env: ["=x"] }, "--env", /invalid environment variable/);
    fails({ envFile: ["/nope"] }, "--env-file", /cannot read \/nope/);
  });
  test("WorkingDir, -w; relative is refused", () => {
    expect(build({}, { Cmd: ["x"], WorkingDir: "/srv" }).spec.process!.cwd).toBe("/srv");
    expect(build({ workdir: "/tmp" }, { Cmd: ["x"], WorkingDir: "/srv" }).spec.process!.cwd).toBe("/tmp");
    expect(build().spec.process!.cwd).toBe("/");
    fails({ workdir: "tmp" }, "--workdir", /needs to be an absolute path/);
    // the image's own: named as the image's, with -w as the way round it (it named --workdir, which was not given)
    fails({}, "image config WorkingDir", /the working directory "srv" is invalid; it needs to be an absolute path: give -w \/PATH/, { Cmd: ["x"], WorkingDir: "srv" });
  });
  test("User from the image, -u overrides; labels from the image, -l and --label-file; StopSignal", () => {
    const r = build({ label: ["a=1", "flag"], labelFile: ["/labels"], stopSignal: undefined }, { Cmd: ["x"], User: "web", Labels: { a: "0", img: "y" }, StopSignal: "SIGQUIT" });
    expect(r.spec.process!.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 10, 29] });
    expect(r.labels).toEqual({ a: "1", img: "y", tier: "db", flag: "" });
    expect(r.stopSignal).toBe("SIGQUIT");
    expect(build({ user: "0" }, { Cmd: ["x"], User: "web" }).spec.process!.user.uid).toBe(0);
  });
});

describe("users", () => {
  test("names and numbers, a numeric uid outside passwd gets gid 0, :group, --group-add", () => {
    expect(resolveUser("", [], PASSWD, GROUP)).toEqual({ uid: 0, gid: 0, additionalGids: [0] });
    expect(resolveUser("web", [], PASSWD, GROUP)).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 10, 29] });
    expect(resolveUser("1234", [], PASSWD, GROUP)).toEqual({ uid: 1234, gid: 0, additionalGids: [0] });
    expect(resolveUser("1234:55", [], PASSWD, GROUP)).toEqual({ uid: 1234, gid: 55, additionalGids: [55] });
    expect(resolveUser("web:wheel", ["audio", "7"], PASSWD, GROUP)).toEqual({ uid: 1000, gid: 10, additionalGids: [10, 29, 7] });
    expect(resolveUser("7", [], undefined, undefined)).toEqual({ uid: 7, gid: 0, additionalGids: [0] });
  });
  test("unknown names fail naming the flag", () => {
    fails({ user: "alice" }, "--user", /unable to find user alice/);
    fails({ user: "web:nogroup" }, "--user", /unable to find group nogroup/);
    fails({ groupAdd: ["video"] }, "--group-add", /unable to find group video/);
    fails({ user: "99999999999" }, "--user", /invalid uid/);
    fails({}, "image config User", /unable to find user ghost/, { Cmd: ["x"], User: "ghost" });
    // a --group-add number out of range names --group-add (it named --user)
    fails({ groupAdd: ["99999999999"] }, "--group-add", /invalid gid "99999999999"/);
  });
  test("-u \"\" is the image's User, as docker's merge of an empty one (it ran as root)", () => {
    expect(build({ user: "" }, { Cmd: ["x"], User: "web" }).spec.process!.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 10, 29] });
  });
  test("an image's passwd or group line whose id no kernel takes (over 4294967294) is no entry: it reached the spec and the runtime", () => {
    expect(() => resolveUser("evil", [], "evil:x:99999999999:0::/:/bin/sh\n", GROUP)).toThrow(/unable to find user evil/);
    expect(() => resolveUser("evil", [], "evil:x:4294967295:0::/:/bin/sh\n", GROUP)).toThrow(/unable to find user evil/);
    expect(() => resolveUser("web", [], "web:x:1000:99999999999::/:/bin/sh\n", GROUP)).toThrow(/unable to find user web/);
    expect(() => resolveUser("0:big", [], PASSWD, "big:x:99999999999:\n")).toThrow(/unable to find group big/);
    expect(resolveUser("web", [], PASSWD, `${GROUP}\nbig:x:99999999999:web\n`)).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 10, 29] });
  });
});

describe("security flags", () => {
  test("--cap-add / --cap-drop with and without CAP_, ALL on either side; --privileged gives every capability the kernel has", () => {
    const caps = (f: RunFlags) => build(f).spec.process!.capabilities!.bounding;
    expect(caps({ capAdd: ["net_admin"], capDrop: ["CAP_MKNOD", "kill"] })).toEqual([...DOCKER_CAPABILITIES.filter((c) => c !== "CAP_MKNOD" && c !== "CAP_KILL"), "CAP_NET_ADMIN"]);
    expect(caps({ capDrop: ["ALL"], capAdd: ["CHOWN"] })).toEqual(["CAP_CHOWN"]);
    expect(caps({ capAdd: ["ALL"] })).toHaveLength(41);
    expect(caps({ privileged: true })).toHaveLength(41);
    expect(build({ privileged: true }, BUSYBOX, ctx({ host: { ...ctx().host, lastCap: 37 } })).spec.process!.capabilities!.bounding).toHaveLength(38);
    // a root without CAP_SYS_RESOURCE (24) in its own bounding set cannot hand it out
    const without = build({ privileged: true }, BUSYBOX, ctx({ host: { ...ctx().host, bounding: ((1n << 41n) - 1n) & ~(1n << 24n) } })).spec.process!.capabilities!.bounding!;
    expect(without).toHaveLength(40);
    expect(without).not.toContain("CAP_SYS_RESOURCE");
    fails({ capAdd: ["FLY"] }, "--cap-add", /unknown capability "FLY"/);
  });
  test("the seccomp profile follows the capabilities: CAP_SYS_ADMIN allows mount and unshare and drops the clone3 ENOSYS rule", () => {
    const s = build({ capAdd: ["SYS_ADMIN"] }).spec.linux!.seccomp!;
    const allowed = new Set(s.syscalls!.filter((r) => r.action === "SCMP_ACT_ALLOW" && !r.args).flatMap((r) => r.names));
    expect(allowed.has("mount") && allowed.has("unshare") && allowed.has("clone3")).toBe(true);
    expect(s.syscalls!.some((r) => r.action === "SCMP_ACT_ERRNO" && r.names.includes("clone3"))).toBe(false);
  });
  test("--privileged: no seccomp, no masked or read-only paths, /sys and cgroup writable, every device allowed", () => {
    const { spec } = build({ privileged: true });
    expect(spec.linux!.seccomp).toBeUndefined();
    expect(spec.linux!.maskedPaths).toBeUndefined();
    expect(spec.linux!.readonlyPaths).toBeUndefined();
    expect(spec.mounts!.find((m) => m.destination === "/sys")!.options).not.toContain("ro");
    expect(spec.mounts!.find((m) => m.destination === "/sys/fs/cgroup")!.options).not.toContain("ro");
    expect(spec.linux!.resources!.devices).toEqual([{ ...DENY_ALL, allow: true }]);
  });
  test("--security-opt: seccomp=unconfined, seccomp=FILE (OCI or docker format), no-new-privileges, systempaths=unconfined, apparmor/label accepted", () => {
    expect(build({ securityOpt: ["seccomp=unconfined"] }).spec.linux!.seccomp).toBeUndefined();
    expect(build({ securityOpt: ["seccomp=/seccomp.json"] }).spec.linux!.seccomp).toEqual({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] });
    expect(build({ securityOpt: ["no-new-privileges"] }).spec.process!.noNewPrivileges).toBe(true);
    expect(build({ securityOpt: ["no-new-privileges:true"] }).spec.process!.noNewPrivileges).toBe(true);
    const open = build({ securityOpt: ["systempaths=unconfined"] }).spec.linux!;
    expect(open.maskedPaths).toBeUndefined();
    expect(open.readonlyPaths).toBeUndefined();
    const r = build({ securityOpt: ["apparmor=unconfined", "label=disable"] });
    expect(r.warnings).toHaveLength(2);
    fails({ securityOpt: ["seccomp=/bad.json"] }, "--security-opt seccomp", /not valid JSON/);
    // JSON of another shape: one line naming the part, as docker's decoding refuses it (these were "internal error"s)
    fails({ securityOpt: ["seccomp=/null.json"] }, "--security-opt seccomp", /the profile is not a JSON object/);
    fails({ securityOpt: ["seccomp=/syscalls-number.json"] }, "--security-opt seccomp", /syscalls is not a list/);
    fails({ securityOpt: ["seccomp=/syscall-null.json"] }, "--security-opt seccomp", /syscalls\[0\] is not an object/);
    fails({ securityOpt: ["seccomp=/archmap-number.json"] }, "--security-opt seccomp", /archMap is not a list/);
    fails({ securityOpt: ["seccomp=/excludes-caps.json"] }, "--security-opt seccomp", /syscalls\[0\]\.excludes\.caps is not a list of strings/);
    fails({ securityOpt: ["seccomp=/missing.json"] }, "--security-opt seccomp", /cannot read/);
    fails({ securityOpt: ["selinux-ish"] }, "--security-opt", /invalid option "selinux-ish"/);
  });
  test("--ulimit, --oom-score-adj", () => {
    const p = build({ ulimit: ["nofile=1024:2048", "nproc=-1", "nofile=512"], oomScoreAdj: "500" }).spec.process!;
    expect(p.rlimits).toEqual([{ type: "RLIMIT_NOFILE", soft: 512, hard: 512 }, { type: "RLIMIT_NPROC", soft: 2 ** 64 - 1, hard: 2 ** 64 - 1 }]);
    expect(p.oomScoreAdj).toBe(500);
    expect(parseUlimit("core=0")).toEqual({ type: "RLIMIT_CORE", soft: 0, hard: 0 });
    fails({ ulimit: ["files=1"] }, "--ulimit", /NAME one of/);
    fails({ ulimit: ["nofile=10:5"] }, "--ulimit", /soft limit 10 is above the hard limit 5/);
    // below -1 (unlimited) or past 2^53-1: refused naming --ulimit (the runtime refused the spec's process.rlimits[0].soft)
    fails({ ulimit: ["nofile=-5"] }, "--ulimit", /invalid ulimit "nofile=-5": -5 is out of range; use 0 to 9007199254740991, or -1 for unlimited/);
    fails({ ulimit: ["nofile=1:99999999999999999999"] }, "--ulimit", /99999999999999999999 is out of range/);
    fails({ oomScoreAdj: "1001" }, "--oom-score-adj", /-1000 to 1000/);
    // Number() reads "" as 0 and "1e2" as 100: neither is a whole number given
    fails({ oomScoreAdj: "" }, "--oom-score-adj", /invalid value ""; use a whole number from -1000 to 1000/);
    fails({ oomScoreAdj: "1e2" }, "--oom-score-adj", /invalid value "1e2"/);
  });
  test("--sysctl: namespaced ones only; net.* refused with --network host", () => {
    expect(build({ sysctl: ["net.core.somaxconn=1024", "kernel.shm_rmid_forced=1"] }).spec.linux!.sysctl).toMatchObject({ "net.core.somaxconn": "1024", "kernel.shm_rmid_forced": "1" });
    fails({ sysctl: ["vm.swappiness=1"] }, "--sysctl", /not namespaced/);
    fails({ sysctl: ["net.core.somaxconn=1"], network: "host" }, "--sysctl", /--network host/);
    fails({ sysctl: ["noequals"] }, "--sysctl", /KEY=VALUE/);
  });
});

describe("filesystem flags", () => {
  test("-v bind, named and anonymous volumes; --mount bind/volume/tmpfs; --tmpfs; sorted by depth", () => {
    const r = build({ volume: ["/srv/data:/data/db:ro", "cache:/cache", "/anon"], mount: ["type=tmpfs,target=/data,tmpfs-size=1m,tmpfs-mode=1770", "type=bind,src=/etc/ssl,dst=/ssl,readonly,bind-propagation=rslave"], tmpfs: ["/run:size=64k"] });
    const user = r.spec.mounts!.slice(10);
    expect(user.map((m) => m.destination)).toEqual(["/cache", "/anon", "/data", "/ssl", "/run", "/data/db"]);
    expect(user.find((m) => m.destination === "/data/db")).toEqual({ destination: "/data/db", type: "bind", source: "/srv/data", options: ["rbind", "rprivate", "ro"] });
    expect(user.find((m) => m.destination === "/cache")!.source).toBe("/var/lib/berth/volumes/cache/_data");
    expect(user.find((m) => m.destination === "/anon")!.source).toBe("/var/lib/berth/volumes/anon1/_data");
    expect(user.find((m) => m.destination === "/data")!.options).toEqual(["noexec", "nosuid", "nodev", "rprivate", "size=1048576", "mode=1770"]);
    expect(user.find((m) => m.destination === "/ssl")!.options).toEqual(["rbind", "rslave", "ro"]);
    expect(user.find((m) => m.destination === "/run")!.options).toEqual(["noexec", "nosuid", "nodev", "rprivate", "size=64k"]);
    expect(r.volumes).toEqual([{ name: "cache", anonymous: false, target: "/cache", copy: true }, { name: "anon1", anonymous: true, target: "/anon", copy: true }]);
    expect(r.bindSources).toEqual(["/srv/data"]);
  });
  test("the image's VOLUME paths get an anonymous volume each, seeded; a -v, --mount or --tmpfs there replaces it; nocopy", () => {
    const image = { ...BUSYBOX, Volumes: { "/data/": {}, "/cache": {}, "/logs": {}, "/tmp": {}, "relative": {}, "/": {} } };
    const r = build({ volume: ["/srv/logs:/logs", "named:/cache:nocopy"], tmpfs: ["/tmp"] }, image);
    expect(r.volumes).toEqual([{ name: "named", anonymous: false, target: "/cache", copy: false }, { name: "anon1", anonymous: true, target: "/data", copy: true }]);
    const byTarget = new Map(r.spec.mounts!.map((m) => [m.destination, m]));
    expect(byTarget.get("/data")).toEqual({ destination: "/data", type: "bind", source: "/var/lib/berth/volumes/anon1/_data", options: ["rbind", "rprivate"] });
    expect(byTarget.get("/logs")!.source).toBe("/srv/logs");
    expect(byTarget.get("/tmp")!.type).toBe("tmpfs");
    expect(r.spec.mounts!.filter((m) => m.destination === "/data" || m.destination === "/cache")).toHaveLength(2);
    expect(build({ mount: ["type=volume,src=va,dst=/a,volume-nocopy", "type=volume,src=vb,dst=/b,volume-nocopy=false", "type=volume,dst=/c,volume-nocopy=TRUE"] }).volumes.map((v) => v.copy)).toEqual([false, true, false]);
    expect(build({ volume: ["vv:/v:ro,nocopy", "ww:/w:nocopy,copy"] }).volumes.map((v) => v.copy)).toEqual([false, true]);
    fails({ mount: ["type=volume,src=va,dst=/a,volume-nocopy=maybe"] }, "--mount", /invalid volume-nocopy "maybe"/);
  });
  test("a user mount replaces the default at its place; /dev replaces everything below it; --ipc none drops /dev/shm", () => {
    const r = build({ volume: ["/h:/etc/hosts"] });
    expect(r.spec.mounts!.filter((m) => m.destination === "/etc/hosts")).toEqual([{ destination: "/etc/hosts", type: "bind", source: "/h", options: ["rbind", "rprivate"] }]);
    const dev = build({ volume: ["/dev:/dev"] }).spec.mounts!.map((m) => m.destination);
    expect(dev.filter((d) => d.startsWith("/dev"))).toEqual(["/dev"]);
    expect(build({ ipc: "none" }).spec.mounts!.map((m) => m.destination)).not.toContain("/dev/shm");
  });
  test("--read-only: root and the non-kernel mounts read-only, /proc /dev/* writable; --shm-size", () => {
    const { spec } = build({ readOnly: true, shmSize: "128m", volume: ["/x:/x"] });
    expect(spec.root!.readonly).toBe(true);
    expect(spec.mounts!.find((m) => m.destination === "/etc/hosts")!.options).toContain("ro");
    expect(spec.mounts!.find((m) => m.destination === "/dev/shm")!.options).toEqual(["nosuid", "noexec", "nodev", "mode=1777", "size=134217728"]);
    expect(spec.mounts!.find((m) => m.destination === "/proc")!.options).not.toContain("ro");
    expect(spec.mounts!.find((m) => m.destination === "/x")!.options).not.toContain("ro");
    fails({ shmSize: "lots" }, "--shm-size", /invalid size "lots"/);
  });
  test("bad volume specs: one line naming the flag and the form", () => {
    fails({ volume: ["./rel:/x"] }, "--volume", /invalid volume name "\.\/rel"/);
    fails({ volume: ["/a:b"] }, "--volume", /must be absolute/);
    fails({ volume: ["/a:/b:rx"] }, "--volume", /invalid option "rx"/);
    fails({ volume: ["/a:/b:ro:x"] }, "--volume", /invalid volume spec/);
    fails({ volume: ["/a:/"] }, "--volume", /cannot be \//);
    fails({ volume: ["/a:/x", "/b:/x"] }, "--volume", /duplicate mount point \/x/);
    fails({ mount: ["type=nfs,target=/x"] }, "--mount", /invalid type "nfs"/);
    fails({ mount: ["type=bind,source=rel,target=/x"] }, "--mount", /absolute source/);
    fails({ mount: ["type=volume,src=v"] }, "--mount", /no target/);
    fails({ mount: ["type=bind,src=/a,dst=/b,colour=red"] }, "--mount", /unknown key "colour"/);
    fails({ tmpfs: ["run"] }, "--tmpfs", /must be absolute/);
    expect(parseVolumeFlag("v1:/d", () => "x")).toMatchObject({ type: "volume", name: "v1" });
    expect(parseMountFlag("type=volume,target=/d", () => "gen")).toMatchObject({ type: "volume", name: "gen", anonymous: true });
  });
  test("--mount volume-opt=/volume-label=/volume-driver=: what a new volume is made with; a quoted field holds commas, as docker's CSV", () => {
    const m = parseMountFlag('type=volume,src=tv,dst=/t,volume-opt=type=tmpfs,volume-opt=device=tmpfs,"volume-opt=o=size=8m,uid=7",volume-label=a=b,volume-driver=local', () => "gen");
    expect(m).toMatchObject({ type: "volume", name: "tv", options: { type: "tmpfs", device: "tmpfs", o: "size=8m,uid=7" }, labels: { a: "b" } });
    expect(build({ mount: ['type=volume,src=tv,dst=/t,volume-opt=type=none,volume-opt=device=/srv,volume-opt=o=bind'] }).volumes).toEqual([
      { name: "tv", anonymous: false, target: "/t", copy: true, options: { type: "none", device: "/srv", o: "bind" } },
    ]);
    expect(csvFields('a,"b,c","f""g",', "--mount")).toEqual(["a", "b,c", 'f"g', ""]);
    expect(() => csvFields('a,d"e', "--mount")).toThrow("--mount: a double quote inside an unquoted field");
    expect(() => csvFields('"a"b', "--mount")).toThrow("--mount: text after a field's closing quote");
    fails({ mount: ["type=volume,src=tv,dst=/t,volume-opt=colour=red"] }, "--mount", /volume-opt: invalid option "colour" for the local driver/);
    fails({ mount: ["type=volume,src=tv,dst=/t,volume-opt=type=tmpfs"] }, "--mount", /volume-opt: type= needs device= too/);
    fails({ mount: ["type=volume,src=tv,dst=/t,volume-driver=nfs"] }, "--mount", /volume-driver "nfs" is not available/);
    fails({ mount: ['type=volume,src=tv,dst=/t,"volume-opt=o=a'] }, "--mount", /an unterminated quote/);
  });
  test("--init bind-mounts the static tini at /sbin/docker-init and runs it first; without one it fails", () => {
    const { spec } = build({ init: true, args: ["sleep", "1"] });
    expect(spec.process!.args).toEqual(["/sbin/docker-init", "--", "sleep", "1"]);
    expect(spec.mounts!.at(-1)).toEqual({ destination: "/sbin/docker-init", type: "bind", source: "/usr/bin/tini-static", options: ["bind", "ro"] });
    expect(() => buildSpec(BUSYBOX, { init: true }, ctx({ initPath: undefined }))).toThrow(/install tini/);
  });
});

describe("namespaces and identity", () => {
  test("--pid/--ipc/--uts host drop the namespace; container:NAME joins its init's", () => {
    const ns = build({ pid: "host", ipc: "container:db", uts: "host" }).spec.linux!.namespaces!;
    expect(ns.find((n) => n.type === "pid")).toBeUndefined();
    expect(ns.find((n) => n.type === "ipc")).toEqual({ type: "ipc", path: "/proc/4242/ns/ipc" });
    expect(ns.find((n) => n.type === "uts")).toBeUndefined();
    fails({ pid: "container:nope" }, "--pid", /no such container: nope/);
    fails({ pid: "sideways" }, "--pid", /invalid mode "sideways"/);
  });
  test("--network host: no network namespace, no hostname, no network sysctls; a CNI network joins the engine's namespace by path; ns:PATH", () => {
    const { spec } = build({ network: "host" });
    expect(spec.linux!.namespaces!.map((n) => n.type)).not.toContain("network");
    expect(spec.hostname).toBeUndefined();
    expect(spec.linux!.sysctl).toBeUndefined();
    fails({ network: "bridge" }, "--network", /not supported here; use none or host/);
    const netns = "/run/berth/netns/x";
    expect(build({ network: "bridge" }, BUSYBOX, ctx({ netnsPath: netns })).spec.linux!.namespaces!.find((n) => n.type === "network")).toEqual({ type: "network", path: netns });
    expect(build({}, BUSYBOX, ctx({ netnsPath: netns })).spec.linux!.namespaces!.find((n) => n.type === "network")).toEqual({ type: "network", path: netns });
    expect(build({ network: "ns:/run/netns/a" }).spec.linux!.namespaces!.find((n) => n.type === "network")).toEqual({ type: "network", path: "/run/netns/a" });
  });
  test("-h, --domainname, --annotation, --cgroup-parent, --cgroupns, --userns", () => {
    const { spec } = build({ hostname: "web", domainname: "example.org", annotation: ["a=b"], cgroupParent: "/mine/", cgroupns: "private" });
    expect(spec.hostname).toBe("web");
    expect(spec.process!.env).toContain("HOSTNAME=web");
    expect(spec.domainname).toBe("example.org");
    expect(spec.annotations).toEqual({ a: "b" });
    expect(spec.linux!.cgroupsPath).toBe(`/mine/${ID}`);
    expect(spec.linux!.namespaces!.map((n) => n.type)).toContain("cgroup");
    fails({ hostname: "bad_name" }, "--hostname", /invalid hostname/);
    fails({ cgroupns: "shared" }, "--cgroupns", /use host or private/);
    fails({ userns: "keep-id" }, "--userns", /not supported/);
    fails({ annotation: ["novalue"] }, "--annotation", /KEY=VALUE/);
    fails({ platform: "linux/arm64" }, "--platform", /cannot run here/);
  });
});

describe("resources: the cgroup values docker writes", () => {
  const res = (f: RunFlags) => build(f).spec.linux!.resources!;
  test("--cpus 0.5 → 50000/100000, --memory 0.5g → 536870912 (swap twice that, as docker), --memory-swap, --cpu-shares, cpusets", () => {
    expect(res({ cpus: "0.5" }).cpu).toEqual({ quota: 50000, period: 100000 });
    expect(res({ memory: "0.5g" }).memory).toEqual({ limit: 536870912, swap: 1073741824 });
    expect(res({ memory: "64m", memorySwap: "-1" }).memory).toEqual({ limit: 67108864, swap: -1 });
    expect(res({ memory: "64m", memorySwap: "128m" }).memory).toEqual({ limit: 67108864, swap: 134217728 });
    expect(build({ memory: "64m" }, BUSYBOX, ctx({ host: { ...ctx().host, swapLimit: false } })).spec.linux!.resources!.memory).toEqual({ limit: 67108864 });
    expect(res({ cpuShares: "512", cpusetCpus: "0", cpusetMems: "0", cpuPeriod: "50000", cpuQuota: "25000" }).cpu).toEqual({ shares: 512, cpus: "0", mems: "0", period: 50000, quota: 25000 });
    expect(res({ memoryReservation: "32m", memorySwappiness: "10", oomKillDisable: true }).memory).toEqual({ reservation: 33554432, swappiness: 10, disableOOMKiller: true });
  });
  test("--pids-limit (0 and -1 unlimited), --blkio-weight, --device-read-bps and friends, --kernel-memory ignored with a warning", () => {
    expect(res({ pidsLimit: "100" }).pids).toEqual({ limit: 100 });
    expect(res({ pidsLimit: "-1" }).pids).toBeUndefined();
    expect(res({ blkioWeight: "300" }).blockIO).toEqual({ weight: 300 });
    expect(res({ deviceReadBps: ["/dev/sdz:1mb"], deviceWriteIops: ["/dev/sdz:100"] }).blockIO).toEqual({
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }], throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 100 }],
    });
    const r = build({ kernelMemory: "50m" });
    expect(r.warnings.join()).toContain("--kernel-memory is ignored");
  });
  test("what the kernel cannot do is discarded with docker's warning, not an error: swappiness and oom-kill-disable on v2, a blkio weight without BFQ/CFQ", () => {
    const on = (host: Partial<BundleContext["host"]>, f: RunFlags) => build(f, BUSYBOX, ctx({ host: { ...ctx().host, ...host } }));
    const v2 = on({ cgroupV2: true }, { memory: "64m", memorySwappiness: "10", oomKillDisable: true });
    expect(v2.spec.linux!.resources!.memory).toEqual({ limit: 67108864, swap: 134217728 });
    expect(v2.warnings).toEqual([
      "Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.",
      "Your kernel does not support OomKillDisable. OomKillDisable discarded.",
    ]);
    const noBfq = on({ blkioWeight: false }, { blkioWeight: "300", deviceReadBps: ["/dev/sdz:1mb"] });
    expect(noBfq.spec.linux!.resources!.blockIO).toEqual({ throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }] });
    expect(noBfq.warnings).toEqual(["Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."]);
    expect(build({ oomKillDisable: true }).warnings).toEqual(["OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources."]);
    expect(build({ oomKillDisable: true, memory: "64m" }).warnings).toEqual([]);
  });
  test("--device adds the node and its cgroup rule; --device-cgroup-rule", () => {
    const { spec } = build({ device: ["/dev/fuse", "/dev/sdz:/dev/xvdc:r"], deviceCgroupRule: ["c 42:* rmw"] });
    expect(spec.linux!.devices).toEqual([
      { path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 },
      { path: "/dev/xvdc", type: "b", major: 8, minor: 0, fileMode: 0o660, uid: 0, gid: 6 },
    ]);
    expect(spec.linux!.resources!.devices!.slice(-3)).toEqual([
      { allow: true, type: "c", major: 10, minor: 229, access: "rwm" },
      { allow: true, type: "b", major: 8, minor: 0, access: "r" },
      { allow: true, type: "c", major: 42, minor: null, access: "rwm" },
    ]);
    expect(parseDeviceFlag("/dev/a:rw")).toEqual({ host: "/dev/a", container: "/dev/a", access: "rw" });
  });
  test("bad values: one line naming docker's flag", () => {
    fails({ cpus: "3" }, "--cpus", /range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available/);
    fails({ cpus: "half" }, "--cpus", /invalid CPU count "half"/);
    fails({ memory: "lots" }, "--memory", /invalid size "lots"/);
    fails({ memory: "1m" }, "--memory", /minimum memory limit allowed is 6MB/);
    fails({ memorySwap: "1g" }, "--memory-swap", /needs --memory/);
    fails({ pidsLimit: "many" }, "--pids-limit", /invalid value "many"/);
    fails({ blkioWeight: "5" }, "--blkio-weight", /from 10 to 1000/);
    fails({ deviceReadBps: ["sda:1mb"] }, "--device-read-bps", /DEVICE-PATH:RATE/);
    fails({ device: ["/dev/nonexistent"] }, "--device", /is not a device/);
    fails({ device: ["fuse"] }, "--device", /paths must be absolute/);
    fails({ device: ["/dev/fuse:/dev/fuse:rwx"] }, "--device", /invalid permissions "rwx"/);
    fails({ deviceCgroupRule: ["x 1:1 r"] }, "--device-cgroup-rule", /invalid rule/);
  });
});

describe("pure helpers", () => {
  test("env files and merging", () => {
    expect(parseEnvFile("A=1\r\n#x\nB\n", { B: "2" }, "--env-file", "f")).toEqual(["A=1", "B=2"]);
    expect(() => parseEnvFile("BAD NAME=1\n", {}, "--env-file", "f")).toThrow(/f:1: invalid variable name/);
    expect(mergeEnv(["A=1", "B=2"], ["A=3", "C=4"])).toEqual(["A=3", "B=2", "C=4"]);
  });
  test("docker-format profiles: excludes by arch and kernel, includes by minKernel; both architectures and archMap is refused", () => {
    const profile = {
      defaultAction: "SCMP_ACT_ERRNO" as const,
      syscalls: [
        { names: ["a"], action: "SCMP_ACT_ALLOW" as const, includes: { minKernel: "6.2" } },
        { names: ["b"], action: "SCMP_ACT_ALLOW" as const, excludes: { minKernel: "6.0" } },
        { names: ["c"], action: "SCMP_ACT_ALLOW" as const, excludes: { arches: ["amd64"] } },
        { name: "d", names: [], action: "SCMP_ACT_ALLOW" as const },
      ],
    };
    expect(dockerSeccomp(profile, { arch: "amd64", bounding: [], kernel: [6, 1] }).syscalls).toEqual([{ names: ["d"], action: "SCMP_ACT_ALLOW" }]);
    expect(dockerSeccomp(profile, { arch: "amd64", bounding: [], kernel: [6, 2] }).syscalls!.map((s) => s.names[0])).toEqual(["a", "d"]);
    expect(() => dockerSeccomp({ ...DOCKER_DEFAULT_SECCOMP, architectures: ["SCMP_ARCH_X86_64"] }, { arch: "amd64", bounding: [], kernel: [6, 1] })).toThrow(/both architectures and archMap/);
  });
});

describe("execProcessSpec: exec's whole process for the runtime's --process", () => {
  const base = {
    args: ["sleep", "600"], env: ["PATH=/bin", "A=1"], cwd: "/srv", terminal: false, noNewPrivileges: true,
    user: { uid: 0, gid: 0, additionalGids: [0, 10] },
    capabilities: { bounding: ["CAP_CHOWN"], effective: ["CAP_CHOWN"], permitted: ["CAP_CHOWN"] },
  };
  test("the user's groups replace the container's (group 0 does not stay); the rest of the container's process is kept", () => {
    const p = execProcessSpec(base, { args: ["id"], env: ["PATH=/bin", "B=2"], tty: true, user: { uid: 65534, gid: 65534, additionalGids: [65534, 10] } });
    expect(p).toEqual({ ...base, args: ["id"], env: ["PATH=/bin", "B=2"], terminal: true, user: { uid: 65534, gid: 65534, additionalGids: [65534, 10] } });
    expect(base.user.additionalGids).toEqual([0, 10]);
  });
  test("without a user, the container's; a working directory given; --privileged's capabilities in runc's --cap sets, once each", () => {
    const p = execProcessSpec(base, { args: ["sh"], env: [], tty: false, cwd: "/tmp", caps: ["CAP_CHOWN", "CAP_SYS_ADMIN"] });
    expect(p.user).toEqual(base.user);
    expect(p.cwd).toBe("/tmp");
    expect(p.capabilities).toEqual({ bounding: ["CAP_CHOWN", "CAP_SYS_ADMIN"], effective: ["CAP_CHOWN", "CAP_SYS_ADMIN"], permitted: ["CAP_CHOWN", "CAP_SYS_ADMIN"], ambient: ["CAP_CHOWN", "CAP_SYS_ADMIN"] });
    expect(base.capabilities.bounding).toEqual(["CAP_CHOWN"]);
  });
  test("a relative -w or an -e without a name is berth's one line naming the flag, as run's (the runtime refused them: exit 255, its own words)", () => {
    const refused = (o: { cwd?: string; env?: string[] }, field: string, message: RegExp) => {
      let err: unknown;
      try {
        execProcessSpec(base, { args: ["pwd"], env: o.env ?? [], tty: false, ...(o.cwd !== undefined && { cwd: o.cwd }) });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BerthError);
      expect([(err as BerthError).field, (err as BerthError).message]).toEqual([field, expect.stringMatching(message)]);
    };
    refused({ cwd: "tmp" }, "--workdir", /: the working directory "tmp" is invalid; it needs to be an absolute path$/);
    refused({ env: ["PATH=/bin", "=x"] }, "--env", /: invalid environment variable "=x"; use NAME=VALUE or NAME$/);
  });
});
