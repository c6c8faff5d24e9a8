/**
 * The steps that turn a process in the container's namespaces into the spec's process:
 * scheduling, cwd, LSM labels, identity, capabilities, no_new_privs, seccomp, then exec.
 * Shared by the container's init (compile.ts, which waits for `start` in the middle) and
 * by `exec` (exec-plan.ts). Pure.
 */
import { type Warning } from "../errors.ts";
import { CAPABILITIES, capabilityMask, type CapabilitySet } from "../security/capabilities.ts";
import type { Hook, Linux, Process } from "../spec/runtime-spec.ts";
import type { OpArg, OpName, PlanOp } from "./ops.ts";
import { RLIM_INFINITY_AS_READ } from "../spec/validate-config.ts";
import { rlimitNumber } from "./rlimits.ts";
import { ioPriorityValue, personalityValue, schedAttrBytes } from "./scheduling.ts";

export class PlanBuilder {
  readonly ops: PlanOp[] = [];
  readonly warnings: Warning[] = [];
  add(op: OpName, args: OpArg[], field: string, what: string): PlanOp {
    const step = { op, args, field, what };
    this.ops.push(step);
    return step;
  }
}

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Candidates for process.args[0], in the order execvp would try them. */
export function execCandidates(arg0: string, env: string[]): { candidates: string[]; searched?: string } {
  if (arg0.includes("/")) return { candidates: [arg0] };
  const pathEnv = env.findLast((e) => e.startsWith("PATH="))?.slice(5) ?? DEFAULT_PATH;
  const dirs = pathEnv.split(":").map((d) => (d === "" ? "." : d));
  return { candidates: dirs.map((d) => `${d.replace(/\/$/, "")}/${arg0}`), searched: pathEnv };
}

type CapabilityMasks = Record<CapabilitySet, bigint>;

// the CAPS op's argument order (native/PROTOCOL.md)
const CAPS_ARG_ORDER: readonly CapabilitySet[] = ["bounding", "effective", "permitted", "inheritable", "ambient"];
const SYS_ADMIN = 1n << BigInt(CAPABILITIES.indexOf("CAP_SYS_ADMIN"));
/** A bounding mask that drops nothing. */
const ALL_CAPS = (1n << 64n) - 1n;

const capsArgs = (m: CapabilityMasks): bigint[] => CAPS_ARG_ORDER.map((set) => m[set]);

function capabilityMasks(caps: NonNullable<Process["capabilities"]>, o: ProcessOpsOptions): CapabilityMasks {
  const mask = (set: CapabilitySet) => capabilityMask(caps[set] ?? [], `process.capabilities.${set}`, o.lastCap ?? 40, o.warnings);
  const m = { bounding: mask("bounding"), effective: mask("effective"), permitted: mask("permitted"), inheritable: mask("inheritable"), ambient: mask("ambient") };
  // The kernel raises an ambient capability only if it is permitted and inheritable too.
  // runc's own default spec lists ambient caps without inheritable ones and runs anyway,
  // so the others are dropped quietly rather than failing or warning on every container.
  m.ambient &= m.permitted & m.inheritable;
  return m;
}

export interface ProcessOpsOptions {
  /** highest capability number the kernel knows */
  lastCap?: number;
  /** HOME for the process's uid from the image, when env has none */
  home?: string;
  lsm: { apparmor: boolean; selinux: boolean };
  seccomp?: { program: Uint8Array; flags: number; notify: boolean };
  /** the slot of the seccomp agent's connected socket (CONNECT_UNIX) */
  agentSlot: number;
  /** the process is in a user namespace the runtime made: setgroups may be denied there */
  joinedUserns: boolean;
  preserveFds?: number;
  /** the init: report READY, then wait for `start` (and run startContainer hooks) before exec */
  waitStart: boolean;
  startHooks?: Hook[];
  /** CONSOLE made the process's pty: it becomes its stdio, owned by its uid */
  terminal?: boolean;
  warnings: Warning[];
}

const EPERM = 1;

