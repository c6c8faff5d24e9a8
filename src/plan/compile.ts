/**
 * config.json → the init plan: every decision about how a container is built, as a flat
 * list of steps for native/berth-init. Pure: the facts it needs about the host (cgroup
 * mounts, the kernel's last capability, whether /proc/kcore exists, the image's HOME)
 * come in through PlanContext, so every branch is unit-tested without root.
 *
 * The order is runc's: join and create namespaces, fork into the new pid namespace,
 * build the root filesystem (propagation, rootfs bind, mounts, /dev, sysctls, readonly
 * and masked paths), pivot_root, then hostname, rlimits, cwd, identity, capabilities,
 * READY, wait for `start`, exec.
 */
import { BerthError, type Warning } from "../errors.ts";
import type { MountInfo } from "../cgroups/mountinfo.ts";
import type { LinuxDeviceCgroup, LinuxResources } from "../spec/linux-resources.ts";
import type { Device, Linux, Mount, Namespace, NamespaceType, Process, Spec } from "../spec/runtime-spec.ts";
import { keyField } from "../spec/shape.ts";
import { isMountFlagOption, parseMountOptions, PROPAGATION } from "./mount-options.ts";
import { CGROUP_SLOT, CLONE, CONSOLE_TO_PARENT, CREATE, MS, type InitPlan } from "./ops.ts";
import { JOIN_ORDER, NS_FLAG } from "./namespaces.ts";
import { PlanBuilder, processOps } from "./process-ops.ts";
import { addCgroupJoinSteps, cgroupJoin, cloneIntoHint } from "./cgroup-join.ts";


/** The cgroup filesystems a `cgroup` mount shows inside the container. */
export interface CgroupMountFacts {
  mode: "v1" | "v2" | "hybrid";
  /** one per v1 hierarchy: its directory name under the mount, controllers, and the container's cgroup dir on the host */
  v1: { name: string; controllers: string[]; hostDir: string }[];
  /** the cgroup2 hierarchy: the container's cgroup dir on the host */
  unified?: { hostDir: string };
}

export interface PlanContext {
  id: string;
  /** absolute bundle directory */
  bundle: string;
  /** absolute root filesystem */
  rootfs: string;
  /** directory holding exec.fifo (the runtime's state dir for this container) */
  stateDir: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  /** berth-runtime runs as a non-root user (rootless): it may not clone mounts, and bind sources are its own to reach */
  rootless?: boolean;
  preserveFds?: number;
  /** `run` without --detach: the helper's first process stays as the init's parent and passes its exit status on */
  foreground?: boolean;
  /** --console-socket: where the pty's master goes when process.terminal is true */
  consoleSocket?: string;
  cgroup?: CgroupMountFacts;
  /** the kernel has clone3's CLONE_INTO_CGROUP (Linux 5.7): the init can be born in its cgroup2 directory */
  cloneIntoCgroup?: boolean;
  /** highest capability number the kernel knows (/proc/sys/kernel/cap_last_cap) */
  lastCap?: number;
  /**
   * --no-pivot only: the mounts of the runtime's mount namespace (its mountinfo). The
   * move + chroot leaves them in the container's mount namespace, out of sight but not
   * gone, and the kernel lets a nested user namespace mount a fresh, unmasked procfs
   * while a full one exists there — so the full procfs and sysfs mounts outside the
   * root are covered first (runc's msMoveRoot does the same).
   */
  hostMounts?: MountInfo[];
  /** /proc/kcore exists on the host (runc links /dev/core to it) */
  hasKcore?: boolean;
  /** the home directory of process.user.uid from the image's /etc/passwd, for a missing HOME */
  home?: string;
  /** the Linux security modules active on the host: they decide what apparmorProfile, selinuxLabel and mountLabel can do */
  lsm?: { apparmor: boolean; selinux: boolean };
  /** the namespace types whose linux.namespaces[].path is the runtime's own namespace (the host's, for a runtime run on the host) */
  runtimeNamespaces?: NamespaceType[];
  /** linux.seccomp compiled to BPF (security/seccomp.ts does it, with libseccomp, outside this pure module) */
  seccomp?: { program: Uint8Array; flags: number; notify: boolean };
}

export interface CompiledPlan extends InitPlan {
  /** namespaces the helper creates */
  newNamespaces: Set<NamespaceType>;
  /** uid/gid maps the runtime writes when the helper reports `map` */
  userns?: { uidMap: string; gidMap: string };
  /** the mounts are made in the runtime's mount namespace (none of the container's own): the runtime removes them at delete */
  mountsOnHost: boolean;
  /** linux.resources plus allow rules for the devices the container gets */
  resources: LinuxResources;
  /** SCMP_ACT_NOTIFY: the helper reports `seccomp` and the runtime answers with the container process state for this agent */
  seccompAgent?: { listenerPath: string; metadata?: string };
  /**
   * cgroup directories whose cgroup.procs the runtime writes the helper's pid into before
   * sending the plan: those the helper cannot join itself (see cgroupJoin).
   */
  runtimeJoins: string[];
  warnings: Warning[];
}


