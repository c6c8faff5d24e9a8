/**
 * Image config + docker's `run` flags → an OCI runtime spec, with docker's defaults: its
 * capability set, its seccomp profile, masked and read-only paths, /dev/shm of 64 MiB,
 * /etc/hosts, /etc/hostname and /etc/resolv.conf bound from the container's record.
 *
 * Cut as nerdctl cuts `pkg/cmd/container/run_*.go`: one small function per concern, each
 * changing the spec in place, applied in order by {@link buildSpec}. Pure: what needs the
 * host (a device's numbers, a file's text, another container's pid) comes in through
 * {@link BundleContext}.
 */
import { BerthError } from "../../errors.ts";
import type { Device, Mount, Namespace, NamespaceType, Rlimit, Spec } from "../../spec/runtime-spec.ts";
import type { LinuxDeviceCgroup } from "../../spec/linux-resources.ts";
import type { ImageProcessConfig } from "../../spec/image-spec.ts";
import { CAPABILITIES } from "../../security/capabilities.ts";
import { parseSize } from "../../cgroups/units.ts";
import { limitsToResources, errorForFlags, type LimitFlags } from "../../cgroups/resource-flags.ts";
import { validateResources } from "../../spec/validate-resources.ts";
import { DOCKER_DEFAULT_SECCOMP, dockerSeccomp, type DockerSeccompProfile } from "./docker-seccomp.ts";
import { parseMountFlag, parseTmpfsFlag, parseVolumeFlag, requestedMounts, type MountRequest } from "./mount-flags.ts";
import type { RunFlags } from "./run-flags.ts";
import type { VolumeUse } from "./records.ts";
import { resolvePath } from "../../runtime/host-path.ts";
import { parseLabels } from "../labels.ts";
import { parseKeyValues, splitKeyValue } from "../../key-value.ts";
import { absoluteWorkdir, checkEnvFlag, mergeEnv, parseEnvFile, privilegedCapabilities, resolveUser } from "./process-config.ts";

export interface DeviceInfo {
  type: "c" | "b";
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
}

export interface HostFacts {
  cpus: number;
  kernel: [number, number];
  /** the seccomp profile's architecture name (amd64) */
  arch: string;
  cgroupV2: boolean;
  /** the highest capability number the kernel knows */
  lastCap: number;
  /** the capabilities berth itself may hand out (its bounding set, a bit per number); all when absent */
  bounding?: bigint;
  /** memory+swap can be limited (v1 memory.memsw.*, v2 memory.swap.max) */
  swapLimit: boolean;
  /** a proportional I/O weight can be set (v1 blkio.weight or blkio.bfq.weight; v2 the io controller); absent: assumed */
  blkioWeight?: boolean;
}

export interface BundleContext {
  id: string;
  rootfs: string;
  /** the container's own copies, bind-mounted over the image's */
  etcFiles: { hosts: string; hostname: string; resolvConf: string };
  host: HostFacts;
  /** the image root's /etc/passwd and /etc/group, when it has them */
  passwd?: string;
  group?: string;
  /** `-e NAME` without a value takes it from here */
  hostEnv: Record<string, string | undefined>;
  readFile(path: string, flag: string): string;
  device(path: string, flag: string): DeviceInfo;
  /** a block device path → [major, minor] (for --device-read-bps and friends) */
  blockDevice(path: string): [number, number];
  volumePath(name: string): string;
  newVolumeName(): string;
  /** the pid of another container's init, for --pid/--ipc/--uts container:ID */
  containerPid(ref: string, flag: string): number;
  /** a static init (tini) for --init, bind-mounted at /sbin/docker-init as docker does */
  initPath?: string;
  /** the network namespace the engine makes at start for a CNI network (`--network bridge|NAME`) */
  netnsPath?: string;
}

export interface BundleResult {
  spec: Spec;
  /** shown on stderr, as docker's "WARNING: …" lines */
  warnings: string[];
  /** named and anonymous volumes the container uses (created before it runs; `copy`: seeded from the image at `target` while empty) */
  volumes: VolumeUse[];
  /** `-v` bind sources to create when missing */
  bindSources: string[];
  /** image labels overlaid with -l and --label-file */
  labels: Record<string, string>;
  stopSignal: string;
}

const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/** moby's caps.DefaultCapabilities, in its order. */
export const DOCKER_CAPABILITIES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
  "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];

