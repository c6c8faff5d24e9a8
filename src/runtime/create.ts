/**
 * `create`: config.json → a container init that sits in its namespaces and cgroup,
 * blocked on exec.fifo until `start`. Returns only then; the helper's first process has
 * exited, so the init's parent is the caller's subreaper (conmon, the containerd shim),
 * never a berth process.
 *
 * Anything that fails after the id is claimed is undone before the error is thrown: the
 * init is killed, the cgroup removed, the state directory deleted. Mounts live only in
 * the container's mount namespace and go with it — or, without one of its own, are
 * unmounted again (host-mounts.ts).
 */
import { writeCgroupFile } from "../cgroups/fs.ts";
import { parseMountinfo } from "../cgroups/mountinfo.ts";
import { openCgroup } from "../cgroups/open-cgroup.ts";
import type { CgroupManager } from "../cgroups/manager.ts";
import { BerthError, errnoOf, type Warning } from "../errors.ts";
import type { LinuxResources } from "../spec/runtime-spec.ts";
import { compilePlan, type CgroupMountFacts, type CompiledPlan } from "../plan/compile.ts";
import { encodePlan } from "../plan/encode.ts";
import type { NamespaceType, Spec } from "../spec/runtime-spec.ts";
import { NS_FILE } from "../plan/namespaces.ts";
import { validateSpec } from "../spec/validate-config.ts";
import { activeLsms, hasKcore, kernelRelease, lastCap } from "../sys/host-facts.ts";
import { HelperSession } from "../sys/init-helper.ts";
import { readFileInRoot } from "../sys/layer-fs.ts";
import { chmodPath, errno, hasTerminal, mkfifo, readText, statPath, writeText } from "../sys/libc.ts";
import { describeErrno, errnoName } from "../sys/errno.ts";
import { resolvePath } from "./host-path.ts";
import type { HostMounts } from "./host-mounts.ts";
import { checkPseudoFsDestinations } from "./pseudo-fs-mounts.ts";
import { kernelAtLeast } from "../kernel-version.ts";
import { driveToReady, killStarted } from "./helper-driver.ts";
import {
  checkId, claimDir, fifoPath, lockDir, OCI_VERSION, ociState, pidNamespaceOf, removeDir, startTimeOf, writePidFile, writeSavedSpec, writeState, type SavedState,
} from "./state.ts";

type RunProgram = typeof import("../sys/program.ts").runProgram;

const ENOSPC = 28;
const EDQUOT = 122;

export interface CreateOptions {
  root: string;
  id: string;
  bundle?: string;
  pidFile?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
  systemdCgroup?: boolean;
  /** `run` in the foreground: the helper's first process waits for the init and exits with its status */
  foreground?: boolean;
  /** --console-socket: the pty's master is sent there when process.terminal is true */
  consoleSocket?: string;
  warn?: (w: Warning) => void;
  /** called at each phase boundary (`--debug` prints them with their times) */
  trace?: (phase: string) => void;
}

export interface Created {
  pid: number;
  state: SavedState;
  /** the helper's first process, in foreground mode only: its exit status is the container's */
  helper?: Bun.Subprocess;
}

/**
 * The largest config.json read: the biggest real ones (a seccomp profile, many mounts,
 * Kubernetes' 256 KiB of annotations) are far below it, and a 30 MB one only exhausted
 * memory somewhere later, with the wrong cause in its error.
 */
const MAX_CONFIG_BYTES = 4 * 2 ** 20;

/** Load and validate `<bundle>/config.json`. */
export function loadBundle(bundleArg: string | undefined): { bundle: string; spec: Spec; rootfs: string } {
  const bundle = resolvePath(bundleArg ?? ".");
  let text: string;
  try {
    const size = statPath(`${bundle}/config.json`).size;
    if (size > MAX_CONFIG_BYTES) {
      throw new BerthError(`${bundle}/config.json is ${(size / 2 ** 20).toFixed(1)} MiB; berth-runtime reads configs up to ${MAX_CONFIG_BYTES / 2 ** 20} MiB (real ones are kilobytes: look for what made it grow)`, { field: "config.json" });
    }
    text = readText(`${bundle}/config.json`);
  } catch (err) {
    if (err instanceof BerthError) throw err;
    const code = (err as { code?: string }).code;
    if (code === "ENOENT") throw new BerthError(`${bundle}/config.json: no such file or directory; point --bundle at a directory holding config.json`, { field: "bundle" });
    throw new BerthError(`${bundle}/config.json: ${(err as Error).message}`, { field: "bundle" });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BerthError(`${bundle}/config.json is not valid JSON: ${(err as Error).message}`, { field: "config.json" });
  }
  // process may be missing until `start` (runtime-spec runtime.md: start refuses then)
  const spec = validateSpec(raw);
  const rootfs = resolvePath(bundle, spec.root!.path);
  let st;
  try {
    st = statPath(rootfs);
  } catch {
    throw new BerthError(`${rootfs} does not exist; unpack the image's root filesystem there or fix the path`, { field: "root.path" });
  }
  if (!st.isDirectory) throw new BerthError(`${rootfs} is not a directory`, { field: "root.path" });
  return { bundle, spec, rootfs };
}