/** The devices every container gets (runc's default set), made unless /dev is bind-mounted. */
export const DEFAULT_DEVICES: Required<Pick<Device, "path" | "type" | "major" | "minor" | "fileMode">>[] = [
  { path: "/dev/null", type: "c", major: 1, minor: 3, fileMode: 0o666 },
  { path: "/dev/zero", type: "c", major: 1, minor: 5, fileMode: 0o666 },
  { path: "/dev/full", type: "c", major: 1, minor: 7, fileMode: 0o666 },
  { path: "/dev/random", type: "c", major: 1, minor: 8, fileMode: 0o666 },
  { path: "/dev/urandom", type: "c", major: 1, minor: 9, fileMode: 0o666 },
  { path: "/dev/tty", type: "c", major: 5, minor: 0, fileMode: 0o666 },
];

/** Device cgroup rules runc appends for every container: the default devices, ptys, tun, mknod. */
export const DEFAULT_DEVICE_RULES: LinuxDeviceCgroup[] = [
  { allow: true, type: "c", major: null, minor: null, access: "m" },
  { allow: true, type: "b", major: null, minor: null, access: "m" },
  ...DEFAULT_DEVICES.map((d) => ({ allow: true, type: "c", major: d.major, minor: d.minor, access: "rwm" })),
  { allow: true, type: "c", major: 5, minor: 1, access: "rwm" }, // /dev/console
  { allow: true, type: "c", major: 136, minor: null, access: "rwm" }, // /dev/pts/*
  { allow: true, type: "c", major: 5, minor: 2, access: "rwm" }, // /dev/ptmx
  { allow: true, type: "c", major: 10, minor: 200, access: "rwm" }, // /dev/net/tun
];

const EPERM = 1;
const EINVAL = 22;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

/** sysctl keys that belong to a namespace, and which (runc's validator). */
function sysctlNamespace(key: string): NamespaceType | undefined {
  if (key.startsWith("net.")) return "network";
  if (key.startsWith("fs.mqueue.")) return "ipc";
  if (["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"].includes(key)) return "ipc";
  if (key === "kernel.hostname" || key === "kernel.domainname") return "uts";
  return undefined;
}

function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

function idMap(maps: { containerID: number; hostID: number; size: number }[] | undefined): string {
  return (maps ?? []).map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");
}

function mapsId(maps: { containerID: number; size: number }[] | undefined, id: number): boolean {
  return (maps ?? []).some((m) => id >= m.containerID && id < m.containerID + m.size);
}



/** What every stage reads: the spec, the host's facts, the namespaces asked for, and the plan so far. */
interface Compiling {
  spec: Spec;
  ctx: PlanContext;
  /** optional until `start` (runtime-spec runtime.md), which refuses a container without one */
  process: Process | undefined;
  linux: Linux;
  namespaces: Namespace[];
  /** type → index in linux.namespaces */
  nsIndex: Map<NamespaceType, number>;
  /** the namespaces the helper creates (no path) */
  newNs: Set<NamespaceType>;
  /**
   * Where the root filesystem is built: in a mount namespace of the container's own
   * ("own", then pivot_root), in the runtime's, inherited because linux.namespaces lists
   * no mount namespace ("inherited": mounts under the root in the host's table, removed
   * at delete, then chroot), or not at all in one joined by path ("joined").
   */
  rootfs: "own" | "inherited" | "joined";
  lsm: { apparmor: boolean; selinux: boolean };
  /** linux.seccomp compiled, when the spec has one */
  seccomp: PlanContext["seccomp"];
  b: PlanBuilder;
  warnings: Warning[];
}

/** What the host-side steps opened: where the cgroup is joined and the slots holding fds. */
interface HostSide {
  join: ReturnType<typeof cgroupJoin>;
  cgroupSlot: number;
  /** mounts[i] → the slot of its detached tree (idmapped, or a bind in a new user namespace) */
  treeSlots: Map<number, number>;
  agentSlot: number;
  consoleSlot: number;
  seccompAgent: CompiledPlan["seccompAgent"];
}

const nsField = (c: Compiling, t: NamespaceType) => `linux.namespaces[${c.nsIndex.get(t)}]`;

/**
 * The plan, stage by stage: refuse what cannot run; in the helper's first process, what
 * needs the host (cgroup, state dir, idmapped trees, sockets), then the namespaces and the
 * fork; in the init, its set-up and root filesystem, the switch into that root, and the
 * process. Each stage appends its steps to one PlanBuilder, in this order.
 */
export function compilePlan(spec: Spec, ctx: PlanContext): CompiledPlan {
  const linux = spec.linux ?? {};
  const namespaces = linux.namespaces ?? [];
  const c: Compiling = {
    spec, ctx, process: spec.process, linux, namespaces,
    nsIndex: new Map(namespaces.map((n, i) => [n.type, i])),
    newNs: new Set(namespaces.filter((n) => !n.path).map((n) => n.type)),
    rootfs: namespaces.some((n) => n.type === "mount") ? (namespaces.some((n) => n.type === "mount" && !n.path) ? "own" : "joined") : "inherited",
    lsm: ctx.lsm ?? { apparmor: false, selinux: false },
    seccomp: linux.seccomp ? ctx.seccomp : undefined,
    b: new PlanBuilder(),
    warnings: [],
  };
  refuseWhatCannotRun(c);
  const host = openOnHost(c);
  const userns = enterNamespaces(c, host);
  const resources = setUpInit(c, host);
  enterRoot(c);
  execProcess(c, host);
  const { b, newNs, warnings } = c;
  return {
    ops: b.ops, newNamespaces: newNs, userns, resources, seccompAgent: host.seccompAgent, runtimeJoins: host.join.runtime,
    mountsOnHost: c.rootfs === "inherited", warnings: [...warnings, ...b.warnings],
  };
}