/** moby's oci.DefaultLinuxSpec masked paths (those that are not host-dependent) */
export const DOCKER_MASKED_PATHS = [
  "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
  "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/devices/virtual/powercap", "/sys/firmware",
];
export const DOCKER_READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** moby's default device cgroup: deny all, allow the standard nodes, deny /dev/rtc0 (10:229) */
const DOCKER_DEVICE_RULES: LinuxDeviceCgroup[] = [
  { allow: false, access: "rwm" },
  ...([[1, 5], [1, 3], [1, 9], [1, 8], [5, 0], [5, 1]] as const).map(([major, minor]) => ({ allow: true, type: "c", major, minor, access: "rwm" })),
  { allow: false, type: "c", major: 10, minor: 229, access: "rwm" },
];

function dockerMounts(shmSize: number): Mount[] {
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["ro", "nosuid", "noexec", "nodev"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", `size=${shmSize}`] },
  ];
}

// ---- small parsers ----------------------------------------------------------------------

const RLIMITS = ["core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack", "as"];

/** `--ulimit nofile=1024[:2048]`; -1 is unlimited */
export function parseUlimit(text: string): Rlimit {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(text.trim());
  if (!m || !RLIMITS.includes(m[1]!)) {
    throw new BerthError(`invalid ulimit ${JSON.stringify(text)}; use NAME=SOFT[:HARD] with NAME one of ${RLIMITS.join(", ")}`, { field: "--ulimit" });
  }
  // -1 is RLIM_INFINITY; anything else below 0, or past what a JSON number holds exactly, no kernel limit (the runtime refused it naming process.rlimits)
  const value = (s: string) => {
    if (s === "-1" || s === "18446744073709551615") return 2 ** 64 - 1;
    const n = Number(s);
    if (n < 0 || n > Number.MAX_SAFE_INTEGER) throw new BerthError(`invalid ulimit ${JSON.stringify(text)}: ${s} is out of range; use 0 to ${Number.MAX_SAFE_INTEGER}, or -1 for unlimited`, { field: "--ulimit" });
    return n;
  };
  const soft = value(m[2]!);
  const hard = m[3] === undefined ? soft : value(m[3]);
  if (soft > hard) throw new BerthError(`${text}: the soft limit ${m[2]} is above the hard limit ${m[3]}; make soft ≤ hard`, { field: "--ulimit" });
  return { type: `RLIMIT_${m[1]!.toUpperCase()}`, soft, hard };
}

/** `--device /dev/x[:/dev/y][:rwm]` */
export function parseDeviceFlag(text: string): { host: string; container: string; access: string } {
  const parts = text.split(":");
  const form = "use HOST-DEVICE[:CONTAINER-PATH][:PERMISSIONS], e.g. /dev/fuse or /dev/sdb:/dev/xvdc:r";
  const isAccess = (s: string) => /^[rwm]{1,3}$/.test(s) && new Set(s).size === s.length;
  let [host, container, access] = [parts[0] ?? "", parts[0] ?? "", "rwm"];
  if (parts.length === 2) {
    if (isAccess(parts[1]!)) access = parts[1]!;
    else container = parts[1]!;
  } else if (parts.length === 3) {
    [container, access] = [parts[1]!, parts[2]!];
    if (!isAccess(access)) throw new BerthError(`invalid permissions ${JSON.stringify(access)} in ${JSON.stringify(text)}; use a combination of r, w and m`, { field: "--device" });
  } else if (parts.length > 3) throw new BerthError(`invalid device ${JSON.stringify(text)}; ${form}`, { field: "--device" });
  if (!host.startsWith("/") || !container.startsWith("/")) throw new BerthError(`invalid device ${JSON.stringify(text)}: paths must be absolute; ${form}`, { field: "--device" });
  return { host, container, access };
}

/** `--device-cgroup-rule 'c 1:3 mr'` */
export function parseDeviceCgroupRule(text: string): LinuxDeviceCgroup {
  const m = /^([abc]) (\d+|\*):(\d+|\*) ([rwm]{1,3})$/.exec(text.trim());
  if (!m) throw new BerthError(`invalid rule ${JSON.stringify(text)}; use "TYPE MAJOR:MINOR ACCESS", e.g. "c 1:3 mr" or "a *:* rwm"`, { field: "--device-cgroup-rule" });
  const num = (s: string) => (s === "*" ? null : Number(s));
  return { allow: true, type: m[1]!, major: num(m[2]!), minor: num(m[3]!), access: m[4]! };
}

