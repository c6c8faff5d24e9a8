/**
 * OCI hooks (config.md "POSIX-platform Hooks"): each runs with the container's state JSON
 * on its stdin, the hook's own args and env, killed after `timeout` seconds. Which hooks
 * run where, and what a failure does, is the runtime-spec's lifecycle:
 *
 *   prestart, createRuntime   create, in the runtime's namespaces, before pivot_root — a failure fails create
 *   createContainer           create, in the container's namespaces, before pivot_root — likewise
 *   startContainer            start, in the container, before the program (native RUN_HOOK op)
 *   poststart                 start, after the program started — a failure is a warning
 *   poststop                  delete, after the container is gone — a failure is a warning
 */
import { BerthError, type Warning } from "../errors.ts";
import type { Hook } from "../spec/runtime-spec.ts";
import { runProgram } from "../sys/program.ts";
import { splitKeyValue } from "../key-value.ts";

export type HookKind = "prestart" | "createRuntime" | "createContainer" | "startContainer" | "poststart" | "poststop";

export interface HookRun {
  /** the container state JSON written to the hook's stdin */
  state: string;
  /** run it in these namespaces of this pid (createContainer), through util-linux's nsenter */
  enter?: { pid: number };
  /**
   * Its working directory, as runc gives it: the bundle for prestart and createRuntime
   * (runc runs in the bundle), the root filesystem for createContainer (resolved in the
   * container's mount namespace, before pivot_root) — never the host's `/`, where a
   * relative path in the hook would write into the host.
   */
  cwd?: string;
}

/** The last lines of a hook's stderr, for the one-line error. */
function tail(text: string): string {
  const lines = text.trim().split("\n").filter(Boolean);
  return lines.slice(-3).join(" / ");
}

/** Run one hook; what went wrong, if anything, as a warning-shaped {field, message}. */
function runHook(kind: HookKind, h: Hook, i: number, run: HookRun): Warning | undefined {
  const field = `hooks.${kind}[${i}]`;
  const argv = h.args?.length ? h.args : [h.path];
  const cmd = run.enter
    ? ["nsenter", `--target=${run.enter.pid}`, "--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup", ...(run.cwd ? [`--wd=${run.cwd}`] : []), "--", h.path, ...argv.slice(1)]
    : [h.path, ...argv.slice(1)];
  let p;
  try {
    p = runProgram(cmd, {
      // args[0] is the hook's argv[0] (runtime-spec); set apart from the path
      ...(!run.enter && { argv0: argv[0] }),
      // no env given: the runtime's own, as runc's exec.Cmd does with a nil Env
      // an entry without '=' is no variable a program could read (getenv), so it is left out
      env: h.env ? Object.fromEntries(h.env.map(splitKeyValue).filter((kv) => kv !== undefined)) : process.env,
      input: run.state,
      ...(run.cwd && !run.enter && { cwd: run.cwd }),
      ...(h.timeout && { timeoutMs: h.timeout * 1000 }),
      // its own process group, so a timeout kills what it started too (`sh -c "sleep 30"`)
      detached: true,
    });
  } catch (err) {
    return { field, message: `${h.path}: ${(err as Error).message}; the hook must be an executable path in the runtime's filesystem` };
  }
  if (p.code === 0) return undefined;
  const stderr = tail(p.stderr);
  if (h.timeout && p.signal === "SIGKILL") {
    try {
      process.kill(-p.pid, "SIGKILL");
    } catch {
      // nothing of it left
    }
    return { field, message: `${h.path} timed out after ${h.timeout} s${stderr ? `: ${stderr}` : ""}` };
  }
  const how = p.signal ? `was killed by ${p.signal}` : `exited with status ${p.code}`;
  return { field, message: `${h.path} ${how}${stderr ? `: ${stderr}` : ""}` };
}

/** The create-time hooks: in order, and the first failure throws, naming `hooks.KIND[i]`. */
export function runHooks(kind: HookKind, hooks: Hook[] | undefined, run: HookRun): void {
  (hooks ?? []).forEach((h, i) => {
    const failed = runHook(kind, h, i, run);
    if (failed) throw new BerthError(failed.message, { field: failed.field });
  });
}

/** poststart and poststop: each failure is a warning, and the remaining hooks still run (runtime-spec). */
export function runHooksWarning(kind: HookKind, hooks: Hook[] | undefined, run: HookRun, warn?: (w: Warning) => void): void {
  (hooks ?? []).forEach((h, i) => {
    const failed = runHook(kind, h, i, run);
    if (failed) warn?.(failed);
  });
}