/** The spec's combinations no step could honour, refused before any step is planned (runc's validator's rules). */
function refuseWhatCannotRun(c: Compiling): void {
  const { spec, ctx, process, linux, namespaces, nsIndex, newNs, lsm } = c;
  const has = (t: NamespaceType) => nsIndex.has(t);
  // runc's rules: a detached terminal needs somewhere to send the pty; a socket without a terminal is a mistake
  if (process?.terminal && !ctx.foreground && !ctx.consoleSocket) {
    throw new BerthError("cannot allocate a terminal when berth-runtime returns before the container ends; pass --console-socket, or set terminal to false", { field: "process.terminal" });
  }
  if (!process?.terminal && ctx.consoleSocket) {
    throw new BerthError("--console-socket needs process.terminal set to true", { field: "--console-socket" });
  }
  if (c.rootfs === "inherited" && linux.rootfsPropagation) {
    // it would change the propagation of the host's own mounts
    c.warnings.push({ field: "linux.rootfsPropagation", message: "ignored: without a mount namespace of its own the container's / is a directory in the host's mount table, whose propagation stays as it is" });
  }
  if ((linux.uidMappings || linux.gidMappings) && !has("user")) {
    throw new BerthError('need a user namespace; add {"type": "user"} to linux.namespaces', { field: linux.uidMappings ? "linux.uidMappings" : "linux.gidMappings" });
  }
  if (newNs.has("user") && (!linux.uidMappings?.length || !linux.gidMappings?.length)) {
    throw new BerthError("a new user namespace needs linux.uidMappings and linux.gidMappings", { field: nsField(c, "user") });
  }
  // A uts namespace joined by path is the container's own as much as a new one (runc sets
  // the hostname there too); only the runtime's own would rename the host.
  for (const key of ["hostname", "domainname"] as const) {
    if (!spec[key]) continue;
    if (!has("uts")) throw new BerthError('cannot be set without a uts namespace; add {"type": "uts"} to linux.namespaces', { field: key });
    if (ctx.runtimeNamespaces?.includes("uts")) {
      throw new BerthError(`cannot be set in the uts namespace ${namespaces[nsIndex.get("uts")!]!.path}: it is berth-runtime's own, so the host would be renamed; join another or drop the path`, { field: key });
    }
  }
  if (linux.timeOffsets && Object.keys(linux.timeOffsets).length > 0 && !newNs.has("time")) {
    throw new BerthError('need a new time namespace; add {"type": "time"} to linux.namespaces', { field: "linux.timeOffsets" });
  }
  if (linux.intelRdt != null) {
    throw new BerthError("Intel RDT (resctrl) is not supported by berth-runtime; remove linux.intelRdt or use runc on a host with resctrl", { field: "linux.intelRdt" });
  }
  if (linux.seccomp && !ctx.seccomp) throw new Error("compilePlan: linux.seccomp must be compiled by the caller (PlanContext.seccomp)");
  const apparmor = process?.apparmorProfile;
  if (apparmor && !lsm.apparmor && apparmor !== "unconfined") {
    throw new BerthError(`AppArmor is not enabled on this host, so profile ${JSON.stringify(apparmor)} cannot confine the container; remove apparmorProfile or enable AppArmor`, { field: "process.apparmorProfile" });
  }
  if (process?.selinuxLabel && !lsm.selinux) {
    throw new BerthError(`SELinux is not enabled on this host, so label ${JSON.stringify(process.selinuxLabel)} cannot confine the container; remove selinuxLabel or enable SELinux`, { field: "process.selinuxLabel" });
  }
  if (linux.mountLabel && !lsm.selinux) {
    // runc ignores it too: a label on a mount means nothing without SELinux
    c.warnings.push({ field: "linux.mountLabel", message: "SELinux is not enabled on this host; mount labels are ignored" });
  }
  for (const key of Object.keys(linux.sysctl ?? {})) {
    const field = keyField("linux.sysctl", key);
    const ns = sysctlNamespace(key);
    if (!ns) throw new BerthError("is not a namespaced sysctl: setting it would change the host; remove it or set it on the host", { field });
    // runc: the spec's own field says it; two values for one name would leave the later one standing
    const own = key === "kernel.hostname" ? "hostname" : key === "kernel.domainname" ? "domainname" : undefined;
    if (own && spec[own]) throw new BerthError(`conflicts with ${own} ${JSON.stringify(spec[own])}; set the ${own} field only`, { field });
    if (!has(ns) || ctx.runtimeNamespaces?.includes(ns)) throw new BerthError(`needs the container's own ${ns} namespace (it would change the host's); add {"type": "${ns}"} to linux.namespaces`, { field });
  }
}

/**
 * The steps that need the host's namespaces and ids: joining the cgroup, opening the
 * state directory, idmapped trees, and connecting the console and seccomp agent sockets.
 */