/** Far above any real /etc/passwd: a larger one is read as none. */
const MAX_PASSWD_BYTES = 16 * 2 ** 20;

/**
 * HOME for process.user.uid from the image's /etc/passwd, read as runc's init reads it
 * after pivot_root: symlinks resolved inside the rootfs (never out of it), and only a
 * regular file — a FIFO there would block the create forever.
 */
export function homeOf(rootfs: string, uid: number): string | undefined {
  let passwd: string | undefined;
  try {
    passwd = readFileInRoot(rootfs, "/etc/passwd", MAX_PASSWD_BYTES);
  } catch {
    // unreadable: HOME falls back to /, as with no passwd in the image
  }
  for (const line of (passwd ?? "").split("\n")) {
    const f = line.split(":");
    if (f.length >= 6 && Number(f[2]) === uid && f[2] !== "") return f[5] || undefined;
  }
  return undefined;
}

function cgroupFacts(cg: CgroupManager): CgroupMountFacts {
  const dirs = cg.dirs();
  return {
    mode: cg.layout.mode,
    v1: cg.layout.v1.map((h) => {
      const key = h.controllers.join(",");
      return { name: key, controllers: h.controllers, hostDir: dirs[key]! };
    }),
    unified: dirs.unified ? { hostDir: dirs.unified } : undefined,
  };
}

/** A process's pid in its innermost pid namespace (the last NSpid field), as the container sees it. */
function pidInContainer(pid: number): number {
  const line = readText(`/proc/${pid}/status`).split("\n").find((l) => l.startsWith("NSpid:"));
  const inner = Number(line?.trim().split(/\s+/).at(-1));
  return Number.isInteger(inner) && inner > 0 ? inner : pid;
}

/**
 * The linux.namespaces entries joined by a path that is the runtime's own namespace of
 * that type: the container would share it with the runtime (the host's, mostly).
 */
export function runtimeNamespaces(spec: Spec): NamespaceType[] {
  const own: NamespaceType[] = [];
  for (const n of spec.linux?.namespaces ?? []) {
    if (!n.path) continue;
    try {
      const theirs = statPath(n.path);
      const ours = statPath(`/proc/self/ns/${NS_FILE[n.type]}`);
      if (theirs.dev === ours.dev && theirs.ino === ours.ino) own.push(n.type);
    } catch {
      // a path that is not there fails at setns, naming the field
    }
  }
  return own;
}

/**
 * An init that died before `ready` without a word, in a cgroup whose OOM killer fired:
 * the memory limit was too small to create it (memory.limit 1 once read as "exited
 * before it was ready"). Any other error is passed on as it is.
 */
function blameMemoryLimit(err: unknown, cg: CgroupManager, resources: LinuxResources | undefined): unknown {
  const limit = resources?.memory?.limit;
  if (!(err instanceof BerthError) || err.field || limit === undefined || limit < 0) return err;
  let kills = 0;
  try {
    kills = cg.stats().memory?.oomKill ?? 0;
  } catch {
    return err;
  }
  if (kills === 0) return err;
  return new BerthError(`${limit} bytes is too little to start the container: its init was OOM-killed before it was ready; raise the limit (a shell needs a few MiB)`, { field: "linux.resources.memory.limit", cause: err });
}

/** Whether linux.resources asks for anything beyond the device rules every container gets. */
function hasLimits(r: LinuxResources | undefined): boolean {
  return Object.entries(r ?? {}).some(([k, v]) => k !== "devices" && v != null && !(typeof v === "object" && Object.keys(v).length === 0));
}

/** clone3's CLONE_INTO_CGROUP came in Linux 5.7 (plan/cgroup-join.ts says why it matters). */
export function canCloneIntoCgroup(): boolean {
  return kernelAtLeast(kernelRelease(), 5, 7);
}

/**
 * runtime-spec's container process state, sent to a seccomp agent with the listener fd
 * (config-linux.md, "seccomp"): status is still "creating".
 */
