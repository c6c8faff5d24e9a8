/**
 * `exec`: a new process in a running container — join each of its namespaces through
 * the init's /proc/PID/ns files (user first, mount last), fork into its pid namespace,
 * then become the process the spec describes, with the container's seccomp filter and
 * the process's own capabilities (never the runtime's). Pure, like compile.ts.
 */
import { BerthError, type Warning } from "../errors.ts";
import type { Linux, Process } from "../spec/runtime-spec.ts";
import { JOIN_ORDER, NS_FILE, NS_FLAG } from "./namespaces.ts";
import { CONSOLE_TO_PARENT } from "./ops.ts";
import type { CompiledPlan } from "./compile.ts";
import { PlanBuilder, processOps } from "./process-ops.ts";
import { addCgroupJoinSteps, cgroupJoin, cloneIntoHint } from "./cgroup-join.ts";


export interface ExecContext {
  /** the container's init: its namespaces are the ones joined */
  initPid: number;
  /** the container's linux section (namespaces, personality, seccomp source) */
  linux: Linux;
  /** exec --detach: the helper does not stay to pass the exit status on */
  detach: boolean;
  preserveFds?: number;
  /** --console-socket: where the pty's master goes for a terminal process */
  consoleSocket?: string;
  lastCap?: number;
  home?: string;
  lsm: { apparmor: boolean; selinux: boolean };
  seccomp?: { program: Uint8Array; flags: number; notify: boolean };
  /** the container's cgroup directories: v1 hierarchies and the cgroup2 one */
  cgroup?: { v1: string[]; v2?: string };
  /** the kernel has clone3's CLONE_INTO_CGROUP (Linux 5.7) */
  cloneIntoCgroup?: boolean;
}

export type ExecPlan = Pick<CompiledPlan, "ops" | "warnings" | "seccompAgent" | "runtimeJoins">;

export function compileExecPlan(process: Process, ctx: ExecContext): ExecPlan {
  const warnings: Warning[] = [];
  const b = new PlanBuilder();
  if (process.terminal && ctx.detach && !ctx.consoleSocket) {
    throw new BerthError("cannot allocate a terminal for a detached process; pass --console-socket, or leave out -t", { field: "process.terminal" });
  }
  if (!process.terminal && ctx.consoleSocket) {
    throw new BerthError("--console-socket needs a terminal (-t or terminal: true)", { field: "--console-socket" });
  }
  const types = new Set((ctx.linux.namespaces ?? []).map((n) => n.type));
  // Joining the container's cgroup namespace before the fork rules out a fork into the
  // cgroup (cgroup-join.ts), and after the mount and pid joins the init's /proc path no
  // longer names it: such a container's cgroup2 directory is joined by the runtime.
  const join = cgroupJoin(ctx.cgroup ?? { v1: [] }, { cloneIntoCgroup: ctx.cloneIntoCgroup, userns: types.has("user"), joinsCgroupNs: types.has("cgroup") });
  const cgroupSlot = addCgroupJoinSteps(b, join);
  let seccompAgent: ExecPlan["seccompAgent"];
  if (ctx.seccomp?.notify) {
    const path = ctx.linux.seccomp?.listenerPath;
    if (!path) throw new BerthError("SCMP_ACT_NOTIFY needs listenerPath, the seccomp agent's socket", { field: "linux.seccomp.listenerPath" });
    seccompAgent = { listenerPath: path, metadata: ctx.linux.seccomp?.listenerMetadata };
    b.add("CONNECT_UNIX", [0, path], "linux.seccomp.listenerPath", `connect to the seccomp agent at ${path}`);
  }
  // before the joins: the socket's path is the host's, not the container's
  if (process.terminal && ctx.consoleSocket) b.add("CONNECT_UNIX", [1, ctx.consoleSocket], "--console-socket", `connect to the console socket ${ctx.consoleSocket}`);
  for (const t of JOIN_ORDER) {
    if (!types.has(t)) continue;
    b.add("SETNS", [`/proc/${ctx.initPid}/ns/${NS_FILE[t]}`, NS_FLAG[t]], `linux.namespaces`, `join the container's ${t} namespace`);
  }
  // No mount namespace of its own: the container's root is a chroot of its init's, which
  // no setns gives; /proc/PID/root leads there (compile.ts's CHROOT)
  if (!types.has("mount")) b.add("CHROOT", [`/proc/${ctx.initPid}/root`], "root.path", "chroot to the container's root");
  const proxy = process.terminal && !ctx.consoleSocket;
  const fork = b.add("FORK", [ctx.detach ? 0 : 1, proxy ? 1 : 0, cgroupSlot], "process", "fork into the container's pid namespace");
  if (join.cloneInto) fork.hint = cloneIntoHint(join.cloneInto);
  if (process.terminal) {
    // its own session, so the pty can be its controlling terminal
    b.add("SETSID", [], "process.terminal", "start a new session");
    const size = process.consoleSize;
    b.add("CONSOLE", ["", proxy ? CONSOLE_TO_PARENT : 1, size?.height ?? 0, size?.width ?? 0], "process.terminal", "allocate the terminal");
  }
  processOps(b, process, ctx.linux, {
    lastCap: ctx.lastCap, home: ctx.home, lsm: ctx.lsm, seccomp: ctx.seccomp, agentSlot: 0,
    joinedUserns: types.has("user"), preserveFds: ctx.preserveFds, waitStart: false, warnings,
    terminal: process.terminal,
  });
  return { ops: b.ops, warnings: [...warnings, ...b.warnings], seccompAgent, runtimeJoins: join.runtime };
}