function openOnHost(c: Compiling): HostSide {
  const { spec, ctx, process, linux, namespaces, nsIndex, b } = c;
  const join = cgroupJoin(
    { v1: (ctx.cgroup?.v1 ?? []).map((h) => h.hostDir), v2: ctx.cgroup?.unified?.hostDir },
    { cloneIntoCgroup: ctx.cloneIntoCgroup, userns: nsIndex.has("user"), joinsCgroupNs: namespaces.some((n) => n.type === "cgroup" && !!n.path) },
  );
  const cgroupSlot = addCgroupJoinSteps(b, join);
  // Opened first, as host root: once in a user namespace or another user, the path to
  // the state directory may not be searchable; the fd (and exec.fifo's 0622) still is.
  b.add("OPEN_DIR", [ctx.stateDir], "process", `open the state directory ${ctx.stateDir}`);
  // Idmapped trees and the seccomp agent's socket are made here, in the host's user and
  // mount namespaces: the maps are host ids, the paths host paths.
  const treeSlots = new Map<number, number>();
  for (const [i, m] of (spec.mounts ?? []).entries()) {
    if (!m.uidMappings && !m.gidMappings) continue;
    const f = `mounts[${i}]`;
    const opts = parseMountOptions(m.options);
    if (!(opts.bind || m.type === "bind")) throw new BerthError("uidMappings/gidMappings need a bind mount; add the bind or rbind option", { field: f });
    if (!m.uidMappings?.length || !m.gidMappings?.length) throw new BerthError("an idmapped mount needs both uidMappings and gidMappings", { field: f });
    if (!m.source) throw new BerthError("a bind mount needs a source; set the host path to bind", { field: `${f}.source` });
    const recursive = opts.idmap === "ridmap" || (opts.idmap === undefined && (opts.flags & MS.REC) !== 0) ? 1 : 0;
    const slot = treeSlots.size;
    treeSlots.set(i, slot);
    const step = b.add("IDMAP_TREE", [slot, bundlePath(ctx, m.source), idMap(m.uidMappings), idMap(m.gidMappings), recursive], `${f} (${m.destination})`, `make an idmapped copy of ${m.source}`);
    step.hint = { errno: EINVAL, text: "this kernel or the source's filesystem cannot idmap mounts (tmpfs needs Linux 6.3, ext4/xfs/btrfs 5.12+); drop uidMappings/gidMappings and chown the files instead" };
  }
  // In a new user namespace the container's root is an unprivileged host uid: a bind
  // source only the host's root can reach would be EACCES there. Each source is opened
  // here as a detached copy of its mount instead (runc opens them before joining too).
  if (c.newNs.has("user") && c.newNs.has("mount") && !ctx.rootless) {
    for (const [i, m] of (spec.mounts ?? []).entries()) {
      const opts = parseMountOptions(m.options);
      if (treeSlots.has(i) || !(opts.bind || m.type === "bind") || !m.source) continue;
      const slot = treeSlots.size;
      treeSlots.set(i, slot);
      b.add("OPEN_TREE", [slot, bundlePath(ctx, m.source), opts.flags & MS.REC ? 1 : 0], `mounts[${i}] (${m.destination})`, `open ${m.source} as the host's root`);
    }
  }
  const agentSlot = treeSlots.size;
  const consoleSlot = agentSlot + 1;
  if (consoleSlot >= CGROUP_SLOT) throw new BerthError(`at most ${CGROUP_SLOT - 2} idmapped mounts, or bind mounts with a new user namespace, per container`, { field: "mounts" });
  if (process?.terminal && ctx.consoleSocket) {
    b.add("CONNECT_UNIX", [consoleSlot, ctx.consoleSocket], "--console-socket", `connect to the console socket ${ctx.consoleSocket}`);
  }
  let seccompAgent: CompiledPlan["seccompAgent"];
  if (c.seccomp?.notify) {
    const path = linux.seccomp!.listenerPath;
    if (!path) throw new BerthError("SCMP_ACT_NOTIFY needs listenerPath, the seccomp agent's socket", { field: "linux.seccomp.listenerPath" });
    seccompAgent = { listenerPath: path, metadata: linux.seccomp!.listenerMetadata };
    b.add("CONNECT_UNIX", [agentSlot, path], "linux.seccomp.listenerPath", `connect to the seccomp agent at ${path}`);
  }
  return { join, cgroupSlot, treeSlots, agentSlot, consoleSlot, seccompAgent };
}

/**
 * Join the namespaces given by path, create the user namespace (and become its root),
 * then the others, and fork the container's init into them.
 * @returns the uid/gid maps the runtime writes for a new user namespace
 */
