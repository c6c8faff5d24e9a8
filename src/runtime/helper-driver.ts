/**
 * The one loop that reads native/berth-init's reports (native/PROTOCOL.md) up to
 * `ready`: `create`, `exec` and `enter` differ only in which reports their plans ask for
 * and what they do at each, which they pass in as handlers.
 */
import { BerthError } from "../errors.ts";
import type { PlanOp } from "../plan/ops.ts";
import type { HelperSession } from "../sys/init-helper.ts";
import { waitProcessEnd } from "../sys/libc.ts";
import { describeFailure } from "./init-error.ts";

/** What the caller does at each report before `ready`; a report whose handler is missing is a plan the caller did not mean. */
export interface ReportHandlers {
  /** `pid`: the host pid of the process the plan forked (the init, the exec'd process, the entered command), also returned at `ready` */
  pid?: (pid: number) => void;
  /** `seccomp`: the state JSON the seccomp agent gets with the listener fd */
  seccomp?: () => string;
  /** `hooks`: run the create-time hooks; the state JSON the helper hands on */
  hooks?: () => string;
  /** `map`: write the id maps of the user namespace of `pid`; the helper then goes on */
  map?: (pid: number) => void;
}

export interface DriveOptions {
  /** the error when the helper exits before `ready` (where its last words went) */
  exitedEarly: string;
}

/**
 * Read the helper's reports until `ready`, answering each through its handler; returns
 * the forked pid (0 when none was reported). A failed step throws describeFailure's
 * error for its plan op, an exit before `ready` a BerthError with `exitedEarly`. On any
 * failure — the handlers' own too — the helper and the forked process are SIGKILLed
 * before the error is thrown, so nothing half-started runs on.
 */
export function driveToReady(helper: HelperSession, ops: PlanOp[], handlers: ReportHandlers, options: DriveOptions): number {
  let pid = 0;
  try {
    for (;;) {
      const r = helper.next();
      if (r.kind === "ready") return pid;
      if (r.kind === "error") throw describeFailure(ops, r);
      if (r.kind === "eof") throw new BerthError(options.exitedEarly);
      if (r.kind === "pid") {
        pid = r.pid;
        handlers.pid?.(r.pid);
      } else if (r.kind === "seccomp" && handlers.seccomp) helper.sendLengthPrefixed(handlers.seccomp());
      else if (r.kind === "hooks" && handlers.hooks) helper.sendLengthPrefixed(handlers.hooks());
      else if (r.kind === "map" && handlers.map) {
        handlers.map(r.pid);
        helper.go();
      } else throw new BerthError(`berth-init reported "${r.kind}", which this plan does not ask for; this is a bug in berth`);
    }
  } catch (err) {
    killStarted(helper, pid);
    throw err;
  }
}

/**
 * Give up on what a plan started: SIGKILL the helper and the process it forked (pid 0:
 * none), and wait for that process's end, as runc's terminate() waits — a caller's next
 * look (`ps`, the cgroup's removal) must not find it still dying.
 */
export function killStarted(helper: HelperSession | undefined, pid: number): void {
  helper?.abort();
  if (pid <= 0) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return; // already gone
  }
  waitProcessEnd(pid, KILLED_END_MS);
}

/** How long a SIGKILLed process is waited for: its end is at once unless the kernel is stuck (D state). */
const KILLED_END_MS = 10_000;