// ---- composable steps -------------------------------------------------------------------

interface Step {
  spec: Spec;
  flags: RunFlags;
  image: ImageProcessConfig;
  ctx: BundleContext;
  out: BundleResult;
}

function withProcess({ spec, flags, image, ctx }: Step): void {
  const p = spec.process!;
  const userArgs = (flags as { args?: string[] }).args ?? [];
  const entrypoint = flags.entrypoint !== undefined ? (flags.entrypoint === "" ? [] : [flags.entrypoint]) : (image.Entrypoint ?? []);
  // a new --entrypoint drops the image's Cmd, as docker does
  const cmd = userArgs.length > 0 ? userArgs : flags.entrypoint !== undefined ? [] : (image.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw new BerthError("no command specified; give one after the image or set the image's Cmd/Entrypoint", { field: "run" });
  p.args = args;
  p.cwd = absoluteWorkdir(flags.workdir ?? (image.WorkingDir || "/"), flags.workdir !== undefined ? "--workdir" : "image config WorkingDir");
  p.terminal = flags.tty === true;
  const hostname = spec.hostname ?? ctx.id.slice(0, 12);
  const userEnv: string[] = [];
  for (const file of flags.envFile ?? []) userEnv.push(...parseEnvFile(ctx.readFile(file, "--env-file"), ctx.hostEnv, "--env-file", file));
  for (const e of flags.env ?? []) {
    checkEnvFlag(e);
    if (e.includes("=")) userEnv.push(e);
    else if (ctx.hostEnv[e] !== undefined) userEnv.push(`${e}=${ctx.hostEnv[e]}`);
  }
  // docker's CreateDaemonEnvironment: PATH, HOSTNAME, TERM first; the image's and the user's replace them in place
  const base = [DEFAULT_PATH, `HOSTNAME=${hostname}`, ...(flags.tty ? ["TERM=xterm"] : [])];
  p.env = mergeEnv(base, image.Env ?? [], userEnv);
  // an empty -u is no -u: the image's User (docker's merge of the two configs)
  const u = resolveUser(flags.user || image.User || "", flags.groupAdd ?? [], ctx.passwd, ctx.group, flags.user ? "--user" : "image config User");
  p.user = { uid: u.uid, gid: u.gid, additionalGids: u.additionalGids };
  if (flags.oomScoreAdj !== undefined) {
    const n = /^[+-]?\d+$/.test(flags.oomScoreAdj.trim()) ? Number(flags.oomScoreAdj) : Number.NaN;
    if (!Number.isInteger(n) || n < -1000 || n > 1000) throw new BerthError(`invalid value ${JSON.stringify(flags.oomScoreAdj)}; use a whole number from -1000 to 1000`, { field: "--oom-score-adj" });
    p.oomScoreAdj = n;
  } else p.oomScoreAdj = 0;
  if (flags.ulimit?.length) {
    const byType = new Map<string, Rlimit>();
    for (const u of flags.ulimit) {
      const r = parseUlimit(u);
      byType.set(r.type, r);
    }
    p.rlimits = [...byType.values()];
  }
  if (flags.init) {
    if (!ctx.initPath) throw new BerthError("no init found; install tini (apt-get install tini) or drop --init", { field: "--init" });
    spec.mounts!.push({ destination: "/sbin/docker-init", type: "bind", source: ctx.initPath, options: ["bind", "ro"] });
    p.args = ["/sbin/docker-init", "--", ...p.args];
  }
}

function withIdentity({ spec, flags, ctx }: Step): void {
  if (flags.hostname !== undefined) {
    if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(flags.hostname)) throw new BerthError(`invalid hostname ${JSON.stringify(flags.hostname)}; use letters, digits, . and -, at most 63`, { field: "--hostname" });
    spec.hostname = flags.hostname;
  } else spec.hostname = ctx.id.slice(0, 12);
  if (flags.domainname !== undefined) spec.domainname = flags.domainname;
  const annotations = Object.fromEntries(parseKeyValues(flags.annotation, "--annotation"));
  if (Object.keys(annotations).length) spec.annotations = annotations;
}