export function processOps(b: PlanBuilder, process: Process, linux: Linux, o: ProcessOpsOptions): void {
  for (const [i, r] of (process.rlimits ?? []).entries()) {
    const n = rlimitNumber(r.type, `process.rlimits[${i}].type`);
    // RLIM_INFINITY (2^64−1) reaches here as the double 2^64: all ones for the helper, never wrapped to 0
    const limit = (v: number) => (v >= RLIM_INFINITY_AS_READ ? -1 : v);
    const step = b.add("SETRLIMIT", [n, limit(r.soft), limit(r.hard)], `process.rlimits[${i}]`, `set ${r.type} to ${r.soft >= RLIM_INFINITY_AS_READ ? "unlimited" : r.soft}/${r.hard >= RLIM_INFINITY_AS_READ ? "unlimited" : r.hard}`);
    // podman's and docker's default nofile (1048576) is above the hard limit of a root without CAP_SYS_RESOURCE
    step.hint = {
      errno: EPERM,
      text: `raising a hard limit above the runtime's own needs CAP_SYS_RESOURCE, which this runtime lacks: ask for at most its hard limit (\`ulimit -H\`; podman/docker --ulimit ${r.type.slice("RLIMIT_".length).toLowerCase()}=N:N, containers.conf default_ulimits) or run it with CAP_SYS_RESOURCE (\`berth doctor\` checks)`,
    };
  }
  if (process.ioPriority) {
    b.add("IOPRIO", [ioPriorityValue(process.ioPriority)], "process.ioPriority", `set I/O priority ${process.ioPriority.class} ${process.ioPriority.priority ?? 0}`);
  }
  if (process.scheduler) {
    b.add("SCHED_SETATTR", [schedAttrBytes(process.scheduler)], "process.scheduler", `set scheduling policy ${process.scheduler.policy}`);
  }
  if (linux.personality) {
    b.add("PERSONALITY", [personalityValue(linux.personality)], "linux.personality", `set personality ${linux.personality.domain}`);
  }

  b.add("CHDIR", [process.cwd], "process.cwd", `chdir to ${process.cwd}`);

  const env = [...(process.env ?? [])];
  if (!env.some((e) => e.startsWith("HOME="))) env.push(`HOME=${o.home ?? "/"}`);
  const args = process.args ?? [];

  const apparmor = process.apparmorProfile;
  if (apparmor && o.lsm.apparmor) {
    b.add("WRITE_FILE", ["/proc/self/attr/apparmor/exec", `exec ${apparmor}`], "process.apparmorProfile", `apply AppArmor profile ${apparmor} at exec`);
  }
  if (process.selinuxLabel && o.lsm.selinux) {
    b.add("WRITE_FILE", ["/proc/self/attr/exec", process.selinuxLabel], "process.selinuxLabel", `apply SELinux label ${process.selinuxLabel} at exec`);
  }
  // The helper's own system calls must not meet the container's filter (a profile that
  // denies faccessat2 or close_range would fail the lookup or the fd set-up): the user,
  // the lookup and every fd and process set-up come before it. Without no_new_privs,
  // loading a filter needs CAP_SYS_ADMIN, which the user may not keep: it is held
  // through the identity change and dropped by a second CAPS right after the filter —
  // capset and prctl are the calls no_new_privileges=false forces after it, as in runc.
  // With no_new_privs the filter goes as late as possible: after the start handshake,
  // before the startContainer hooks (runc's order) and execve. A notify filter hands its listener over the runtime's socket,
  // which READY closes, so it goes before READY either way.
  const nnp = process.noNewPrivileges === true;
  const seccomp = o.seccomp;
  const filterBeforeReady = !!seccomp && (!nnp || seccomp.notify);
  const addSeccomp = () => {
    if (!seccomp) return;
    if (seccomp.notify) b.add("SECCOMP_NOTIFY", [seccomp.flags, seccomp.program, o.agentSlot], "linux.seccomp", "load the seccomp filter and hand its listener to the agent");
    else b.add("SECCOMP", [seccomp.flags, seccomp.program], "linux.seccomp", "load the seccomp filter");
  };

  const caps = process.capabilities;
  const uid = process.user.uid;
  const gid = process.user.gid;
  const changesUser = uid !== 0 || gid !== 0 || (process.user.additionalGids?.length ?? 0) > 0;
  const masks = caps ? capabilityMasks(caps, o) : undefined;
  // No capabilities listed: a root process keeps the runtime's, a user's are dropped by setresuid.
  const holdSysAdmin = !!seccomp && !nnp && (masks ? (masks.permitted & SYS_ADMIN) === 0n || (masks.effective & SYS_ADMIN) === 0n : uid !== 0);
  if (o.terminal) {
    b.add("CONSOLE_STDIO", [], "process.terminal", "make the terminal the process's stdio");
    // while the process may still chown: a user must be able to use its own terminal (runc)
    b.add("CHOWN_STDIO", [uid], "process.user.uid", `give the terminal to uid ${uid}`);
  }
  const keepCaps = (!!caps || holdSysAdmin) && uid !== 0;
  if (keepCaps) b.add("KEEPCAPS", [1], "process.capabilities", "keep capabilities across setuid");
  // setgroups is refused in a user namespace whose setgroups file says deny; leave the list alone there
  if (!o.joinedUserns || (process.user.additionalGids?.length ?? 0) > 0) {
    b.add("SETGROUPS", process.user.additionalGids ?? [], "process.user.additionalGids", "set supplementary groups");
  }
  if (changesUser || o.joinedUserns) {
    b.add("SETRESGID", [gid], "process.user.gid", `set gid ${gid}`);
    b.add("SETRESUID", [uid], "process.user.uid", `set uid ${uid}`);
  }
  if (keepCaps) b.add("KEEPCAPS", [0], "process.capabilities", "stop keeping capabilities");
  const final = masks ?? { bounding: ALL_CAPS, effective: 0n, permitted: 0n, inheritable: 0n, ambient: 0n };
  if (holdSysAdmin) {
    const held = { ...final, effective: final.effective | SYS_ADMIN, permitted: final.permitted | SYS_ADMIN };
    b.add("CAPS", capsArgs(held), "process.capabilities", "set capabilities, keeping CAP_SYS_ADMIN to load the seccomp filter");
  } else if (masks) {
    b.add("CAPS", capsArgs(masks), "process.capabilities", "set capabilities");
  }
  if (nnp) b.add("NO_NEW_PRIVS", [], "process.noNewPrivileges", "set no_new_privs");
  // Looked up as the container's user, with its capabilities, as runc does: a program
  // only root could reach must fail at create, not after start.
  const { candidates } = execCandidates(args[0]!, env);
  b.add("FIND_EXEC", candidates, "process.args[0]", `find ${JSON.stringify(args[0])}`);

  b.add("UMASK", [process.user.umask ?? 0o022], "process.user.umask", "set umask");
  b.add("CLOSE_FROM", [3 + (o.preserveFds ?? 0)], "process", "close the runtime's file descriptors");
  b.add("RESET_SIGNALS", [], "process", "reset signal handling");
  if (filterBeforeReady) addSeccomp();
  // the bounding set was set by the first CAPS: all ones here drops nothing (which would need CAP_SETPCAP)
  if (holdSysAdmin) b.add("CAPS", capsArgs({ ...final, bounding: ALL_CAPS }), "process.capabilities", "drop CAP_SYS_ADMIN, held for the seccomp filter");
  b.add("READY", [], "process", "report ready");
  if (o.waitStart) b.add("WAIT_START", ["exec.fifo"], "process", "wait for start");
  // before the startContainer hooks, as runc loads it: they run under the container's filter
  if (seccomp && !filterBeforeReady) addSeccomp();
  for (const [i, h] of (o.waitStart ? o.startHooks ?? [] : []).entries()) {
    const argv = h.args?.length ? h.args : [h.path];
    b.add("RUN_HOOK", [h.timeout ?? 0, h.path, argv.length, ...argv, ...(h.env ?? [])], `hooks.startContainer[${i}]`, `run startContainer hook ${h.path}`);
  }
  b.add("EXEC", [args.length, ...args, ...env], "process.args", `exec ${JSON.stringify(args[0])}`);
}