export function agentState(st: SavedState, pid: number, agent: NonNullable<CompiledPlan["seccompAgent"]>): string {
  return JSON.stringify({
    ociVersion: OCI_VERSION,
    fds: ["seccompFd"],
    pid,
    metadata: agent.metadata ?? "",
    state: { ociVersion: OCI_VERSION, id: st.id, status: "creating", pid, bundle: st.bundle, annotations: st.annotations ?? {} },
  });
}

function freezerFile(cg: CgroupManager): string | undefined {
  const dirs = cg.dirs();
  const v1 = Object.entries(dirs).find(([key]) => key.split(",").includes("freezer"));
  if (v1) return `${v1[1]}/freezer.state`;
  return cg.layout.mode === "v2" && dirs.unified ? `${dirs.unified}/cgroup.events` : undefined;
}

/**
 * A non-root caller may map only its own uid by itself; ranges from /etc/subuid and
 * /etc/subgid go through the setuid newuidmap/newgidmap (shadow's uidmap package).
 */
function writeIdMapsWithShadow(pid: number, userns: NonNullable<CompiledPlan["userns"]>, runProgram: RunProgram): void {
  for (const [tool, map, field] of [["newuidmap", userns.uidMap, "linux.uidMappings"], ["newgidmap", userns.gidMap, "linux.gidMappings"]] as const) {
    const args = map.trim().split(/\s+/).filter(Boolean);
    let p;
    try {
      p = runProgram([tool, String(pid), ...args], { stdout: "ignore" });
    } catch {
      throw new BerthError(`${tool} is not installed; a non-root user needs it to map ids (apt-get install uidmap) and a range in /etc/${tool === "newuidmap" ? "subuid" : "subgid"}`, { field });
    }
    if (p.code !== 0) {
      const why = p.stderr.trim().split("\n").pop() ?? "";
      throw new BerthError(`${tool} ${pid} ${args.join(" ")} failed: ${why}; the ranges must be yours in /etc/${tool === "newuidmap" ? "subuid" : "subgid"}`, { field });
    }
  }
}

function writeIdMaps(pid: number, userns: NonNullable<CompiledPlan["userns"]>, runProgram: RunProgram | undefined): void {
  if (runProgram) return writeIdMapsWithShadow(pid, userns, runProgram);
  try {
    writeText(`/proc/${pid}/uid_map`, userns.uidMap);
  } catch (err) {
    throw new BerthError(`writing /proc/${pid}/uid_map: ${(err as Error).message}`, { field: "linux.uidMappings" });
  }
  try {
    writeText(`/proc/${pid}/gid_map`, userns.gidMap);
  } catch (err) {
    throw new BerthError(`writing /proc/${pid}/gid_map: ${(err as Error).message}`, { field: "linux.gidMappings" });
  }
}

/**
 * runc's rule (initHostConsole): in the foreground a process.terminal's pty is proxied to
 * the runtime's own terminal; with none (stdio all files or pipes, no controlling tty)
 * the process would wait on a terminal nobody can type into, so fail before anything is
 * made.
 */
export function requireOwnTerminal(process: Spec["process"], consoleSocket: string | undefined, verb: "run" | "exec"): void {
  if (!process?.terminal || consoleSocket || hasTerminal()) return;
  throw new BerthError(`open /dev/tty: no such device or address: berth-runtime ${verb} proxies the container's terminal to its own, and it has none (stdin, stdout and stderr are not terminals); run it from a terminal, set process.terminal to false, or pass --console-socket`, { field: "process.terminal" });
}

