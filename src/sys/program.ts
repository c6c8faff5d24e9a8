/**
 * Running other programs — an OCI runtime, ps, newuidmap, a hook, tar: the one place
 * outside the special-purpose spawners (gated-spawn.ts, cni-plugin.ts,
 * network-namespace.ts, init-helper.ts) where berth starts a process (DESIGN.md: sys/
 * spawns). A missing or non-executable program throws (Bun's error names it); the
 * caller turns that into its own one line.
 */
import { signalNumber } from "../signals.ts";

/** How a program that ran to its end ended, and what it printed (pipes only). */
export interface ProgramRun {
  pid: number;
  /** the exit status; 128+N when signal N ended it, as a shell and docker report it */
  code: number;
  /** the signal that ended it, if one did */
  signal?: string;
  stdout: string;
  stderr: string;
}

type Stdio = "pipe" | "inherit" | "ignore";

export interface RunProgramOptions {
  /** what its standard input is connected to; default "ignore" (or `input`) */
  stdin?: "inherit" | "ignore";
  /** text or bytes for its standard input */
  input?: string | Uint8Array;
  /** default "pipe" (captured in ProgramRun) */
  stdout?: Stdio;
  /** default "pipe" (captured in ProgramRun) */
  stderr?: Stdio;
  /** the whole environment; default this process's */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** its argv[0], when it differs from the path run */
  argv0?: string;
  /** killed with SIGKILL after this long */
  timeoutMs?: number;
  /** in a process group of its own (so a timeout can end what it started) */
  detached?: boolean;
}

/** 128+N for a process that signal N ended, else its exit status. */
export function exitStatus(code: number | null, signal: string | number | null | undefined): number {
  if (signal === null || signal === undefined) return code ?? 0;
  return 128 + (typeof signal === "number" ? signal : (signalNumber(signal) ?? 0));
}

/** Run `argv` to its end; throws when it cannot be started. */
export function runProgram(argv: string[], opts: RunProgramOptions = {}): ProgramRun {
  const p = Bun.spawnSync(argv, {
    stdin: opts.input !== undefined ? (typeof opts.input === "string" ? Buffer.from(opts.input) : opts.input) : (opts.stdin ?? "ignore"),
    stdout: opts.stdout ?? "pipe",
    stderr: opts.stderr ?? "pipe",
    env: opts.env ?? process.env,
    ...(opts.cwd !== undefined && { cwd: opts.cwd }),
    ...(opts.argv0 !== undefined && { argv0: opts.argv0 }),
    ...(opts.timeoutMs !== undefined && { timeout: opts.timeoutMs, killSignal: "SIGKILL" }),
    ...(opts.detached && { detached: true }),
  });
  return {
    pid: p.pid,
    code: exitStatus(p.exitCode, p.signalCode),
    ...(p.signalCode && { signal: String(p.signalCode) }),
    stdout: p.stdout?.toString() ?? "",
    stderr: p.stderr?.toString() ?? "",
  };
}

export interface StartProgramOptions {
  stdin?: "inherit" | "ignore" | "pipe" | ReadableStream<Uint8Array>;
  stdout?: Stdio;
  stderr?: Stdio;
  env?: Record<string, string | undefined>;
  cwd?: string;
}

/** Start `argv` and return at once; `exited` resolves to its status (128+N for signal N, Bun's own rule). Throws when it cannot be started. */
export function startProgram(argv: string[], opts: StartProgramOptions = {}): { pid: number; exited: Promise<number>; stdout: ReadableStream<Uint8Array> | undefined; stderr: ReadableStream<Uint8Array> | undefined } {
  const p = Bun.spawn(argv, {
    stdin: opts.stdin ?? "ignore",
    stdout: opts.stdout ?? "inherit",
    stderr: opts.stderr ?? "inherit",
    env: opts.env ?? process.env,
    ...(opts.cwd !== undefined && { cwd: opts.cwd }),
  });
  return {
    pid: p.pid,
    exited: p.exited,
    stdout: p.stdout instanceof ReadableStream ? p.stdout : undefined,
    stderr: p.stderr instanceof ReadableStream ? p.stderr : undefined,
  };
}

/**
 * Start a daemon that reports on a pipe at its fd 3 (berth-monitor's sync fd): stdin and
 * stdout on /dev/null, stderr into `stderrFile`, and `fd4` (an open descriptor of the
 * caller's) at its fd 4 when given. Returns the read end of the pipe, for the caller to
 * read and close. Throws when it cannot be started.
 */
export function startWithReportPipe(argv: string[], opts: { cwd: string; env: Record<string, string>; stderrFile: string; fd4?: number }): { pid: number; reportFd: number } {
  const err = Bun.file(opts.stderrFile);
  const p = Bun.spawn(argv, { stdio: opts.fd4 === undefined ? ["ignore", "ignore", err, "pipe"] : ["ignore", "ignore", err, "pipe", opts.fd4], cwd: opts.cwd, env: opts.env });
  const fd = (p as unknown as { stdio: (number | null)[] }).stdio[3];
  if (typeof fd !== "number") throw new Error(`no pipe to ${argv[0]}`);
  return { pid: p.pid, reportFd: fd };
}