function normaliseCap(name: string, flag: string): string {
  const upper = name.toUpperCase();
  if (upper === "ALL") return upper;
  const full = upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
  if (!(CAPABILITIES as readonly string[]).includes(full)) throw new BerthError(`unknown capability ${JSON.stringify(name)}; use a name like NET_ADMIN or CAP_NET_ADMIN (see capabilities(7)), or ALL`, { field: flag });
  return full;
}

/** moby's TweakCapabilities: start from docker's 14 (or all, --privileged), drop, then add; ALL works on both sides. */
function withCapabilities({ spec, flags, ctx }: Step): void {
  const all = privilegedCapabilities(ctx.host);
  const add = (flags.capAdd ?? []).map((c) => normaliseCap(c, "--cap-add"));
  const drop = (flags.capDrop ?? []).map((c) => normaliseCap(c, "--cap-drop"));
  let caps: string[];
  if (flags.privileged || add.includes("ALL")) caps = [...all];
  else {
    caps = drop.includes("ALL") ? [] : DOCKER_CAPABILITIES.filter((c) => !drop.includes(c));
    for (const c of add) if (!caps.includes(c) && !drop.includes(c)) caps.push(c);
    // an explicit add wins over a drop of the same capability only when drop is ALL (docker: "--cap-drop ALL --cap-add X")
    if (drop.includes("ALL")) for (const c of add) if (!caps.includes(c)) caps.push(c);
  }
  spec.process!.capabilities = { bounding: [...caps], effective: [...caps], permitted: [...caps] };
}

function withSecurityOpts({ spec, flags, ctx, out }: Step): void {
  let seccomp: "default" | "unconfined" | DockerSeccompProfile = "default";
  let systemPaths = true;
  for (const opt of flags.securityOpt ?? []) {
    // docker's older KEY:VALUE form too (seccomp:unconfined)
    const colon = opt.indexOf(":");
    const [key, value] = splitKeyValue(opt) ?? (colon < 0 ? [opt, ""] : [opt.slice(0, colon), opt.slice(colon + 1)]);
    if (key === "no-new-privileges") {
      if (!["", "true", "false"].includes(value)) throw new BerthError(`invalid ${JSON.stringify(opt)}; use no-new-privileges or no-new-privileges=true|false`, { field: "--security-opt" });
      spec.process!.noNewPrivileges = value !== "false";
    } else if (key === "seccomp") {
      if (value === "unconfined") seccomp = "unconfined";
      else if (value === "" ) throw new BerthError(`invalid ${JSON.stringify(opt)}; use seccomp=unconfined or seccomp=/path/to/profile.json`, { field: "--security-opt" });
      else {
        const text = ctx.readFile(value, "--security-opt seccomp");
        try {
          seccomp = JSON.parse(text) as DockerSeccompProfile;
        } catch (err) {
          throw new BerthError(`${value} is not valid JSON: ${(err as Error).message}`, { field: "--security-opt seccomp" });
        }
      }
    } else if (key === "systempaths") {
      if (value !== "unconfined") throw new BerthError(`invalid ${JSON.stringify(opt)}; use systempaths=unconfined`, { field: "--security-opt" });
      systemPaths = false;
    } else if (key === "apparmor" || key === "label") {
      out.warnings.push(`--security-opt ${opt}: accepted and not applied (no ${key === "apparmor" ? "AppArmor" : "SELinux"} support in berth)`);
    } else {
      throw new BerthError(`invalid option ${JSON.stringify(opt)}; use seccomp=FILE|unconfined, no-new-privileges, systempaths=unconfined, apparmor=… or label=…`, { field: "--security-opt" });
    }
  }
  const linux = spec.linux!;
  if (!systemPaths || flags.privileged) {
    delete linux.maskedPaths;
    delete linux.readonlyPaths;
  }
  if (flags.privileged || seccomp === "unconfined") return;
  const profile = seccomp === "default" ? DOCKER_DEFAULT_SECCOMP : seccomp;
  linux.seccomp = dockerSeccomp(profile, { arch: ctx.host.arch, bounding: spec.process!.capabilities!.bounding!, kernel: ctx.host.kernel });
}