function enterNamespaces(c: Compiling, host: HostSide): CompiledPlan["userns"] {
  const { ctx, linux, namespaces, nsIndex, newNs, b } = c;
  for (const t of JOIN_ORDER) {
    const i = nsIndex.get(t);
    const ns = i === undefined ? undefined : namespaces[i];
    if (ns?.path) b.add("SETNS", [ns.path, NS_FLAG[t]], `linux.namespaces[${i}]`, `join ${t} namespace ${ns.path}`);
  }
  let userns: CompiledPlan["userns"];
  if (newNs.has("user")) {
    b.add("UNSHARE", [CLONE.NEWUSER], nsField(c, "user"), "create user namespace");
    b.add("USERNS_SYNC", [], "linux.uidMappings", "wait for the uid and gid maps");
    userns = { uidMap: idMap(linux.uidMappings), gidMap: idMap(linux.gidMappings) };
    // Become the namespace's root so the namespaces made next are owned by it.
    if (mapsId(linux.gidMappings, 0)) b.add("SETRESGID", [0], "linux.gidMappings", "become gid 0 in the user namespace");
    if (mapsId(linux.uidMappings, 0)) b.add("SETRESUID", [0], "linux.uidMappings", "become uid 0 in the user namespace");
  }
  let flags = 0;
  // Born into its cgroup2 directory, the init makes its own cgroup namespace after the
  // fork, so that the namespace's root is the container's cgroup (runc does the same).
  const lateCgroupNs = host.join.cloneInto !== "" && newNs.has("cgroup");
  const early = [...newNs].filter((t) => t !== "user" && !(lateCgroupNs && t === "cgroup"));
  for (const t of early) flags |= NS_FLAG[t];
  if (flags) b.add("UNSHARE", [flags], "linux.namespaces", `create ${early.join(", ")} namespaces`);
  if (newNs.has("time") && linux.timeOffsets) {
    const lines = Object.entries(linux.timeOffsets).map(([clock, o]) => `${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}\n`);
    if (lines.length) b.add("WRITE_FILE", ["/proc/self/timens_offsets", lines.join("")], "linux.timeOffsets", "write /proc/self/timens_offsets");
  }
  const proxy = consoleProxied(c);
  const fork = b.add("FORK", [ctx.foreground ? 1 : 0, proxy ? 1 : 0, host.cgroupSlot], "linux.namespaces", "fork the container's init");
  if (host.join.cloneInto) fork.hint = cloneIntoHint(host.join.cloneInto);
  if (lateCgroupNs) b.add("UNSHARE", [CLONE.NEWCGROUP], nsField(c, "cgroup"), "create cgroup namespace");
  return userns;
}

/** A terminal without --console-socket: the helper's first process proxies the pty (`run` in the foreground). */
const consoleProxied = (c: Compiling) => !!c.process?.terminal && !c.ctx.consoleSocket;

/**
 * In the init: session, keyring, loopback, the root filesystem, sysctls, oom_score_adj,
 * the terminal, and the wait for the create-time hooks.
 * @returns linux.resources plus the allow rules for the devices the container gets
 */
function setUpInit(c: Compiling, host: HostSide): LinuxResources {
  const { spec, ctx, process, linux, newNs, b } = c;
  b.add("SETSID", [], "process", "start a new session");
  if (!ctx.noNewKeyring) b.add("JOIN_KEYRING", [ctx.id], "process", "create a session keyring");
  if (newNs.has("network")) b.add("LOOPBACK_UP", [], nsField(c, "network"), "bring up lo");

  const resources: LinuxResources = structuredClone(linux.resources ?? {});
  if (c.rootfs !== "joined") buildRootfs(b, spec, ctx, newNs, resources, host.treeSlots, c.rootfs === "inherited");

  for (const [key, value] of Object.entries(linux.sysctl ?? {})) {
    b.add("WRITE_FILE", [`/proc/sys/${key.replace(/\./g, "/")}`, value], keyField("linux.sysctl", key), `set sysctl ${key}=${value}`);
  }
  if (process?.oomScoreAdj !== undefined) {
    b.add("WRITE_FILE", ["/proc/self/oom_score_adj", String(process.oomScoreAdj)], "process.oomScoreAdj", `set oom_score_adj ${process.oomScoreAdj}`);
  }

  if (process?.terminal) {
    const size = process.consoleSize;
    b.add("CONSOLE", [c.rootfs !== "joined" ? ctx.rootfs : "", consoleProxied(c) ? CONSOLE_TO_PARENT : host.consoleSlot, size?.height ?? 0, size?.width ?? 0], "process.terminal", "allocate the terminal and its /dev/console");
  }
  const hooks = spec.hooks ?? {};
  // the runtime runs the create-time hooks while the init waits; startContainer hooks read the state it sends then
  const hookSync = [hooks.prestart, hooks.createRuntime, hooks.createContainer, hooks.startContainer].some((l) => (l?.length ?? 0) > 0);
  if (hookSync) b.add("HOOK_SYNC", [], "hooks", "wait for the prestart, createRuntime and createContainer hooks");
  return resources;
}

/** Mount points of whole procfs and sysfs mounts outside `rootfs`, deepest first (a cover must not hide the next one). */
export function fullPseudoFsOutside(mounts: MountInfo[], rootfs: string): string[] {
  return mounts
    .filter((m) => (m.fsType === "proc" || m.fsType === "sysfs") && m.root === "/" && m.mountPoint !== rootfs && !m.mountPoint.startsWith(`${rootfs}/`))
    .map((m) => m.mountPoint)
    .sort((a, b) => b.split("/").length - a.split("/").length);
}

