/**
 * `exec`: a new process in a running container — join each of its namespaces through
 * the init's /proc/PID/ns files (user first, mount last), fork into its pid namespace,
 * then become the process the spec describes, with the container's seccomp filter and
 * the process's own capabilities (never the runtime's). Pure, like compile.ts.
 */
import { BerthError, type Warning } from "../errors.ts";
import type { Linux, NamespaceType, Process } from "../spec/runtime-spec.ts";
import { CLONE } from "./ops.ts";
import type { CompiledPlan } from "./compile.ts";
import { PlanBuilder, processOps } from "./process-ops.ts";

/** /proc/PID/ns/<file> for each namespace type. */
const NS_FILE: Record<NamespaceType, string> = {
  user: "user", ipc: "ipc", uts: "uts", network: "net", pid: "pid", cgroup: "cgroup", time: "time", mount: "mnt",
};
const NS_FLAG: Record<NamespaceType, number> = {
  pid: CLONE.NEWPID, network: CLONE.NEWNET, mount: CLONE.NEWNS, ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS, user: CLONE.NEWUSER, cgroup: CLONE.NEWCGROUP, time: CLONE.NEWTIME,
};
/** A user namespace owns the others: joined first. Mount last, so the /proc paths still resolve. */
const JOIN_ORDER: NamespaceType[] = ["user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount"];

export interface ExecContext {
  /** the container's init: its namespaces are the ones joined */
  initPid: number;
  /** the container's linux section (namespaces, personality, seccomp source) */
  linux: Linux;
  /** exec --detach: the helper does not stay to pass the exit status on */
  detach: boolean;
  preserveFds?: number;
  lastCap?: number;
  home?: string;
  lsm: { apparmor: boolean; selinux: boolean };
  seccomp?: { program: Uint8Array; flags: number; notify: boolean };
}

export type ExecPlan = Pick<CompiledPlan, "ops" | "warnings" | "seccompAgent">;

export function compileExecPlan(process: Process, ctx: ExecContext): ExecPlan {
  const warnings: Warning[] = [];
  const b = new PlanBuilder();
  if (process.terminal) {
    throw new BerthError("terminals are not supported by this berth-runtime yet; set terminal to false", { field: "process.terminal" });
  }
  const types = new Set((ctx.linux.namespaces ?? []).map((n) => n.type));
  let seccompAgent: ExecPlan["seccompAgent"];
  if (ctx.seccomp?.notify) {
    const path = ctx.linux.seccomp?.listenerPath;
    if (!path) throw new BerthError("SCMP_ACT_NOTIFY needs listenerPath, the seccomp agent's socket", { field: "linux.seccomp.listenerPath" });
    seccompAgent = { listenerPath: path, metadata: ctx.linux.seccomp?.listenerMetadata };
    b.add("CONNECT_UNIX", [0, path], "linux.seccomp.listenerPath", `connect to the seccomp agent at ${path}`);
  }
  for (const t of JOIN_ORDER) {
    if (!types.has(t)) continue;
    const path = `/proc/${ctx.initPid}/ns/${NS_FILE[t]}`;
    b.add("SETNS", [path, NS_FLAG[t]], `linux.namespaces`, `join the container's ${t} namespace`);
  }
  b.add("FORK", [ctx.detach ? 0 : 1], "process", "fork into the container's pid namespace");
  processOps(b, process, ctx.linux, {
    lastCap: ctx.lastCap, home: ctx.home, lsm: ctx.lsm, seccomp: ctx.seccomp, agentSlot: 0,
    joinedUserns: types.has("user"), preserveFds: ctx.preserveFds, waitStart: false, warnings,
  });
  return { ops: b.ops, warnings: [...warnings, ...b.warnings], seccompAgent };
}