function withMounts({ spec, flags, image, ctx, out }: Step): void {
  const requests: MountRequest[] = [
    ...(flags.volume ?? []).map((v) => parseVolumeFlag(v, ctx.newVolumeName)),
    ...(flags.mount ?? []).map((m) => parseMountFlag(m, ctx.newVolumeName)),
    ...(flags.tmpfs ?? []).map(parseTmpfsFlag),
  ];
  requests.push(...imageVolumes(image, new Set(requests.map((r) => r.target)), ctx.newVolumeName));
  const user = requestedMounts(requests, ctx.volumePath);
  const targets = new Set(user.map((m) => m.destination));
  const ipcNone = flags.ipc === "none";
  const userDev = targets.has("/dev");
  const etc: Mount[] = [
    { destination: "/etc/resolv.conf", type: "bind", source: ctx.etcFiles.resolvConf, options: ["rbind", "rprivate"] },
    { destination: "/etc/hostname", type: "bind", source: ctx.etcFiles.hostname, options: ["rbind", "rprivate"] },
    { destination: "/etc/hosts", type: "bind", source: ctx.etcFiles.hosts, options: ["rbind", "rprivate"] },
  ];
  const shm = flags.shmSize !== undefined ? parseSize(flags.shmSize, "--shm-size", { allowUnlimited: false }) : DEFAULT_SHM_SIZE;
  if (flags.shmSize !== undefined && shm <= 0) throw new BerthError(`invalid size ${JSON.stringify(flags.shmSize)}; use a size above 0, e.g. 64m`, { field: "--shm-size" });
  const defaults = [...dockerMounts(shm), ...etc].filter((m) =>
    !targets.has(m.destination) && !(userDev && m.destination.startsWith("/dev/")) && !(ipcNone && m.destination === "/dev/shm"));
  const readonlyRoot = flags.readOnly === true;
  if (readonlyRoot) {
    for (const m of defaults) {
      if (["/proc", "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev"].includes(m.destination)) continue;
      if (!m.options!.includes("ro")) m.options!.push("ro");
    }
  }
  if (flags.privileged) {
    for (const m of defaults) if (m.destination === "/sys" || m.type === "cgroup") m.options = m.options!.filter((o) => o !== "ro");
  }
  spec.root = { path: ctx.rootfs, ...(readonlyRoot && { readonly: true }) };
  // --init's bind was added by withProcess; it goes after the user's mounts as in docker
  const init = spec.mounts!.filter((m) => m.destination === "/sbin/docker-init");
  spec.mounts = [...defaults, ...user, ...init];
  for (const r of requests) {
    if (r.type === "volume" && !out.volumes.some((v) => v.name === r.name)) {
      out.volumes.push({ name: r.name, anonymous: r.anonymous, target: r.target, copy: r.copy, ...(r.options && { options: r.options }), ...(r.labels && { labels: r.labels }) });
    }
    if (r.type === "bind" && r.createSource) out.bindSources.push(r.source);
  }
}

/**
 * The image's VOLUME paths that no -v, --mount or --tmpfs covers: an anonymous volume
 * each, seeded from the image, as moby's createContainerOSSpecificSettings makes them.
 * A path that is not absolute, or is /, cannot be a mount point and is passed over.
 */
function imageVolumes(image: ImageProcessConfig, covered: Set<string>, newVolumeName: () => string): MountRequest[] {
  const out: MountRequest[] = [];
  for (const path of Object.keys(image.Volumes ?? {})) {
    if (!path.startsWith("/")) continue;
    const target = resolvePath(path).replace(/\/+$/, "");
    if (target === "" || covered.has(target)) continue;
    covered.add(target);
    out.push({ type: "volume", name: newVolumeName(), target, readonly: false, anonymous: true, copy: true, flag: "VOLUME" });
  }
  return out;
}

const NS_FLAGS: [keyof RunFlags, NamespaceType, string][] = [["pid", "pid", "--pid"], ["ipc", "ipc", "--ipc"], ["uts", "uts", "--uts"]];

