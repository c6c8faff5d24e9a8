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
import { HelperSession } from "../sys/init-helper.ts";
import { pathExists, readText, writeText } from "../sys/libc.ts";
import { resolvePath } from "./host-path.ts";
import { detectHostCgroups } from "../cgroups/layout.ts";
import { activeLsms, agentState, canCloneIntoCgroup, homeOf, lastCap, loadBundle } from "./create.ts";
import { subCgroupDirs, type SubCgroups } from "./exec-cgroup.ts";
import { describeFailure } from "./init-error.ts";
import { containerDir, notExist, readState, statusOf, writePidFile, type Target } from "./state.ts";

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
}

export interface Execed {
  pid: number;
  /** the helper's first process: without --detach it exits with the process's status */
  helper: Bun.Subprocess;
}

/** The container's saved state and config.json, read once per exec: its checks, defaults and namespaces. */
function execTarget(t: Target, ignorePaused = false): { spec: Spec; rootfs: string; pid: number; cgroupDirs: string[]; state: NonNullable<ReturnType<typeof readState>> } {
  if (!pathExists(containerDir(t.root, t.id))) throw notExist(t.id);
  const s = readState(t.root, t.id);
  if (!s) throw notExist(t.id);
  const status = statusOf(t.root, s);
  if (status === "stopped") throw new BerthError("cannot exec in a stopped container");
  if (status === "paused" && !ignorePaused) throw new BerthError("cannot exec in a paused container (use --ignore-paused to override)");
  const { spec, rootfs } = loadBundle(s.bundle);
  return { spec, rootfs, pid: s.pid, cgroupDirs: s.cgroupDirs ?? [], state: s };
}

/**
 * The container's cgroup directories that exist, v1 hierarchies apart from the cgroup2
 * one (only cgroup2 directories have cgroup.controllers).
 */
function cgroupDirsOf(dirs: string[]): { v1: string[]; v2?: string } {
  const out: { v1: string[]; v2?: string } = { v1: [] };
  for (const d of dirs) {
    if (pathExists(`${d}/cgroup.controllers`)) out.v2 = d;
    else if (pathExists(d)) out.v1.push(d);
  }
  return out;
}

/** The --cgroup sub-cgroups' directories, each of which must exist (runc does not make them either). */
function subCgroupDirsOf(containerDirs: string[], sub: SubCgroups): string[] {
  const { layout } = detectHostCgroups();
  const dirs = containerDirs.filter((d) => pathExists(d)).map((dir) => {
    if (pathExists(`${dir}/cgroup.controllers`)) return { dir, controllers: null };
    const h = layout.v1.find((x) => dir.startsWith(`${x.mountPoint}/`));
    return { dir, controllers: h?.controllers ?? [] };
  });
  const out = subCgroupDirs(dirs, sub, layout.mode);
  for (const d of out) {
    if (!pathExists(d)) throw new BerthError(`sub-cgroup ${d} does not exist; create it first (mkdir ${d})`, { field: "--cgroup" });
  }
  return out;
}

/** Put the helper into the cgroup directories it cannot join itself (plan.runtimeJoins). */
function joinCgroup(dirs: string[], pid: number): void {
  for (const dir of dirs) {
    try {
      writeText(`${dir}/cgroup.procs`, String(pid));
    } catch (err) {
      throw new BerthError(`cannot join the container's cgroup ${dir}: ${(err as Error).message}`, { field: "linux.cgroupsPath" });
    }
  }
}

export async function execProcess(t: Target, opts: ExecOptions): Promise<Execed> {
  const c = execTarget(t, opts.ignorePaused);
  const proc = typeof opts.process === "function" ? opts.process(c.spec) : opts.process;
  validateProcess(proc);
  const linux = c.spec.linux ?? {};
  const seccomp = linux.seccomp ? (await import("../security/seccomp.ts")).compileSeccompCached(linux.seccomp, `${t.root}/.seccomp-cache`) : undefined;
  const plan = compileExecPlan(proc, {
    initPid: c.pid, linux, detach: !!opts.detach, preserveFds: opts.preserveFds, consoleSocket: opts.consoleSocket && resolvePath(opts.consoleSocket),
    lastCap: lastCap(), home: homeOf(c.rootfs, proc.user.uid), lsm: activeLsms(), seccomp,
    cgroup: cgroupDirsOf(opts.subCgroups ? subCgroupDirsOf(c.cgroupDirs, opts.subCgroups) : c.cgroupDirs), cloneIntoCgroup: canCloneIntoCgroup(),
  });
  for (const w of plan.warnings) opts.warn?.(w);
  const helper = new HelperSession(encodePlan(plan), {
    preserveFds: opts.preserveFds,
    beforePlan: (pid) => joinCgroup(plan.runtimeJoins, pid),
  });
  let pid = 0;
  try {
    for (;;) {
      const r = helper.next();
      if (r.kind === "pid") pid = r.pid;
      else if (r.kind === "seccomp") helper.sendLengthPrefixed(agentState(c.state, pid, plan.seccompAgent!));
      else if (r.kind === "ready") break;
      else if (r.kind === "error") throw describeFailure(plan.ops, r);
      else throw new BerthError("the exec'd process exited before it was ready; see the runtime's stderr");
    }
  } catch (err) {
    helper.close();
    helper.proc.kill("SIGKILL");
    if (pid > 0) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    throw err;
  }
  helper.close();
  if (opts.pidFile) writePidFile(resolvePath(opts.pidFile), pid);
  return { pid, helper: helper.proc };
}

/** --process FILE: a runtime-spec Process object (what containerd and conmon send). */
export function readProcessFile(path: string): Process {
  let raw: unknown;
  try {
    raw = JSON.parse(readText(path));
  } catch (err) {
    throw new BerthError(`${path}: ${(err as Error).message}`, { field: "--process" });
  }
  return raw as Process;
}
