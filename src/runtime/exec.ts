/**
 * `exec`: run another process in a running container. It joins every namespace the
 * container has through its init's /proc/PID/ns files and its cgroup, and gets the
 * container's seccomp filter and the process's own capabilities — never the runtime's.
 * Errors read like create's: the failing step is mapped back to the process field.
 */
import { BerthError, type Warning } from "../errors.ts";
import { compileExecPlan } from "../plan/exec-plan.ts";
import { encodePlan } from "../plan/encode.ts";
import type { Process, Spec } from "../spec/runtime-spec.ts";
import { validateProcess } from "../spec/validate-config.ts";
import { activeLsms, lastCap } from "../sys/host-facts.ts";
import { HelperSession } from "../sys/init-helper.ts";
import { pathExists, readText } from "../sys/libc.ts";
import { resolvePath } from "./host-path.ts";
import { writeCgroupFile } from "../cgroups/fs.ts";
import { detectHostCgroups } from "../cgroups/layout.ts";
import { agentState, canCloneIntoCgroup, homeOf, loadBundle, requireOwnTerminal } from "./create.ts";
import { subCgroupDirs, type SubCgroups } from "./exec-cgroup.ts";
import { driveToReady, killStarted } from "./helper-driver.ts";
import { containerDir, notExist, readSavedSpec, readState, statusOf, writePidFile, type Target } from "./state.ts";

export interface ExecOptions {
  /** the process to run, or how to make it from the container's config.json (runc's inline flags) */
  process: Process | ((spec: Spec) => Process);
  detach?: boolean;
  pidFile?: string;
  preserveFds?: number;
  consoleSocket?: string;
  ignorePaused?: boolean;
  /** runc's --cgroup: a sub-cgroup of the container's to run in (exec-cgroup.ts) */
  subCgroups?: SubCgroups;
  warn?: (w: Warning) => void;
  /** called at each phase boundary (`--debug` prints them with their times) */
  trace?: (phase: string) => void;
}

export interface Execed {
  pid: number;
  /** the helper's first process, without --detach only: it exits with the process's status */
  helper?: Bun.Subprocess;
}

/** The container's saved state and config.json, read once per exec: its checks, defaults and namespaces. */
function execTarget(t: Target, ignorePaused = false): { spec: Spec; rootfs: string; pid: number; cgroupDirs: string[]; state: NonNullable<ReturnType<typeof readState>> } {
  if (!pathExists(containerDir(t.root, t.id))) throw notExist(t.id);
  const s = readState(t.root, t.id);
  if (!s) throw notExist(t.id);
  const status = statusOf(t.root, s);
  if (status === "stopped") throw new BerthError("cannot exec in a stopped container");
  if (status === "paused" && !ignorePaused) throw new BerthError("cannot exec in a paused container (use --ignore-paused to override)");
  // the copy create kept: an edited bundle must not change the container (state.ts)
  const saved = readSavedSpec(t.root, t.id);
  const { spec, rootfs } = saved ? { spec: saved, rootfs: s.rootfs } : loadBundle(s.bundle);
  return { spec, rootfs, pid: s.pid, cgroupDirs: s.cgroupDirs ?? [], state: s };
}

/**
 * The cgroup directories the process joins, v1 hierarchies apart from the cgroup2 one
 * (only cgroup2 directories have cgroup.controllers): the container's that exist, or
 * with --cgroup their sub-cgroups, each of which must exist (runc makes none either).
 */