function withNamespaces({ spec, flags, ctx }: Step): void {
  const ns: Namespace[] = [{ type: "mount" }];
  const network = flags.network ?? (ctx.netnsPath ? "bridge" : "none");
  if (network === "none" || network === "private") ns.push({ type: "network" });
  else if (network.startsWith("container:")) ns.push({ type: "network", path: `/proc/${ctx.containerPid(network.slice(10), "--network")}/ns/net` });
  else if (network.startsWith("ns:")) ns.push({ type: "network", path: network.slice(3) });
  else if (network !== "host") {
    if (!ctx.netnsPath) throw new BerthError(`network ${JSON.stringify(network)} is not supported here; use none or host`, { field: "--network" });
    ns.push({ type: "network", path: ctx.netnsPath });
  }
  for (const [key, type, flag] of NS_FLAGS) {
    const mode = (flags[key] as string | undefined) ?? "";
    if (mode === "host") continue;
    if (mode.startsWith("container:")) ns.push({ type, path: `/proc/${ctx.containerPid(mode.slice(10), flag)}/ns/${type}` });
    else if (mode === "" || mode === "private" || mode === "shareable" || (type === "ipc" && mode === "none")) ns.push({ type });
    else throw new BerthError(`invalid mode ${JSON.stringify(mode)}; use host or container:NAME|ID${type === "ipc" ? ", private, shareable or none" : ""}`, { field: flag });
  }
  if (flags.uts === "host" && flags.hostname !== undefined) throw new BerthError("conflicts with --uts host: the host's hostname cannot be changed; drop one of them", { field: "--hostname" });
  if (flags.uts === "host" || network === "host") delete spec.hostname;
  const cgroupns = flags.cgroupns ?? (ctx.host.cgroupV2 ? "private" : "host");
  if (cgroupns === "private") ns.push({ type: "cgroup" });
  else if (cgroupns !== "host") throw new BerthError(`invalid mode ${JSON.stringify(cgroupns)}; use host or private`, { field: "--cgroupns" });
  if (flags.userns !== undefined && flags.userns !== "" && flags.userns !== "host") {
    throw new BerthError(`user namespace mode ${JSON.stringify(flags.userns)} is not supported; use host`, { field: "--userns" });
  }
  spec.linux!.namespaces = ns;
  // moby: a private network namespace lets non-root bind low ports and ping
  if (network !== "host" && !network.startsWith("container:")) {
    spec.linux!.sysctl = { "net.ipv4.ip_unprivileged_port_start": "0", "net.ipv4.ping_group_range": "0 2147483647" };
  }
  const sysctls = parseKeyValues(flags.sysctl, "--sysctl");
  for (const [k, v] of sysctls) {
    const isNet = k.startsWith("net.");
    const isIpc = k.startsWith("kernel.msg") || k.startsWith("kernel.sem") || k.startsWith("kernel.shm") || k.startsWith("fs.mqueue.");
    if (!isNet && !isIpc && k !== "kernel.domainname" && k !== "kernel.hostname") throw new BerthError(`sysctl ${JSON.stringify(k)} is not namespaced and cannot be set for a container; use net.*, kernel.msg*/sem*/shm* or fs.mqueue.*`, { field: "--sysctl" });
    if (isNet && network === "host") throw new BerthError(`${k} cannot be set with --network host: it would change the host's`, { field: "--sysctl" });
    (spec.linux!.sysctl ??= {})[k] = v;
  }
  spec.linux!.cgroupsPath = `${flags.cgroupParent ? flags.cgroupParent.replace(/\/+$/, "") : "/berth"}/${ctx.id}`;
  if (flags.cgroupParent !== undefined && !flags.cgroupParent.startsWith("/")) spec.linux!.cgroupsPath = `/${spec.linux!.cgroupsPath}`;
}

