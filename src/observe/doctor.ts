/**
 * `berth doctor`: is this host ready to run containers, and if not, what to do. One
 * check per line — ok / warn / fail, the evidence (the file and what it says), the fix.
 * Pure: the facts come from doctor-facts.ts, so every verdict is tested on fixtures.
 */
import { kernelVersion } from "../kernel-version.ts";
import { CAPABILITIES } from "../security/capabilities.ts";
import type { CgroupLayout } from "../cgroups/layout.ts";

export interface DoctorFacts {
  /** /proc/sys/kernel/osrelease */
  kernel: string;
  /** namespace type → /proc/self/ns/<type> exists */
  namespaces: Record<string, boolean>;
  userns: { max?: number; unprivilegedClone?: number; apparmorRestrict?: number };
  euid: number;
  layout: CgroupLayout;
  /** v2: each level from the hierarchy root down to berth's parent cgroup, with what its subtree_control enables */
  subtree: { file: string; enabled: string[]; exists: boolean }[];
  delegation: { nsdelegate: boolean; delegateFiles: string[]; ownCgroupDir?: string; ownWritable: boolean };
  psi: { file: string; readable: boolean };
  swap: { file: string; accounting: boolean; devices: number };
  filesystems: string[];
  seccomp: { file: string; actions?: string[] };
  rootFsType: string;
  cni: { dir: string; plugins: string[] }[];
  ipForward?: number;
  disks: { path: string; freePct: number; inodesFreePct: number }[];
  helper: { path: string; executable: boolean };
  /** what root really holds: /proc/self/status CapEff (hex) and /proc/sys/kernel/cap_last_cap */
  capabilities: { file: string; effective: string; lastCap: number };
  /** this process's hard limits the engines' default ulimits are checked against (/proc/self/limits; null: unlimited) */
  hardLimits: { file: string; nofile: number | null };
}

export type CheckStatus = "ok" | "warn" | "fail";

export interface Check {
  name: string;
  status: CheckStatus;
  evidence: string;
  /** empty when ok */
  fix: string;
}

const NAMESPACES_NEEDED = ["mnt", "uts", "ipc", "pid", "net"];
const NAMESPACES_OPTIONAL = ["user", "cgroup", "time"];
/** What linux.resources needs: cpu, memory, pids, io (blkio on v1), and cpuset, devices, freezer on v1. */
const V2_CONTROLLERS = ["cpu", "memory", "pids", "io"];
const V1_CONTROLLERS = ["cpu", "cpuacct", "memory", "pids", "blkio", "devices", "freezer", "cpuset"];
const SECCOMP_ACTIONS = ["kill_process", "kill_thread", "trap", "errno", "trace", "allow"];
const CNI_PLUGINS = ["bridge", "host-local", "loopback", "portmap"];
/** Below these shares of free space or inodes a pull or a container's writes fail. */
const DISK_WARN_PCT = 10;
const DISK_FAIL_PCT = 5;

const check = (name: string, status: CheckStatus, evidence: string, fix = ""): Check => ({ name, status, evidence, fix: status === "ok" ? "" : fix });
const pct = (n: number) => `${+n.toFixed(1)}%`;

function kernel(f: DoctorFacts): Check {
  const v = kernelVersion(f.kernel);
  // 5.14: cgroup.kill; 5.2: the v2 freezer; 4.20: PSI
  return check("kernel", v >= 5014 ? "ok" : v >= 4020 ? "warn" : "fail", `/proc/sys/kernel/osrelease: Linux ${f.kernel.trim()}`,
    "upgrade to Linux 5.14 or later (v2 freezer 5.2, cgroup.kill 5.14, PSI 4.20)");
}

