/**
 * `berth enter`: nsenter for containers. The namespaces are joined by native/berth-init
 * (the process that joins must be single-threaded, which Bun is not), from a plan of
 * SETNS steps, a FORK (a pid or time namespace applies to children only), FIND_EXEC and
 * EXEC; the helper is put in the target's cgroups before it runs the plan, so the command
 * is counted and limited with the container from its first instruction.
 */
import { writeCgroupFile } from "../cgroups/fs.ts";
import { detectHostCgroups } from "../cgroups/layout.ts";
import { parseProcCgroup, type ProcCgroupEntry } from "../cgroups/mountinfo.ts";
import { processCgroupDirs } from "../cgroups/process-cgroup.ts";
import { BerthError } from "../errors.ts";
import { execCandidates } from "../plan/process-ops.ts";
import { encodePlan } from "../plan/encode.ts";
import { JOIN_ORDER, NS_FILE, NS_FLAG } from "../plan/namespaces.ts";
import { NO_SLOT, type InitPlan, type PlanOp } from "../plan/ops.ts";
import { HelperSession, type HelperOptions } from "../sys/init-helper.ts";
import { readText } from "../sys/libc.ts";
import { exitStatus } from "../sys/program.ts";
import { driveToReady } from "./helper-driver.ts";
import { readNamespaces, type NsInodes } from "./process-namespaces.ts";

/**
 * The namespaces `enter` can join, by their /proc/PID/ns file names (what nsenter's users
 * type), in the plans' join order (plan/namespaces.ts).
 */
export const ENTER_ORDER = ["user", "ipc", "uts", "net", "pid", "cgroup", "time", "mnt"] as const;
export type EnterNs = (typeof ENTER_ORDER)[number];

const FLAG = Object.fromEntries(JOIN_ORDER.map((t) => [NS_FILE[t], NS_FLAG[t]])) as Record<EnterNs, number>;

/**
 * Which namespaces to join. Asked-for ones (or, with none asked or `all`, every one the
 * target has) are joined only where they differ from berth's own: re-entering one's own
 * namespace changes nothing, and for a user namespace the kernel refuses it (EINVAL).
 * Pure.
 *
 * @example chooseNamespaces([], { uts: 9, net: 1 }, { uts: 2, net: 1 }) // → ["uts"]
 */
export function chooseNamespaces(asked: EnterNs[], target: NsInodes, own: NsInodes, opts: { all?: boolean } = {}): EnterNs[] {
  const wanted = new Set<EnterNs>(asked.length === 0 || opts.all ? ENTER_ORDER : asked);
  for (const t of asked) {
    if (target[t] === undefined) throw new BerthError(`the target has no ${t} namespace to join (a kernel without it, or the process is gone)`, { field: `--${t}` });
  }
  return ENTER_ORDER.filter((t) => wanted.has(t) && target[t] !== undefined && target[t] !== own[t]);
}

export interface EnterPlanOptions {
  pid: number;
  namespaces: EnterNs[];
  argv: string[];
  /** KEY=VALUE, passed to the command as is (nsenter passes its own environment) */
  env: string[];
  cwd?: string;
}

/**
 * The helper's plan for entering PID's namespaces and running argv. Pure.
 *
 * @example enterPlan({ pid: 42, namespaces: ["uts"], argv: ["hostname"], env: ["PATH=/bin"] }).ops.map((o) => o.op)
 * // → ["SETNS", "FORK", "FIND_EXEC", "CLOSE_FROM", "RESET_SIGNALS", "READY", "EXEC"]
 */
export function enterPlan(o: EnterPlanOptions): InitPlan {
  const ops: PlanOp[] = [];
  const add = (op: PlanOp["op"], args: PlanOp["args"], field: string, what: string) => ops.push({ op, args, field, what });
  for (const t of o.namespaces) {
    const path = `/proc/${o.pid}/ns/${t}`;
    add("SETNS", [path, FLAG[t]], "TARGET", `join ${t} namespace ${path}`);
  }
  // wait=1: the helper stays as the command's parent and exits with its status
  add("FORK", [1, 0, NO_SLOT], "TARGET", "fork the command");
  if (o.cwd !== undefined) add("CHDIR", [o.cwd], "--wd", `chdir to ${o.cwd}`);
  // looked up after the mount namespace is joined: the command is the container's
  add("FIND_EXEC", execCandidates(o.argv[0]!, o.env).candidates, "COMMAND", `find ${JSON.stringify(o.argv[0])}`);
  add("CLOSE_FROM", [3], "COMMAND", "close berth's file descriptors");
  // Bun ignores some signals (SIGPIPE); the command must start with the defaults
  add("RESET_SIGNALS", [], "COMMAND", "reset signal handling");
  add("READY", [], "COMMAND", "report ready");
  add("EXEC", [o.argv.length, ...o.argv, ...o.env], "COMMAND", `exec ${JSON.stringify(o.argv[0])}`);
  return { ops };
}