/** docker's resource flags → `berth cgroup`'s limit flags: one conversion into linux.resources for both. */
export function dockerLimitFlags(flags: RunFlags, host: HostFacts, warnings: string[]): LimitFlags {
  const l: LimitFlags = {};
  if (flags.cpus !== undefined) {
    const n = Number(flags.cpus);
    if (Number.isFinite(n) && (n > host.cpus || (n > 0 && n < 0.01))) {
      throw new BerthError(`range of CPUs is from 0.01 to ${host.cpus.toFixed(2)}, as there are only ${host.cpus} CPUs available`, { field: "--cpus" });
    }
    if (n === 0 && /^0(\.0*)?$/.test(flags.cpus.trim())) {
      // docker: 0 means no limit
    } else l.cpus = flags.cpus;
  }
  const copy: [keyof LimitFlags, keyof RunFlags][] = [
    ["cpuShares", "cpuShares"], ["cpuPeriod", "cpuPeriod"], ["cpuQuota", "cpuQuota"], ["cpusetCpus", "cpusetCpus"], ["cpusetMems", "cpusetMems"],
    ["memory", "memory"], ["memorySwap", "memorySwap"], ["memoryReservation", "memoryReservation"], ["memorySwappiness", "memorySwappiness"],
  ];
  for (const [to, from] of copy) if (flags[from] !== undefined) (l as Record<string, unknown>)[to] = flags[from];
  if (flags.cpuShares === "0") delete l.cpuShares;
  if (flags.memorySwappiness === "-1") delete l.memorySwappiness;
  // what this kernel cannot do, docker discards with its warning (moby's verifyPlatformContainerResources) rather than fail
  if (l.memorySwappiness !== undefined && host.cgroupV2) {
    delete l.memorySwappiness;
    warnings.push("Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.");
  }
  if (flags.oomKillDisable && host.cgroupV2) warnings.push("Your kernel does not support OomKillDisable. OomKillDisable discarded.");
  else if (flags.oomKillDisable) {
    l.oomKillDisable = true;
    if (flags.memory === undefined) warnings.push("OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.");
  }
  if (flags.kernelMemory !== undefined) warnings.push("--kernel-memory is ignored: the kernel no longer supports limiting kernel memory (as docker 20.10+)");
  if (flags.pidsLimit !== undefined) {
    const t = flags.pidsLimit.trim();
    if (t !== "0" && t !== "-1") l.pids = t;
  }
  if (flags.blkioWeight !== undefined && flags.blkioWeight !== "0") {
    if (host.blkioWeight === false) warnings.push("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.");
    else l.ioWeight = flags.blkioWeight;
  }
  const throttles: [keyof RunFlags, string, string][] = [["deviceReadBps", "rbps", "--device-read-bps"], ["deviceWriteBps", "wbps", "--device-write-bps"], ["deviceReadIops", "riops", "--device-read-iops"], ["deviceWriteIops", "wiops", "--device-write-iops"]];
  for (const [key, name, flag] of throttles) {
    for (const spec of (flags[key] as string[] | undefined) ?? []) {
      const colon = spec.lastIndexOf(":");
      if (colon <= 0 || !spec.startsWith("/")) throw new BerthError(`invalid ${JSON.stringify(spec)}; use DEVICE-PATH:RATE, e.g. /dev/sda:1mb`, { field: flag });
      (l.ioMax ??= []).push(`${spec.slice(0, colon)} ${name}=${spec.slice(colon + 1)}`);
    }
  }
  return l;
}

const MIN_MEMORY = 6 * 1024 * 1024;

function withResources({ spec, flags, ctx, out }: Step): void {
  const limitFlags = dockerLimitFlags(flags, ctx.host, out.warnings);
  let converted;
  try {
    converted = limitsToResources(limitFlags, ctx.blockDevice);
  } catch (err) {
    throw renameLimitFlag(err);
  }
  const r = converted.resources;
  if (r.memory?.limit !== undefined && r.memory.limit > 0 && r.memory.limit < MIN_MEMORY) {
    throw new BerthError(`minimum memory limit allowed is 6MB; give at least 6m`, { field: "--memory" });
  }
  // docker: with --memory and no --memory-swap, the container may swap as much again
  if (r.memory?.limit !== undefined && r.memory.limit > 0 && flags.memorySwap === undefined && ctx.host.swapLimit) r.memory.swap = r.memory.limit * 2;
  if (r.memory?.swap !== undefined && r.memory.swap > 0 && (r.memory.limit === undefined || r.memory.limit < 0)) {
    throw new BerthError("needs --memory: docker's --memory-swap is memory plus swap; set --memory too", { field: "--memory-swap" });
  }
  const devices = [...DOCKER_DEVICE_RULES];
  if (flags.privileged) devices.splice(0, devices.length, { allow: true, access: "rwm" });
  const linuxDevices: Device[] = [];
  for (const d of flags.device ?? []) {
    const req = parseDeviceFlag(d);
    const info = ctx.device(req.host, "--device");
    linuxDevices.push({ path: req.container, type: info.type, major: info.major, minor: info.minor, fileMode: info.mode & 0o7777, uid: info.uid, gid: info.gid });
    devices.push({ allow: true, type: info.type, major: info.major, minor: info.minor, access: req.access });
  }
  for (const rule of flags.deviceCgroupRule ?? []) devices.push(parseDeviceCgroupRule(rule));
  r.devices = devices;
  try {
    spec.linux!.resources = validateResources(r);
  } catch (err) {
    throw renameLimitFlag(errorForFlags(err, converted.flagOf));
  }
  if (linuxDevices.length) spec.linux!.devices = linuxDevices;
}