function namespaces(f: DoctorFacts): Check {
  const missing = NAMESPACES_NEEDED.filter((t) => !f.namespaces[t]);
  const optional = NAMESPACES_OPTIONAL.filter((t) => !f.namespaces[t]);
  const have = Object.keys(f.namespaces).filter((t) => f.namespaces[t]);
  return check("namespaces", missing.length > 0 ? "fail" : optional.length > 0 ? "warn" : "ok",
    `/proc/self/ns: ${have.join(" ")}${missing.length + optional.length > 0 ? `; missing ${[...missing, ...optional].join(" ")}` : ""}`,
    `build the kernel with ${[...missing, ...optional].map((t) => `CONFIG_${t === "mnt" ? "" : t.toUpperCase()}${t === "mnt" ? "NAMESPACES" : "_NS"}`).join(", ")}`);
}

function userNamespaces(f: DoctorFacts): Check {
  const u = f.userns;
  const ev = [`/proc/sys/user/max_user_namespaces ${u.max ?? "absent"}`];
  if (u.unprivilegedClone !== undefined) ev.push(`/proc/sys/kernel/unprivileged_userns_clone ${u.unprivilegedClone}`);
  if (u.apparmorRestrict !== undefined) ev.push(`/proc/sys/kernel/apparmor_restrict_unprivileged_userns ${u.apparmorRestrict}`);
  if (!f.namespaces.user || u.max === undefined || u.max === 0) {
    return check("user namespaces", "fail", ev.join("; "), "sysctl -w user.max_user_namespaces=15000 (and a kernel with CONFIG_USER_NS): rootless containers and linux.uidMappings need them");
  }
  if (u.unprivilegedClone === 0 || u.apparmorRestrict === 1) {
    return check("user namespaces", "warn", `${ev.join("; ")}: root may create them, other users may not`,
      u.unprivilegedClone === 0 ? "sysctl -w kernel.unprivileged_userns_clone=1 for rootless containers" : "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile allowing userns for berth-runtime");
  }
  return check("user namespaces", "ok", `${ev.join("; ")}: allowed`);
}

function cgroupLayout(f: DoctorFacts): Check {
  const l = f.layout;
  const v1 = l.v1.map((h) => h.mountPoint).join(" ");
  if (l.mode === "v2") return check("cgroup layout", "ok", `v2 (unified) at ${l.unified!.mountPoint}`);
  const fix = "boot with systemd.unified_cgroup_hierarchy=1 (or cgroup_no_v1=all) for pure v2: per-container PSI, hierarchical memory.events, safe delegation";
  if (l.mode === "hybrid") {
    return check("cgroup layout", "warn", `hybrid: v1 hierarchies ${v1}; cgroup2 at ${l.unified!.mountPoint} with controllers [${l.unified!.controllers.join(" ")}]`, fix);
  }
  return check("cgroup layout", "warn", `v1: ${v1}; no cgroup2 mount (no PSI per container)`, fix);
}

function controllers(f: DoctorFacts): Check {
  const l = f.layout;
  if (l.mode === "v2") {
    const available = l.unified!.controllers;
    const missing = V2_CONTROLLERS.filter((c) => !available.includes(c));
    const levels = f.subtree.filter((s) => s.exists).map((s) => `${s.file} [${s.enabled.join(" ")}]`).join("; ");
    // berth enables what a container needs in each ancestor's subtree_control as it creates the cgroup
    const notDelegated = f.subtree.filter((s) => s.exists).flatMap((s) => V2_CONTROLLERS.filter((c) => available.includes(c) && !s.enabled.includes(c)).map((c) => `${c} in ${s.file}`));
    const ev = `${l.unified!.mountPoint}/cgroup.controllers: available [${available.join(" ")}]; enabled: ${levels || "-"}`;
    if (missing.length > 0) return check("cgroup controllers", "fail", `${ev}; missing ${missing.join(" ")}`, `the kernel or a v1 mount holds ${missing.join(", ")}: unmount their v1 hierarchies or boot with cgroup_no_v1=${missing.join(",")}`);
    if (notDelegated.length > 0 && f.euid !== 0) return check("cgroup controllers", "warn", `${ev}; not enabled: ${notDelegated.join(", ")}`, `as root: echo +${V2_CONTROLLERS.join(" +")} > each listed cgroup.subtree_control`);
    return check("cgroup controllers", "ok", ev);
  }
  const mounted = l.v1.flatMap((h) => h.controllers);
  const missing = V1_CONTROLLERS.filter((c) => !mounted.includes(c));
  const ev = `v1 hierarchies: ${l.v1.map((h) => `${h.mountPoint} [${h.controllers.join(",")}]`).join(" ")}${l.unified ? `; ${l.unified.mountPoint}/cgroup.controllers [${l.unified.controllers.join(" ")}]` : ""}`;
  if (missing.length > 0) return check("cgroup controllers", missing.includes("memory") || missing.includes("cpu") ? "fail" : "warn", `${ev}; not mounted: ${missing.join(" ")}`, `mount them: mkdir /sys/fs/cgroup/X && mount -t cgroup -o X cgroup /sys/fs/cgroup/X (for ${missing.join(", ")})`);
  return check("cgroup controllers", "ok", ev);
}