/**
 * Put `pid` in the target's cgroup in every hierarchy. A hierarchy where the target sits
 * at the root (no container cgroup there) or where berth already is the same cgroup is
 * left alone: moving there would only take the command out of berth's own.
 */
export function joinCgroups(pid: number, target: ProcCgroupEntry[]): void {
  const host = detectHostCgroups();
  const own = processCgroupDirs(host.own, host.layout);
  for (const d of processCgroupDirs(target, host.layout)) {
    if (d.path === "/" || own.some((o) => o.hierarchy === d.hierarchy && o.path === d.path)) continue;
    writeCgroupFile(d.dir, "cgroup.procs", String(pid), "TARGET");
  }
}

/** The process whose namespaces are entered (observe's Subject is one), and its name for errors. */
export interface EnterTarget {
  pid: number;
  name: string;
}

export interface EnterOptions {
  /** namespaces asked for by flag; none: every one that differs */
  namespaces: EnterNs[];
  all?: boolean;
  /** join the target's cgroups too (default true) */
  cgroup?: boolean;
  cwd?: string;
  argv: string[];
}

/** Signals a person sends to `berth enter` that belong to the command; the terminal's own (^C, ^\) reach it directly. */
const FORWARDED = ["SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2"] as const;
const TERMINAL = ["SIGINT", "SIGQUIT"] as const;

/** Start the helper that joins the subject's namespaces (and cgroup) and runs argv; it is running the command when this returns. */
async function launch(s: EnterTarget, o: EnterOptions, stdio?: HelperOptions["stdio"]): Promise<{ proc: Bun.Subprocess; child: number }> {
  if (s.pid <= 0) throw new BerthError(`${s.name} has no process to enter (its namespaces went with its processes)`, { field: "TARGET" });
  const target = readNamespaces(s.pid);
  const chosen = chooseNamespaces(o.namespaces, target, readNamespaces("self"), { all: o.all });
  let cgroups: ProcCgroupEntry[];
  try {
    cgroups = parseProcCgroup(readText(`/proc/${s.pid}/cgroup`));
  } catch {
    throw new BerthError(`process ${s.pid} is gone`, { field: "TARGET" });
  }
  const env = Object.entries(process.env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  const plan = enterPlan({ pid: s.pid, namespaces: chosen, argv: o.argv, env, cwd: o.cwd });
  const helper = new HelperSession(encodePlan(plan), { wait: true, ...(stdio && { stdio }), beforePlan: (pid) => (o.cgroup === false ? undefined : joinCgroups(pid, cgroups)) });
  const proc = helper.subprocess!;
  let child: number;
  try {
    child = driveToReady(helper, plan.ops, {}, { exitedEarly: "the helper exited before the command started; see the lines above" });
  } catch (err) {
    await proc.exited;
    throw err;
  }
  helper.close();
  return { proc, child };
}

/**
 * Run argv in the subject's namespaces with its output captured and its stdin empty:
 * how `berth diagnose` runs the host's tools (ip, iptables-save, bash) inside a
 * container's network namespace, as the seed's runbook does with `nsenter -t PID -n`.
 */
export async function captureInNamespaces(s: EnterTarget, o: EnterOptions): Promise<{ code: number; stdout: string; stderr: string }> {
  const { proc } = await launch(s, o, ["ignore", "pipe", "pipe"]);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout as ReadableStream).text(), new Response(proc.stderr as ReadableStream).text(), proc.exited]);
  return { code, stdout, stderr };
}

/**
 * Run argv inside the subject's namespaces (and cgroup); resolves to its exit status
 * (128+N when a signal N ended it).
 *
 * @throws BerthError with field COMMAND and errno ENOENT/EACCES when argv[0] is not found
 *   or not executable in the container
 */
export async function enterSubject(s: EnterTarget, o: EnterOptions): Promise<number> {
  const { proc, child } = await launch(s, o);
  const forward = (sig: NodeJS.Signals) => {
    try {
      if (child > 0) process.kill(child, sig);
    } catch {
      // the command is gone; its status is on its way
    }
  };
  // Without handlers, ^C would end berth and leave the command running without its parent's wait.
  const ignore = () => {};
  for (const sig of FORWARDED) process.on(sig, forward);
  for (const sig of TERMINAL) process.on(sig, ignore);
  try {
    return exitStatus(await proc.exited, proc.signalCode);
  } finally {
    for (const sig of FORWARDED) process.off(sig, forward);
    for (const sig of TERMINAL) process.off(sig, ignore);
  }
}