/** berth cgroup's flag names where docker's differ */
export function renameLimitFlag(err: unknown): unknown {
  if (!(err instanceof BerthError) || !err.field) return err;
  const docker: Record<string, string> = { "--pids": "--pids-limit", "--io-weight": "--blkio-weight", "--io-max": "--device-read-bps/--device-write-bps/--device-read-iops/--device-write-iops" };
  const name = docker[err.field];
  if (!name) return err;
  return new BerthError(err.message.slice(err.field.length + 2), { field: name, errno: err.errno, cause: err });
}

function withLabels({ flags, image, ctx, out }: Step): void {
  const labels: Record<string, string> = { ...(image.Labels ?? {}) };
  for (const file of flags.labelFile ?? []) {
    Object.assign(labels, parseLabels(parseEnvFile(ctx.readFile(file, "--label-file"), {}, "--label-file", file), "--label-file"));
  }
  out.labels = { ...labels, ...parseLabels(flags.label ?? [], "--label") };
  out.stopSignal = flags.stopSignal ?? image.StopSignal ?? "SIGTERM";
}

/**
 * The image's config with the types docker's Go decoding gives it, or one line naming the
 * field: the config is the image author's JSON, and a wrong type reached the steps as a
 * TypeError ("internal error") or worse — a string Cmd spread into its letters. As
 * docker's strslice, a string Cmd or Entrypoint is one argument.
 */
function checkedImageConfig(image: ImageProcessConfig): ImageProcessConfig {
  const raw = image as Record<string, unknown>;
  const out: ImageProcessConfig = { ...image };
  const refuse = (key: string, what: string) => new BerthError(`is not ${what}; the image's config is broken: rebuild the image, or give this setting as a flag`, { field: `image config ${key}` });
  const isStrings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");
  for (const key of ["Entrypoint", "Cmd"] as const) {
    const v = raw[key];
    if (typeof v === "string") out[key] = [v];
    else if (v != null && !isStrings(v)) throw refuse(key, "a list of strings");
  }
  if (raw.Env != null && !isStrings(raw.Env)) throw refuse("Env", "a list of strings");
  for (const key of ["User", "WorkingDir", "StopSignal"]) if (raw[key] != null && typeof raw[key] !== "string") throw refuse(key, "a string");
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (raw.Labels != null && !(isObject(raw.Labels) && Object.values(raw.Labels).every((v) => typeof v === "string"))) throw refuse("Labels", "an object of strings");
  if (raw.Volumes != null && !isObject(raw.Volumes)) throw refuse("Volumes", "an object");
  return out;
}

const STEPS = [withIdentity, withProcess, withCapabilities, withSecurityOpts, withMounts, withNamespaces, withResources, withLabels];

/**
 * The OCI spec for a container from `image`'s config and the `run` flags.
 *
 * @example buildSpec({ Cmd: ["sh"] }, { memory: "0.5g", cpus: "0.5" }, ctx).spec.linux.resources
 * // → { cpu: { quota: 50000, period: 100000 }, memory: { limit: 536870912, swap: 1073741824 }, devices: […] }
 */
export function buildSpec(image: ImageProcessConfig, flags: RunFlags & { args?: string[] }, ctx: BundleContext): BundleResult {
  if (flags.platform !== undefined && flags.platform !== `linux/${ctx.host.arch}` && flags.platform !== "linux") {
    throw new BerthError(`platform ${JSON.stringify(flags.platform)} cannot run here; this host runs linux/${ctx.host.arch}`, { field: "--platform" });
  }
  const spec: Spec = {
    ociVersion: "1.0.2-dev",
    process: { user: { uid: 0, gid: 0 }, args: [], cwd: "/" },
    root: { path: ctx.rootfs },
    mounts: [],
    linux: { maskedPaths: [...DOCKER_MASKED_PATHS], readonlyPaths: [...DOCKER_READONLY_PATHS] },
  };
  const out: BundleResult = { spec, warnings: [], volumes: [], bindSources: [], labels: {}, stopSignal: "SIGTERM" };
  const checked = checkedImageConfig(image);
  for (const step of STEPS) step({ spec, flags, image: checked, ctx, out });
  return out;
}