/** Read-only and masked paths, then pivot_root (or move + chroot, or a bare chroot) and the root's own flags; then the names. */
function enterRoot(c: Compiling): void {
  const { spec, ctx, linux, b } = c;
  if (c.rootfs !== "joined") {
    for (const [i, p] of (linux.readonlyPaths ?? []).entries()) {
      const f = `linux.readonlyPaths[${i}]`;
      b.add("BIND_SELF_IN_ROOT", [ctx.rootfs, p, 1], f, `bind ${p} onto itself`);
      b.add("MOUNT_IN_ROOT", [ctx.rootfs, p, "", "", MS.BIND | MS.REMOUNT | MS.RDONLY | MS.REC, "", CREATE.NONE, 1], f, `remount ${p} read-only`);
    }
    for (const [i, p] of (linux.maskedPaths ?? []).entries()) {
      b.add("MASK_PATH", [ctx.rootfs, p], `linux.maskedPaths[${i}]`, `mask ${p}`);
    }
    // In the runtime's mount namespace pivot_root and MS_MOVE would move the host's own
    // root: a chroot, as runc does there (--no-pivot changes nothing then).
    if (c.rootfs === "inherited") b.add("CHROOT", [ctx.rootfs], "root.path", `chroot to ${ctx.rootfs}`);
    else if (ctx.noPivot) {
      // last before the move: the in-root steps above reach paths through the host's /proc/self/fd
      for (const p of fullPseudoFsOutside(ctx.hostMounts ?? [], ctx.rootfs)) {
        b.add("MOUNT", ["tmpfs", p, "tmpfs", MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, ""], "root.path", `cover the host's ${p} (--no-pivot)`);
      }
      b.add("MOVE_CHROOT", [ctx.rootfs], "root.path", `move ${ctx.rootfs} to / and chroot`);
    } else b.add("PIVOT_ROOT", [ctx.rootfs], "root.path", `pivot_root to ${ctx.rootfs}`);
    for (const [i, m] of (spec.mounts ?? []).entries()) {
      if (!readOnlyLast(m)) continue;
      const flags = parseMountOptions(m.options).flags & ~MS.REMOUNT;
      b.add("MOUNT", ["", m.destination, "", flags | MS.REMOUNT, ""], `mounts[${i}] (${m.destination})`, `remount ${m.destination} read-only`);
    }
    // inherited, / is the bind buildRootfs made for this (never the host's mount under it)
    if (spec.root?.readonly) b.add("MOUNT", ["", "/", "", MS.REMOUNT | MS.BIND | MS.RDONLY, ""], "root.readonly", "remount / read-only");
    if (linux.rootfsPropagation && c.rootfs === "own") {
      b.add("MOUNT", ["", "/", "", PROPAGATION[linux.rootfsPropagation]!, ""], "linux.rootfsPropagation", `make / ${linux.rootfsPropagation}`);
    }
  }

  if (spec.hostname) b.add("SETHOSTNAME", [spec.hostname], "hostname", `set hostname ${JSON.stringify(spec.hostname)}`);
  if (spec.domainname) b.add("SETDOMAINNAME", [spec.domainname], "domainname", `set domainname ${JSON.stringify(spec.domainname)}`);
}

/** The process: rlimits, cwd, identity, capabilities, seccomp, READY, wait for `start`, exec (process-ops.ts). */
function execProcess(c: Compiling, host: HostSide): void {
  const { spec, ctx, process, linux, newNs, lsm, b, warnings } = c;
  if (process) {
    processOps(b, process, linux, {
      lastCap: ctx.lastCap, home: ctx.home, lsm, seccomp: c.seccomp, agentSlot: host.agentSlot, joinedUserns: newNs.has("user"),
      preserveFds: ctx.preserveFds, waitStart: true, startHooks: spec.hooks?.startContainer, warnings,
      terminal: process.terminal,
    });
  } else {
    // Built and waiting like any created container (state, kill, delete work on it), for a
    // `start` that refuses it: nothing to exec.
    b.add("CLOSE_FROM", [3 + (ctx.preserveFds ?? 0)], "process", "close the runtime's file descriptors");
    b.add("READY", [], "process", "report ready");
    b.add("WAIT_START", ["exec.fifo"], "process", "wait for start");
  }
}

function bundlePath(ctx: PlanContext, source: string): string {
  return source.startsWith("/") ? source : `${ctx.bundle}/${source}`;
}

