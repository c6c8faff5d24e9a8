/**
 * Driving an OCI runtime through its CLI (runc's): berth-runtime, runc or crun, each with
 * the engine's `--root` (under runroot) so that berth's containers are its own.
 *
 * A failure is read from the runtime's JSON log (`--log FILE --log-format json`, the last
 * error record, runtime/log-record.ts): berth-runtime adds the errno and the spec field to
 * it, so a missing or non-executable command maps to docker's 127/126 without matching words.
 *
 * berth-runtime of this checkout is the same program as berth: its `start`, and the
 * `delete --force` of a container that has stopped with empty cgroups (every exit
 * command's), run in this process — the same code without a process start, 8–10 ms
 * each of a `run --rm` (docs/performance.md). Everything else goes through the CLI.
 */
import { BerthError } from "../../errors.ts";
import { readText, unlinkPath } from "../../sys/libc.ts";
import { runProgram, startProgram } from "../../sys/program.ts";
import { lastRuntimeError, type RuntimeLogLine } from "../../runtime/log-record.ts";
import { deleteStopped } from "../../runtime/lifecycle.ts";
import { startContainer } from "../../runtime/start.ts";
import { runtimePath } from "./programs.ts";
import type { Engine } from "./engine.ts";
import type { ContainerRecord } from "./records.ts";

export const EXIT_CANNOT_RUN = 126;
export const EXIT_NOT_FOUND = 127;

/**
 * docker's exit code for a container that could not start: 127 when its command was not
 * found, 126 when it cannot be run, else 125 (berth — or the runtime — failed).
 */
export function exitCodeForRuntimeError(e: Pick<RuntimeLogLine, "msg" | "errno" | "field"> | undefined): number {
  if (e?.field?.startsWith("process.args") || e?.field === "process.cwd") {
    if (e.errno === "ENOENT" && e.field.startsWith("process.args")) return EXIT_NOT_FOUND;
    if (e.errno === "EACCES" || e.errno === "EPERM" || e.errno === "ENOEXEC" || e.errno === "ENOENT" || e.errno === "ENOTDIR") return EXIT_CANNOT_RUN;
  }
  return 125;
}

/** The container could not be created or started; `exitCode` is docker's (125/126/127). */
export class ContainerStartError extends BerthError {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

export interface RuntimeResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The runtime a container was made with, as its record names it, under the engine's runtime root. */
export function runtimeOf(engine: Pick<Engine, "paths">, r: Pick<ContainerRecord, "Runtime">): OciRuntime {
  return new OciRuntime(r.Runtime, engine.paths.runtimeRoot);
}

export class OciRuntime {
  constructor(readonly path: string, readonly root: string) {}

  /** The global flags every call gets (conmon passes them with --runtime-arg). */
  globals(logFile?: string): string[] {
    return ["--root", this.root, ...(logFile ? ["--log", logFile, "--log-format", "json"] : [])];
  }

  /** Whether this is berth-runtime of this checkout (whose verbs can run in this process). */
  own(): boolean {
    return this.path === runtimePath(undefined);
  }

  run(args: string[], opts: { logFile?: string; stdio?: "inherit"; input?: string } = {}): RuntimeResult {
    const inherit = opts.stdio === "inherit";
    const p = runProgram([this.path, ...this.globals(opts.logFile), ...args], {
      ...(opts.input !== undefined ? { input: opts.input } : { stdin: inherit ? "inherit" : "ignore" }),
      stdout: inherit ? "inherit" : "pipe",
      stderr: inherit ? "inherit" : "pipe",
    });
    return { code: p.code, stdout: p.stdout, stderr: p.stderr };
  }

  /** Run `args` in the foreground on this process's stdout and stderr (and stdin when asked): its exit status. */
  foreground(args: string[], logFile: string, stdin: "inherit" | "ignore"): Promise<number> {
    return startProgram([this.path, ...this.globals(logFile), ...args], { stdin, stdout: "inherit", stderr: "inherit" }).exited;
  }

  /** `delete --force ID`; a stopped container of berth-runtime's is deleted in this process, without a runtime process. */
  forceDelete(id: string): RuntimeResult {
    if (this.own() && deleteStopped({ root: this.root, id })) return { code: 0, stdout: "", stderr: "" };
    return this.run(["delete", "--force", id]);
  }

  /** `start ID` (in this process for berth-runtime); a failure throws as check's. */
  start(id: string, logFile: string): RuntimeResult {
    return this.own() ? this.startHere(id) : this.check(["start", id], logFile);
  }

  /** Run `args`; a failure throws with the runtime's own line (and its docker exit code). */
  check(args: string[], logFile: string, input?: string): RuntimeResult {
    try {
      unlinkPath(logFile);
    } catch {}
    const r = this.run(args, { logFile, ...(input !== undefined && { input }) });
    if (r.code === 0) return r;
    throw this.failure(args[0]!, logFile, r.stderr);
  }

  /** berth-runtime's start in this process; its error as the CLI would have logged it. */
  private startHere(id: string): RuntimeResult {
    try {
      startContainer({ root: this.root, id });
    } catch (err) {
      const e = err as BerthError;
      throw new ContainerStartError(`${this.name()} start: ${e.message}`, exitCodeForRuntimeError({ msg: e.message, ...(e.errno && { errno: e.errno }), ...(e.field && { field: e.field }) }));
    }
    return { code: 0, stdout: "", stderr: "" };
  }

  failure(verb: string, logFile: string, stderr = ""): ContainerStartError {
    let text = "";
    try {
      text = readText(logFile);
    } catch {}
    const e = lastRuntimeError(text);
    const msg = e?.msg ?? (stderr.trim().split("\n").at(-1) || `${verb} failed`);
    return new ContainerStartError(`${this.name()} ${verb}: ${msg}`, exitCodeForRuntimeError(e));
  }

  name(): string {
    return this.path.slice(this.path.lastIndexOf("/") + 1);
  }

  /** The runtime's status of `id`, or undefined when it does not know it. */
  state(id: string): { status: string; pid: number } | undefined {
    const r = this.run(["state", id]);
    if (r.code !== 0) return undefined;
    try {
      return JSON.parse(r.stdout) as { status: string; pid: number };
    } catch {
      return undefined;
    }
  }
}