function execCgroupDirs(containerDirs: string[], sub: SubCgroups | undefined): { v1: string[]; v2?: string } {
  let dirs = containerDirs.filter((d) => pathExists(d)).map((dir) => ({ dir, v2: pathExists(`${dir}/cgroup.controllers`) }));
  if (sub) {
    const { layout } = detectHostCgroups();
    const controllersOf = (dir: string) => layout.v1.find((x) => dir.startsWith(`${x.mountPoint}/`))?.controllers ?? [];
    const subDirs = subCgroupDirs(dirs.map((d) => ({ dir: d.dir, controllers: d.v2 ? null : controllersOf(d.dir) })), sub, layout.mode);
    for (const d of subDirs) {
      if (!pathExists(d)) throw new BerthError(`sub-cgroup ${d} does not exist; create it first (mkdir ${d})`, { field: "--cgroup" });
    }
    dirs = dirs.map((d, i) => ({ dir: subDirs[i]!, v2: d.v2 }));
  }
  const v2 = dirs.find((d) => d.v2)?.dir;
  return { v1: dirs.filter((d) => !d.v2).map((d) => d.dir), ...(v2 && { v2 }) };
}

export async function execProcess(t: Target, opts: ExecOptions): Promise<Execed> {
  const trace = opts.trace ?? (() => {});
  const c = execTarget(t, opts.ignorePaused);
  trace(`state and config.json read: init pid ${c.pid}`);
  const proc = typeof opts.process === "function" ? opts.process(c.spec) : opts.process;
  validateProcess(proc);
  if (!opts.detach) requireOwnTerminal(proc, opts.consoleSocket, "exec");
  const linux = c.spec.linux ?? {};
  const seccomp = linux.seccomp ? (await import("../security/seccomp.ts")).compileSeccompCached(linux.seccomp, `${t.root}/.seccomp-cache`) : undefined;
  if (seccomp) trace(`seccomp program ready: ${seccomp.program.length / 8} instructions`);
  const plan = compileExecPlan(proc, {
    initPid: c.pid, linux, detach: !!opts.detach, preserveFds: opts.preserveFds, consoleSocket: opts.consoleSocket && resolvePath(opts.consoleSocket),
    lastCap: lastCap(), home: homeOf(c.rootfs, proc.user.uid), lsm: activeLsms(), seccomp,
    cgroup: execCgroupDirs(c.cgroupDirs, opts.subCgroups), cloneIntoCgroup: canCloneIntoCgroup(),
  });
  for (const w of plan.warnings) opts.warn?.(w);
  trace(`plan compiled: ${plan.ops.length} steps`);
  const helper = new HelperSession(encodePlan(plan), {
    preserveFds: opts.preserveFds,
    wait: !opts.detach,
    // where the helper cannot join the cgroup itself (plan/cgroup-join.ts), as create does
    beforePlan: (pid) => {
      trace("helper started");
      for (const dir of plan.runtimeJoins) writeCgroupFile(dir, "cgroup.procs", String(pid), "linux.cgroupsPath");
    },
  });
  let pid = 0;
  driveToReady(helper, plan.ops, {
    pid: (p) => {
      pid = p;
      trace(`process forked: pid ${pid}`);
    },
    seccomp: () => agentState(c.state, pid, plan.seccompAgent!),
  }, { exitedEarly: "the exec'd process exited before it was ready; see the runtime's stderr" });
  trace("process ready");
  helper.close();
  try {
    // runc stops the process when its pid cannot be recorded: the caller would lose track of it
    if (opts.pidFile) writePidFile(resolvePath(opts.pidFile), pid);
  } catch (err) {
    killStarted(helper, pid);
    throw err;
  }
  return { pid, helper: helper.subprocess };
}

/** --process FILE: a runtime-spec Process object (what containerd and conmon send). */
export function readProcessFile(path: string): Process {
  let raw: unknown;
  try {
    raw = JSON.parse(readText(path));
  } catch (err) {
    throw new BerthError(`${path}: ${(err as Error).message}`, { field: "--process" });
  }
  // runc reads a missing user as uid 0, gid 0 (Go's zero value); callers rely on it
  if (raw !== null && typeof raw === "object" && !Array.isArray(raw) && (raw as Partial<Process>).user === undefined) {
    (raw as Partial<Process>).user = { uid: 0, gid: 0 };
  }
  return raw as Process;
}