function buildRootfs(b: PlanBuilder, spec: Spec, ctx: PlanContext, newNs: Set<NamespaceType>, resources: LinuxResources, slots: Map<number, number>, inherited: boolean): void {
  const root = ctx.rootfs;
  const linux = spec.linux ?? {};
  const propagation = linux.rootfsPropagation ? PROPAGATION[linux.rootfsPropagation]! : MS.SLAVE | MS.REC;
  // Slave (not private) by default so host unmounts still reach the container, as runc does;
  // "shared" would leak the container's mounts to the host, so / itself is made rslave first.
  // "unbindable" would refuse the bind of the rootfs onto itself (and every bind mount
  // after it): the tree is made rprivate while it is built, / unbindable after pivot_root.
  const first = propagation & MS.SHARED ? MS.SLAVE | MS.REC : propagation & MS.UNBINDABLE ? MS.PRIVATE | MS.REC : propagation | MS.REC;
  const firstName = Object.keys(PROPAGATION).find((k) => PROPAGATION[k] === first) ?? "rslave";
  // Inherited, / is the host's: its propagation is never touched, and the rootfs is bound
  // onto itself only when it must be a mount of its own (to be remounted read-only).
  if (!inherited) b.add("MOUNT", ["", "/", "", first, ""], "linux.rootfsPropagation", `make / ${firstName}`);
  if (!inherited || spec.root?.readonly) b.add("MOUNT", [root, root, "", MS.BIND | MS.REC, ""], "root.path", `bind ${root} onto itself`);

  const mounts = spec.mounts ?? [];
  const devBound = mounts.some((m) => m.destination === "/dev" && (m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind")));
  const mountLabel = ctx.lsm?.selinux ? linux.mountLabel : undefined;
  mounts.forEach((m, i) => mountOps(b, m, i, ctx, newNs, slots.get(i), mountLabel));

  if (!devBound) {
    const devices = new Map<string, Device & { field: string }>();
    const mounted = new Map(mounts.map((m, i) => [m.destination, i]));
    // a mount on a default device's path provides it (runc skips the node); the node would fail on the mount point
    for (const d of DEFAULT_DEVICES) if (!mounted.has(d.path)) devices.set(d.path, { ...d, uid: 0, gid: 0, field: `default device ${d.path}` });
    (linux.devices ?? []).forEach((d, i) => {
      if (mounted.has(d.path)) throw new BerthError(`${d.path} is also the destination of mounts[${mounted.get(d.path)}]; keep the device or the mount`, { field: `linux.devices[${i}]` });
      devices.set(d.path, { ...d, field: `linux.devices[${i}]` });
    });
    for (const d of devices.values()) {
      if (newNs.has("user")) {
        // mknod is refused in a user namespace: bind the host's node instead, as runc does
        b.add("MOUNT_IN_ROOT", [root, d.path, d.path, "", MS.BIND, "", CREATE.FILE, 0], d.field, `bind ${d.path} from the host`);
      } else {
        const kind = d.type === "b" ? S_IFBLK : d.type === "p" ? S_IFIFO : S_IFCHR;
        const mode = kind | ((d.fileMode ?? 0o666) & 0o7777);
        const dev = d.type === "p" ? 0n : makedev(d.major ?? 0, d.minor ?? 0);
        b.add("MKNOD_IN_ROOT", [root, d.path, mode, dev, d.uid ?? 0, d.gid ?? 0], d.field, `mknod ${d.path}`);
      }
    }
    const links: [string, string][] = [
      ["/proc/self/fd", "/dev/fd"], ["/proc/self/fd/0", "/dev/stdin"], ["/proc/self/fd/1", "/dev/stdout"], ["/proc/self/fd/2", "/dev/stderr"],
    ];
    if (ctx.hasKcore) links.push(["/proc/kcore", "/dev/core"]);
    for (const [target, link] of links) b.add("SYMLINK_IN_ROOT", [root, target, link], "linux.devices", `symlink ${link} -> ${target}`);
    b.add("SYMLINK_IN_ROOT", [root, "pts/ptmx", "/dev/ptmx"], "linux.devices", "symlink /dev/ptmx -> pts/ptmx");
  }

  // Creating a node grants nothing: only linux.resources.devices (and runc's default set)
  // decide what the container may open — as in runc, whose boundary a config listing
  // /dev/kmsg under a deny-all rule must not cross (read and write the host's kernel log).
  resources.devices = [...(resources.devices ?? []), ...DEFAULT_DEVICE_RULES];

  if (spec.process?.cwd && spec.process.cwd !== "/") {
    b.add("MKDIR_IN_ROOT", [root, spec.process.cwd, 0o755], "process.cwd", `create ${spec.process.cwd}`);
  }
}

/**
 * A read-only /dev or tmpfs is mounted writable and made read-only after pivot_root, as
 * runc does: /dev/pts, the devices, /dev/console and mounts below a tmpfs are made in it
 * first.
 */
function readOnlyLast(m: Mount): boolean {
  const opts = parseMountOptions(m.options);
  const type = m.type ?? (opts.bind ? "bind" : "");
  if (opts.bind || type === "bind" || !(opts.flags & MS.RDONLY)) return false;
  return type === "tmpfs" || m.destination.replace(/\/+/g, "/").replace(/(.)\/$/, "$1") === "/dev";
}

function mountOps(b: PlanBuilder, m: Mount, i: number, ctx: PlanContext, newNs: Set<NamespaceType>, treeSlot?: number, mountLabel?: string): void {
  const root = ctx.rootfs;
  const f = `mounts[${i}]`;
  const field = `${f} (${m.destination})`;
  const opts = parseMountOptions(m.options);
  const type = m.type ?? (opts.bind ? "bind" : "");
  if (type === "cgroup" || type === "cgroup2") return cgroupMountOps(b, m, f, field, opts, ctx, newNs);

  if (opts.bind || type === "bind") {
    if (!m.source) throw new BerthError("a bind mount needs a source; set the host path to bind", { field: `${f}.source` });
    // a bind mount takes no filesystem data: anything else is a typo the kernel would ignore (runc refuses it)
    const junk = (m.options ?? []).findIndex((o) => !isMountFlagOption(o));
    if (junk >= 0) throw new BerthError(`${JSON.stringify(m.options![junk])} is not an option a bind mount takes; use flags such as ro, nosuid, nodev, noexec, rbind, rprivate`, { field: `${f}.options[${junk}]` });
    const source = bundlePath(ctx, m.source);
    const rec = opts.flags & MS.REC;
    if (treeSlot !== undefined) b.add("MOVE_TREE_IN_ROOT", [treeSlot, root, m.destination, source], field, `attach the ${m.uidMappings || m.gidMappings ? "idmapped " : ""}copy of ${source} on ${m.destination}`);
    else b.add("MOUNT_IN_ROOT", [root, m.destination, source, "", MS.BIND | rec, "", CREATE.LIKE_SOURCE, 0], field, `bind ${source} on ${m.destination}`);
    const extra = opts.flags & ~(MS.BIND | MS.REC | MS.REMOUNT);
    if (extra) {
      b.add("MOUNT_IN_ROOT", [root, m.destination, "", "", MS.BIND | MS.REMOUNT | extra, "", CREATE.NONE, 0], field, `remount ${m.destination} with ${(m.options ?? []).join(",")}`);
    }
  } else {
    if (!type) throw new BerthError("has no type; set type (e.g. tmpfs, proc) or use the bind option", { field: `${f}.type` });
    if (type === "sysfs" && !newNs.has("network") && newNs.has("user")) {
      throw new BerthError("sysfs cannot be mounted in a user namespace without a new network namespace; add {\"type\": \"network\"} or bind /sys", { field: `${f}.type` });
    }
    const source = m.source ?? type;
    // SELinux labels the files of filesystems made here through their context= option
    const labelled = mountLabel && ["tmpfs", "devpts", "mqueue"].includes(type);
    const data = labelled ? [opts.data, `context="${mountLabel}"`].filter(Boolean).join(",") : opts.data;
    const flags = opts.flags & ~MS.REMOUNT & ~(readOnlyLast(m) ? MS.RDONLY : 0);
    const step = b.add("MOUNT_IN_ROOT", [root, m.destination, source, type, flags, data, CREATE.DIR, 0], field, `mount ${type} on ${m.destination}`);
    if (newNs.has("user")) {
      step.hint = { errno: EPERM, text: `the kernel lets a user namespace mount only filesystems marked safe for it (tmpfs, proc, sysfs, devpts, mqueue, overlay…), not ${type}; bind-mount it from the host instead` };
    }
  }
  for (const p of opts.propagation) {
    b.add("MOUNT_IN_ROOT", [root, m.destination, "", "", p, "", CREATE.NONE, 0], field, `set propagation of ${m.destination}`);
  }
  if (opts.attrSet || opts.attrClr) {
    b.add("MOUNT_SETATTR", [root, m.destination, opts.attrSet, opts.attrClr, 0, 1], field, `set recursive attributes on ${m.destination}`);
  }
}

function cgroupMountOps(b: PlanBuilder, m: Mount, f: string, field: string, opts: ReturnType<typeof parseMountOptions>, ctx: PlanContext, newNs: Set<NamespaceType>): void {
  const root = ctx.rootfs;
  const cg = ctx.cgroup;
  if (!cg) {
    // a rootless container without delegation has no cgroup of its own to show
    b.warnings.push({ field: f, message: `the container has no cgroup of its own; ${m.destination} is left as the image has it` });
    return;
  }
  const dest = m.destination;
  const flags = opts.flags & (MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RELATIME | MS.NOATIME | MS.STRICTATIME);
  const own = newNs.has("cgroup");
  const mountOne = (target: string, fstype: string, data: string, hostDir: string) => {
    if (own) {
      // In its own cgroup namespace the container mounts the hierarchy fresh: its root is the container's cgroup.
      b.add("MOUNT_IN_ROOT", [root, target, "cgroup", fstype, flags, data, CREATE.DIR, 0], field, `mount ${fstype} on ${target}`);
    } else {
      // Without one it sees its own cgroup directory from the host, bound in.
      b.add("MOUNT_IN_ROOT", [root, target, hostDir, "", MS.BIND | MS.REC, "", CREATE.DIR, 0], field, `bind ${hostDir} on ${target}`);
      if (flags) b.add("MOUNT_IN_ROOT", [root, target, "", "", MS.BIND | MS.REMOUNT | flags, "", CREATE.NONE, 0], field, `remount ${target} with ${(m.options ?? []).join(",")}`);
    }
  };
  if (cg.mode === "v2") {
    if (!cg.unified) throw new BerthError("host has no cgroup2 hierarchy", { field: f });
    mountOne(dest, "cgroup2", "", cg.unified.hostDir);
  } else {
    // v1: a tmpfs holding one directory per hierarchy, like the host's /sys/fs/cgroup
    b.add("MOUNT_IN_ROOT", [root, dest, "tmpfs", "tmpfs", MS.NOSUID | MS.NODEV | MS.NOEXEC, "mode=755", CREATE.DIR, 0], field, `mount tmpfs on ${dest}`);
    for (const h of cg.v1) mountOne(`${dest}/${h.name}`, "cgroup", h.controllers.join(","), h.hostDir);
    if (cg.unified) mountOne(`${dest}/unified`, "cgroup2", "", cg.unified.hostDir);
    if (flags & MS.RDONLY) {
      b.add("MOUNT_IN_ROOT", [root, dest, "", "", MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, "mode=755", CREATE.NONE, 0], field, `remount ${dest} read-only`);
    }
  }
}