function delegation(f: DoctorFacts): Check {
  const d = f.delegation;
  const ev = `cgroup2 nsdelegate ${d.nsdelegate ? "on" : "off"}; /sys/kernel/cgroup/delegate: ${d.delegateFiles.join(" ") || "absent"}`;
  if (f.euid === 0) return check("delegation", "ok", `${ev}; running as root: no delegation needed (rootless callers need their cgroup chowned to them)`);
  if (d.ownWritable) return check("delegation", "ok", `${ev}; ${d.ownCgroupDir} is writable by uid ${f.euid}`);
  return check("delegation", "warn", `${ev}; ${d.ownCgroupDir ?? "own cgroup"} is not writable by uid ${f.euid}: containers run without cgroup limits`,
    "delegate a cgroup (systemd: Delegate=yes in user@.service; else chown the cgroup dir, cgroup.procs, cgroup.subtree_control and cgroup.threads to the user)");
}

function psi(f: DoctorFacts): Check {
  if (f.psi.readable) {
    const note = f.layout.mode === "v2" ? "" : f.layout.unified ? `; per container only through ${f.layout.unified.mountPoint}` : "; not per container: there is no cgroup2 mount";
    return check("PSI", f.layout.mode === "v1" ? "warn" : "ok", `${f.psi.file} readable: pressure stall information on${note}`, "mount cgroup2 for per-container pressure");
  }
  return check("PSI", "warn", `${f.psi.file} unreadable: pressure stall information off`, "boot with psi=1 (the kernel has CONFIG_PSI_DEFAULT_DISABLED), or build it with CONFIG_PSI");
}

function swap(f: DoctorFacts): Check {
  const dev = `${f.swap.devices} swap device${f.swap.devices === 1 ? "" : "s"} in /proc/swaps`;
  if (f.swap.accounting) return check("swap accounting", "ok", `${f.swap.file} present; ${dev}`);
  return check("swap accounting", "warn", `${f.swap.file} absent: swap is not accounted per cgroup, --memory-swap cannot be enforced; ${dev}`, "boot with swapaccount=1 (CONFIG_MEMCG_SWAP)");
}

function overlay(f: DoctorFacts): Check {
  return f.filesystems.includes("overlay")
    ? check("overlayfs", "ok", "/proc/filesystems: overlay")
    : check("overlayfs", "warn", "/proc/filesystems: no overlay: image layers cannot be stacked", "modprobe overlay (CONFIG_OVERLAY_FS)");
}

function seccomp(f: DoctorFacts): Check {
  const a = f.seccomp.actions;
  if (!a) return check("seccomp", "fail", `${f.seccomp.file} absent: no seccomp filters`, "a kernel with CONFIG_SECCOMP_FILTER: the default profile needs it");
  const missing = SECCOMP_ACTIONS.filter((x) => !a.includes(x));
  const notif = a.includes("user_notif") ? "" : "; no user_notif (seccomp agents)";
  return check("seccomp", missing.length > 0 ? "warn" : "ok", `${f.seccomp.file}: ${a.join(" ")}${missing.length > 0 ? `; missing ${missing.join(" ")}` : notif}`, "upgrade the kernel for the missing actions");
}

