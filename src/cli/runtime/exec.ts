/**
 * `exec [flags] ID [COMMAND ARGS…]`: run a process in a running container. The process
 * is `--process FILE` (a runtime-spec Process: what containerd and conmon send) or built
 * from the container's own process with runc's inline flags (`-e`, `--cwd`, `-u`, `--cap`…).
 * Without --detach the runtime waits and exits with the process's status.
 */
import { BerthError } from "../../errors.ts";
import { parseSubCgroups } from "../../runtime/exec-cgroup.ts";
import { execProcess, readProcessFile } from "../../runtime/exec.ts";
import type { Process, Spec } from "../../spec/runtime-spec.ts";
import { idArg, parseVerb, type Globals, type RuntimeLog } from "./invocation.ts";
import { preserveFds } from "./create.ts";
import { waitForwardingSignals } from "./foreground.ts";

const EXEC_OPTIONS = {
  process: { type: "string", short: "p" },
  detach: { type: "boolean", short: "d" },
  "pid-file": { type: "string" },
  "console-socket": { type: "string" },
  "pidfd-socket": { type: "string" },
  "preserve-fds": { type: "string" },
  cwd: { type: "string" },
  env: { type: "string", short: "e", multiple: true },
  tty: { type: "boolean", short: "t" },
  user: { type: "string", short: "u" },
  "additional-gids": { type: "string", short: "g", multiple: true },
  cap: { type: "string", short: "c", multiple: true },
  "no-new-privs": { type: "boolean" },
  apparmor: { type: "string" },
  "process-label": { type: "string" },
  cgroup: { type: "string", multiple: true },
  "ignore-paused": { type: "boolean" },
} as const;

/** runc exits 255 when exec itself fails; 1…254 (and 128+N) stay the process's own */
const EXEC_FAILED = 255;

/** The base for the inline flags when config.json has no process (a container that was created without one) */
const NO_PROCESS: Process = { args: [], cwd: "/", user: { uid: 0, gid: 0 } };

function uint(raw: string, flag: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) > 0xfffffffe) throw new BerthError(`${JSON.stringify(raw)} is not an id; use a number`, { field: flag });
  return Number(raw);
}

/** runc's inline form: the container's process, changed by the flags. */
function inlineProcess(base: Process, v: ReturnType<typeof parseVerb<typeof EXEC_OPTIONS>>["values"], args: string[]): Process {
  if (args.length === 0) throw new BerthError("exec needs a command (or --process FILE); usage: berth-runtime exec [flags] ID COMMAND [ARGS…]");
  const p: Process = structuredClone(base);
  p.args = args;
  p.terminal = v.tty === true;
  if (v.cwd !== undefined) p.cwd = v.cwd;
  for (const e of v.env ?? []) {
    if (!e.includes("=")) throw new BerthError(`${JSON.stringify(e)} is not NAME=value`, { field: "--env" });
    const name = e.slice(0, e.indexOf("="));
    p.env = [...(p.env ?? []).filter((x) => !x.startsWith(`${name}=`)), e];
  }
  if (v.user !== undefined) {
    const [uid, gid] = v.user.split(":");
    p.user = { ...p.user, uid: uint(uid!, "--user"), gid: gid === undefined ? p.user.gid : uint(gid, "--user") };
  }
  // runc appends them to the process's own: a caller that wants other groups gives --process
  if (v["additional-gids"]?.length) p.user.additionalGids = [...(p.user.additionalGids ?? []), ...v["additional-gids"].map((g) => uint(g, "--additional-gids"))];
  if (v.cap?.length && p.capabilities) {
    // runc 1.1: bounding, effective, permitted and ambient (not inheritable: CVE-2022-29162)
    for (const set of ["bounding", "effective", "permitted", "ambient"] as const) p.capabilities[set] = [...(p.capabilities[set] ?? []), ...v.cap];
  }
  if (v["no-new-privs"]) p.noNewPrivileges = true;
  if (v.apparmor !== undefined) p.apparmorProfile = v.apparmor;
  if (v["process-label"] !== undefined) p.selinuxLabel = v["process-label"];
  return p;
}

export async function run(args: string[], g: Globals, log: RuntimeLog): Promise<number> {
  const { values: v, positionals } = parseVerb(args, EXEC_OPTIONS);
  const id = idArg(positionals, "exec [flags] ID COMMAND [ARGS…]");
  const target = { root: g.root, id };
  const fds = preserveFds(v["preserve-fds"]);
  let execed;
  try {
    const subCgroups = v.cgroup?.length ? parseSubCgroups(v.cgroup) : undefined;
    const proc = v.process !== undefined ? readProcessFile(v.process) : (spec: Spec) => inlineProcess(spec.process ?? NO_PROCESS, v, positionals.slice(1));
    execed = await execProcess(target, {
      process: proc, detach: v.detach, pidFile: v["pid-file"], preserveFds: fds, consoleSocket: v["console-socket"],
      ignorePaused: v["ignore-paused"], warn: log.warn, trace: log.trace, ...(subCgroups && { subCgroups }),
    });
  } catch (err) {
    if (!(err instanceof BerthError)) throw err;
    // runc's exit code for an exec that failed itself, so callers tell it from the process's own status
    log.error(err.message, err);
    return EXEC_FAILED;
  }
  if (v.detach) return 0;
  return waitForwardingSignals(execed.pid, execed.helper!);
}