export async function createContainer(opts: CreateOptions): Promise<Created> {
  const id = checkId(opts.id);
  const trace = opts.trace ?? (() => {});
  const { bundle, spec, rootfs } = loadBundle(opts.bundle);
  checkPseudoFsDestinations(spec, rootfs);
  trace("config.json loaded and validated");
  const linux = spec.linux ?? {};
  const cgroupsPath = linux.cgroupsPath ?? (opts.systemdCgroup ? `system.slice:berth:${id}` : `/berth/${id}`);
  if (opts.foreground) requireOwnTerminal(spec.process, opts.consoleSocket, "run");

  const dir = claimDir(opts.root, id);
  const lock = lockDir(dir);
  trace("id claimed and locked");
  let cg: CgroupManager | undefined;
  let helper: HelperSession | undefined;
  let initPid = 0;
  let others = 0;
  let hostMounts: HostMounts | undefined;
  let releaseHostMounts: ((m: HostMounts) => void) | undefined;
  try {
    if (mkfifo(fifoPath(opts.root, id), 0o622) !== 0) {
      const e = errno();
      // a full disk or inode table is not a filesystem that cannot hold FIFOs
      const why = e === ENOSPC || e === EDQUOT ? "free space or inodes on that filesystem (df -i), or point --root at another" : "--root must be a local filesystem that can hold FIFOs";
      throw new BerthError(`cannot make ${fifoPath(opts.root, id)}: ${describeErrno(e)}; ${why}`, { field: "--root", errno: errnoName(e) });
    }
    // past the umask: the init may open it for writing as the container's (non-root) user
    chmodPath(fifoPath(opts.root, id), 0o622);
    const opened = openCgroup(cgroupsPath, { systemd: opts.systemdCgroup, field: "linux.cgroupsPath" });
    // runc 1.1 shares a cgroup that already has processes, with a warning; so does berth,
    // and it never kills or removes what is not its own (on failure here, or at delete).
    others = opened.exists() ? opened.pids().length : 0;
    if (others > 0) {
      opts.warn?.({ field: "linux.cgroupsPath", message: `cgroup ${opened.path} already has ${others} process(es); the container shares it (its limits apply to all of them) and delete leaves the cgroup to them — give it a cgroupsPath of its own` });
    }
    // Recorded before the cgroup or any process exists, so `delete --force` can still
    // find and clean them if this create is itself killed half-way (pid 0 reads as "stopped").
    const early: SavedState = {
      ociVersion: OCI_VERSION, id, pid: 0, creating: true, bundle, rootfs, created: new Date().toISOString(),
      annotations: spec.annotations, owner: "", startTime: 0, cgroupsPath, systemdCgroup: !!opts.systemdCgroup,
      cgroupDirs: Object.values(opened.dirs()),
      // start and delete run these; the bundle's config.json may be gone or changed by then
      ...(!spec.process && { noProcess: true }),
      ...(others > 0 && { sharedCgroup: true }),
      hooks: spec.hooks?.poststart?.length || spec.hooks?.poststop?.length ? { poststart: spec.hooks.poststart, poststop: spec.hooks.poststop } : undefined,
    };
    writeState(opts.root, early);
    // Started now and handed its plan once that is compiled: the helper's exec and loading
    // run beside the cgroup's creation and the plan's compiling instead of after them.
    // The helper joins the cgroup itself (plan/cgroup-join.ts says how and why); the
    // runtime writes its pid only where it cannot (runtimeJoins, known with the plan).
    let runtimeJoins: string[] = [];
    helper = new HelperSession(undefined, {
      preserveFds: opts.preserveFds,
      wait: opts.foreground,
      beforePlan: (pid) => {
        trace("helper started");
        for (const dir of runtimeJoins) writeCgroupFile(dir, "cgroup.procs", String(pid));
        if (runtimeJoins.length) trace("helper in the cgroup2 directory");
      },
    });
    try {
      opened.create();
      cg = opened;
      trace("cgroup created");
      // The init would wait frozen forever, and `start` with it (runc: "container's cgroup unexpectedly frozen")
      if (cg.frozen()) {
        throw new BerthError(`cgroup ${opened.path} is frozen, so the container could never run; thaw it (berth-runtime resume, or write THAWED to freezer.state / 0 to cgroup.freeze) or use another cgroupsPath`, { field: "linux.cgroupsPath" });
      }
    } catch (err) {
      // runc's rootless rule: without delegation a non-root caller has no cgroup to make,
      // which is fine as long as the spec asks for no limits
      if (process.geteuid?.() === 0 || hasLimits(linux.resources) || !["EACCES", "EPERM", "EROFS"].includes(errnoOf(err) ?? (err as BerthError).errno ?? "")) throw err;
      opts.warn?.({ field: "linux.cgroupsPath", message: `cannot create ${opened.path} as uid ${process.geteuid?.()}; running without a cgroup of its own, as runc does for rootless containers without limits` });
    }
    // Compiled (or read from the cache under --root) before anything runs: a profile
    // libseccomp rejects fails the create with nothing started.
    const seccomp = linux.seccomp ? (await import("../security/seccomp.ts")).compileSeccompCached(linux.seccomp, `${opts.root}/.seccomp-cache`) : undefined;
    if (seccomp) trace(`seccomp program ready: ${seccomp.program.length / 8} instructions`);
    const plan = compilePlan(spec, {
      id, bundle, rootfs, stateDir: dir,
      noPivot: opts.noPivot, hostMounts: opts.noPivot ? parseMountinfo(readText("/proc/self/mountinfo")) : undefined, noNewKeyring: opts.noNewKeyring, preserveFds: opts.preserveFds, foreground: opts.foreground,
      rootless: process.geteuid?.() !== 0,
      consoleSocket: opts.consoleSocket && resolvePath(opts.consoleSocket),
      cgroup: cg && cgroupFacts(cg), cloneIntoCgroup: canCloneIntoCgroup(),
      lastCap: lastCap(), hasKcore: hasKcore(),
      home: spec.process && homeOf(rootfs, spec.process.user.uid),
      runtimeNamespaces: runtimeNamespaces(spec),
      lsm: activeLsms(), seccomp,
    });
    for (const w of plan.warnings) opts.warn?.(w);
    trace(`plan compiled: ${plan.ops.length} steps`);
    if (plan.mountsOnHost) {
      // before the first mount, so a failed create and `delete` (even after a killed create) take them away again
      const onHost = await import("./host-mounts.ts");
      releaseHostMounts = onHost.releaseHostMounts;
      hostMounts = early.hostMounts = onHost.recordHostMounts(rootfs);
      writeState(opts.root, early);
    }
    if (cg) {
      const applied = cg.apply(plan.resources);
      for (const w of applied.warnings) opts.warn?.(w);
      trace(`linux.resources applied: ${applied.writes.length} writes`);
    }

    // Loaded only for the plans that use them: each module a create imports costs it
    // loading at every start, and most containers have no hooks and map no ids as non-root
    const { runHooks } = plan.ops.some((o) => o.op === "HOOK_SYNC") ? await import("./hooks.ts") : { runHooks: undefined };
    const shadowMaps = plan.userns && process.geteuid?.() !== 0 ? (await import("../sys/program.ts")).runProgram : undefined;

    runtimeJoins = plan.runtimeJoins;
    helper.sendPlan(encodePlan(plan));
    driveToReady(helper, plan.ops, {
      pid: (pid) => {
        initPid = pid;
        // before the init can reach anything that blocks (exec.fifo): a create killed
        // from here on leaves a state that names it, so `state` and `delete` find it
        early.pid = initPid;
        early.startTime = startTimeOf(initPid);
        early.pidNamespace = pidNamespaceOf(initPid);
        writeState(opts.root, early);
        // Here, not before the cgroup: the init is setting itself up meanwhile (its mounts,
        // pivot_root), so the write's cost (a file created under --root: 0.3 ms on an idle
        // ext4, 1 ms under load) is off create's path. Nothing reads the copy before the
        // container is created (exec of a "creating" one has no init to join yet).
        writeSavedSpec(opts.root, id, spec);
        trace(`init forked: pid ${initPid}`);
      },
      seccomp: () => agentState(early, initPid, plan.seccompAgent!),
      hooks: () => {
        const now = { ...early, pid: initPid };
        // runtime.md, state.pid: hooks in the container's namespaces see the pid as the container does
        const inside = { ...now, pid: pidInContainer(initPid) };
        const creating = JSON.stringify(ociState(now, "creating"));
        runHooks!("prestart", spec.hooks?.prestart, { state: creating, cwd: bundle });
        runHooks!("createRuntime", spec.hooks?.createRuntime, { state: creating, cwd: bundle });
        runHooks!("createContainer", spec.hooks?.createContainer, { state: JSON.stringify(ociState(inside, "creating")), enter: { pid: initPid }, cwd: rootfs });
        trace("create-time hooks ran");
        // for the startContainer hooks, which run in the container
        return JSON.stringify(ociState(inside, "created"));
      },
      map: (pid) => writeIdMaps(pid, plan.userns!, shadowMaps),
    }, { exitedEarly: "container init exited before it was ready; see the runtime's stderr for its last words" });
    trace("init ready");
    helper.close();

    const state: SavedState = {
      ...early, creating: undefined, freezerFile: cg && freezerFile(cg), created: new Date().toISOString(),
      cgroupDirs: cg ? early.cgroupDirs : [],
    };
    writeState(opts.root, state);
    if (opts.pidFile) writePidFile(resolvePath(opts.pidFile), initPid);
    trace("state and pid file written");
    lock.release();
    return { pid: initPid, state, helper: helper.subprocess };
  } catch (caught) {
    const err = cg ? blameMemoryLimit(caught, cg, linux.resources) : caught;
    killStarted(helper, initPid);
    if (hostMounts) {
      try {
        releaseHostMounts!(hostMounts);
      } catch {
        // the create's own error says more; what is left shows in the host's mountinfo below the root
      }
    }
    if (cg && others === 0) {
      try {
        cg.kill("SIGKILL");
        cg.destroy({ timeoutMs: 3000 });
      } catch {
        try {
          cg.rollback();
        } catch {
          // reported below with the original error; nothing better to do
        }
      }
    }
    removeDir(opts.root, id);
    lock.release();
    throw err;
  }
}