function pivotRoot(f: DoctorFacts): Check {
  // pivot_root(2) cannot move the initial ramfs: runtimes need --no-pivot there
  return ["rootfs", "ramfs"].includes(f.rootFsType)
    ? check("pivot_root", "warn", `/ is ${f.rootFsType} (the initramfs): pivot_root fails with EINVAL`, "run berth-runtime with --no-pivot (as runc's DOCKER_RAMDISK), or switch_root to a real root first")
    : check("pivot_root", "ok", `/ is ${f.rootFsType}: pivot_root can move it`);
}

function cni(f: DoctorFacts): Check {
  const found = new Set(f.cni.flatMap((d) => d.plugins));
  const where = f.cni.map((d) => `${d.dir}: ${d.plugins.length > 0 ? d.plugins.length + " plugins" : "absent"}`).join("; ");
  const missing = CNI_PLUGINS.filter((p) => !found.has(p));
  if (found.size === 0) return check("CNI plugins", "warn", `${where}: none`, "apt-get install containernetworking-plugins (or unpack the release into /opt/cni/bin); without them only --network none/host work");
  return check("CNI plugins", missing.length > 0 ? "warn" : "ok", `${where}${missing.length > 0 ? `; missing ${missing.join(" ")}` : `; ${CNI_PLUGINS.join(" ")} present`}`, `install ${missing.join(", ")} (containernetworking-plugins)`);
}

function ipForward(f: DoctorFacts): Check {
  if (f.ipForward === undefined) return check("ip_forward", "warn", "/proc/sys/net/ipv4/ip_forward unreadable", "check the network stack");
  return f.ipForward === 1
    ? check("ip_forward", "ok", "/proc/sys/net/ipv4/ip_forward 1")
    : check("ip_forward", "warn", `/proc/sys/net/ipv4/ip_forward ${f.ipForward}: bridged containers cannot reach beyond the host`, "sysctl -w net.ipv4.ip_forward=1 (persist it in /etc/sysctl.d/)");
}

function storage(f: DoctorFacts): Check[] {
  return f.disks.map((d) => {
    const low = Math.min(d.freePct, d.inodesFreePct);
    const status: CheckStatus = low < DISK_FAIL_PCT ? "fail" : low < DISK_WARN_PCT ? "warn" : "ok";
    return check(`storage ${d.path}`, status, `statfs ${d.path}: ${pct(d.freePct)} space free, ${pct(d.inodesFreePct)} inodes free`,
      `free space or inodes on ${d.path}: remove unused images and stopped containers, rotate logs`);
  });
}

/** podman's and docker's (containerd's) default RLIMIT_NOFILE for a container, soft and hard */
const ENGINE_DEFAULT_NOFILE = 1048576;

/** What the runtime cannot do as root without each capability: fail when containers cannot start, warn when a feature goes. */
const NEEDED_CAPS: Record<string, { status: CheckStatus; without: string }> = {
  CAP_SYS_ADMIN: { status: "fail", without: "no namespaces, mounts or pivot_root: no container starts" },
  CAP_SETUID: { status: "fail", without: "process.user cannot be set" },
  CAP_SETGID: { status: "fail", without: "process.user's groups cannot be set" },
  CAP_SETPCAP: { status: "fail", without: "the bounding set cannot be dropped" },
  CAP_SYS_CHROOT: { status: "fail", without: "no chroot (--no-pivot, no mount namespace)" },
  CAP_DAC_OVERRIDE: { status: "fail", without: "root cannot reach other users' files: bundles, state, cgroup files" },
  CAP_CHOWN: { status: "warn", without: "consoles and volumes cannot be chowned to the container's user" },
  CAP_FOWNER: { status: "warn", without: "files root does not own cannot be chmodded" },
  CAP_KILL: { status: "fail", without: "other users' processes cannot be signalled: kill and delete --force fail for user-owned inits" },
  CAP_MKNOD: { status: "warn", without: "linux.devices cannot be made with mknod (bind them from the host)" },
  CAP_NET_ADMIN: { status: "warn", without: "no veth, bridge or firewall rules: only --network none or host" },
  CAP_SYS_PTRACE: { status: "warn", without: "other users' /proc/PID/ns and /proc/PID/environ cannot be read: berth ns, enter and stats see less" },
  CAP_SYS_RESOURCE: { status: "warn", without: "no rlimit above root's own hard limit and no negative oom_score_adj" },
};

