/**
 * A helper failure (step index, errno, system call, detail) → one line naming the spec
 * field, what the step was doing and why it failed. Pure.
 *
 * Callers match words in this line: podman maps "permission denied" / "operation not
 * permitted" to exit 126 and "executable file not found in" / "no such file or
 * directory" to 127 (runc-cli-contract.md §5), so those phrases are kept verbatim.
 */
import { BerthError } from "../errors.ts";
import type { PlanOp } from "../plan/ops.ts";
import { errnoMeaning, errnoName as nameOfErrno } from "../sys/errno.ts";

export interface HelperFailure {
  step: number;
  errno: number;
  syscall: string;
  detail: string;
}

// sys/errno.ts's table rather than node:util's libuv names: loading node:util costs
// `create` a few MiB and milliseconds, and the table has the kernel's own wording.
function strerror(errno: number): string {
  const meaning = errnoMeaning(errno);
  return meaning === "unknown error" ? `errno ${errno}` : meaning;
}

function errnoName(errno: number): string | undefined {
  const name = nameOfErrno(errno);
  return name.startsWith("errno ") ? undefined : name;
}

const ENOENT = 2;
const EACCES = 13;
const EINVAL = 22;

/** The system call each op is made of: naming it again in the error would only repeat the step. */
const NATURAL: Partial<Record<PlanOp["op"], string[]>> = {
  MOUNT: ["mount"], MOUNT_IN_ROOT: ["mount"], MOUNT_SETATTR: ["mount_setattr"], SETRLIMIT: ["setrlimit"],
  SETHOSTNAME: ["sethostname"], SETDOMAINNAME: ["setdomainname"], MKNOD_IN_ROOT: ["mknodat"], SYMLINK_IN_ROOT: ["symlinkat"],
  PIVOT_ROOT: ["pivot_root"], CHDIR: ["chdir"], SETGROUPS: ["setgroups"], SETRESUID: ["setresuid"], SETRESGID: ["setresgid"],
  UNSHARE: ["unshare"], SETNS: ["setns"], WRITE_FILE: ["open", "write"], CAPS: ["capset", "prctl"], UMASK: ["umask"],
};

export function describeFailure(ops: PlanOp[], f: HelperFailure): BerthError {
  const op = ops[f.step];
  const name = errnoName(f.errno);
  if (f.step === -1 && f.syscall === "plan" && f.detail === "magic") {
    return new BerthError("native/build/berth-init is from another build than this berth-runtime (its plan protocol differs); rebuild both with npm run prepare", { errno: name });
  }
  if (!op) return new BerthError(`container init failed at step ${f.step}: ${f.syscall}: ${strerror(f.errno)}`, { errno: name });
  const reason = strerror(f.errno);
  if (op.op === "FIND_EXEC") {
    // `what` is `find "<args[0]>"` (compile.ts)
    const arg0 = op.what.slice("find ".length);
    const where = (JSON.parse(arg0) as string).includes("/") ? "the root filesystem" : "$PATH";
    if (f.errno === ENOENT) {
      return new BerthError(`${arg0}: executable file not found in ${where}: no such file or directory`, { field: op.field, errno: name });
    }
    if (f.errno === EACCES) {
      return new BerthError(`${arg0}: permission denied: ${f.detail || "it"} is not an executable file`, { field: op.field, errno: name });
    }
  }
  if (op.op === "SETNS" && f.errno === EINVAL) {
    const [path] = op.args as [string];
    const type = op.what.split(" ")[1];
    return new BerthError(`${JSON.stringify(path)} is not a ${type} namespace: setns: ${reason}`, { field: `${op.field}.path`, errno: name });
  }
  if (op.op === "SETNS" && f.errno === ENOENT) {
    return new BerthError(`${JSON.stringify(op.args[0])}: no such file or directory; use a namespace file such as /proc/PID/ns/TYPE`, { field: `${op.field}.path`, errno: name });
  }
  const hint = op.hint && f.errno === op.hint.errno ? `; ${op.hint.text}` : "";
  const natural = !f.syscall || op.what.split(" ")[0] === f.syscall || (NATURAL[op.op] ?? []).includes(f.syscall);
  const how = natural && (!f.detail || op.what.includes(f.detail)) ? "" : ` (${f.syscall}${f.detail ? ` ${f.detail}` : ""})`;
  return new BerthError(`${op.what}${how}: ${reason}${hint}`, { field: op.field, errno: name });
}