function capabilities(f: DoctorFacts): Check {
  const eff = BigInt(`0x${f.capabilities.effective || "0"}`);
  const missing = Object.keys(NEEDED_CAPS).filter((name) => {
    const n = (CAPABILITIES as readonly string[]).indexOf(name);
    return n <= f.capabilities.lastCap && (eff & (1n << BigInt(n))) === 0n;
  });
  const ev = `${f.capabilities.file} CapEff ${f.capabilities.effective}`;
  if (missing.length === 0) return check("capabilities", "ok", `${ev}: root holds every capability a runtime uses`);
  const nofile = f.hardLimits.nofile;
  // the common case: a sandboxed root without CAP_SYS_RESOURCE, under an engine's default ulimit above its hard limit
  const rlimitsFail = missing.includes("CAP_SYS_RESOURCE") && nofile !== null && nofile < ENGINE_DEFAULT_NOFILE;
  const status: CheckStatus = rlimitsFail || missing.some((c) => NEEDED_CAPS[c]!.status === "fail") ? "fail" : "warn";
  const consequences = missing.map((c) => c === "CAP_SYS_RESOURCE" && rlimitsFail
    ? `${c}: podman's and docker's default nofile=${ENGINE_DEFAULT_NOFILE} is above root's hard limit ${nofile} (${f.hardLimits.file}), so every such run fails with 126 (setrlimit: operation not permitted); no negative oom_score_adj either`
    : `${c}: ${NEEDED_CAPS[c]!.without}`);
  const fixes = [
    ...(rlimitsFail ? [`lower the engines' default to the hard limit: containers.conf [containers] default_ulimits = ["nofile=${nofile}:${nofile}"] (podman), dockerd --default-ulimit nofile=${nofile}:${nofile}, or --ulimit nofile=${nofile}:${nofile} per run`] : []),
    "or run berth and the engines where root keeps these capabilities (the container or sandbox this host runs in drops them: its --cap-add, its seccomp/capability profile)",
  ];
  return check("capabilities", status, `${ev}; missing ${consequences.join("; ")}`, fixes.join("; "));
}

function helper(f: DoctorFacts): Check {
  return f.helper.executable
    ? check("native helper", "ok", `${f.helper.path} is built`)
    : check("native helper", "fail", `${f.helper.path} is missing or not executable: berth-runtime cannot start containers`, "build it: sh scripts/build-native.sh (npm run prepare does it)");
}

/**
 * /proc/PID/status's capability masks and /proc/PID/limits' hard limit of open files. Pure.
 *
 * @example parseLimitsHard("Max open files            1024                 20000                files\n", "Max open files") // → 20000
 */
export function parseLimitsHard(limits: string, name: string): number | null | undefined {
  const line = limits.split("\n").find((l) => l.startsWith(name));
  const hard = line?.slice(name.length).trim().split(/\s+/)[1];
  return hard === undefined ? undefined : hard === "unlimited" ? null : Number(hard);
}

/**
 * @example doctorChecks(facts).filter((c) => c.status !== "ok")
 */
export function doctorChecks(f: DoctorFacts): Check[] {
  return [
    kernel(f), namespaces(f), userNamespaces(f), cgroupLayout(f), controllers(f), delegation(f), psi(f), swap(f),
    overlay(f), seccomp(f), pivotRoot(f), cni(f), ipForward(f), ...storage(f), helper(f), capabilities(f),
  ];
}

/** One line per check: status, name, evidence, and the fix when not ok. */
export function formatChecks(checks: Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  return checks.map((c) => `${c.status.padEnd(4)}  ${c.name.padEnd(width)}  ${c.evidence}${c.fix ? `; fix: ${c.fix}` : ""}`).join("\n");
}
