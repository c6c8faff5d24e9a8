/**
 * The monitor of a container: Debian's conmon, driven as podman drives it
 * (libpod/oci_conmon_common.go). conmon runs the runtime's `create`, holds the
 * container's stdio and writes it to the log (k8s-file: `TIME STREAM P|F TEXT`), writes
 * the exit code to `<exit-dir>/<id>` when the init ends, then runs the exit command
 * (`berth container cleanup ID`), which records the exit and removes what `--rm` asks.
 * No JavaScript stays resident per container: conmon is ~1 MiB of C.
 *
 * conmon forks twice and its first process exits at once; the container's pid, or the
 * runtime's failure, comes back on the sync pipe (`_OCI_SYNCPIPE`, fd 3 here) as one
 * JSON line `{"data": PID}` / `{"data": -1, "message": …}`. It runs with its working
 * directory in the container's run dir, where it writes its OOM marker (`oom`).
 *
 * Known: conmon's --log-size-max truncates the log instead of rotating it (measured: at
 * 100 kB a 30000-line log kept its last ~1700 lines, no second file); berth gives it
 * max-size × max-file (lifecycle.ts logSizeMax) and says so in docs/engine.md.
 */
import { BerthError } from "../../errors.ts";
import { close, pollFd, POLLIN, readFd, readTextIfExists } from "../../sys/libc.ts";
import { conmonPath } from "./programs.ts";
import { ContainerStartError, type OciRuntime } from "./oci-runtime.ts";
import { lastRuntimeError } from "../../runtime/log-record.ts";

export interface MonitorFiles {
  runDir: string;
  /** conmon writes `<exitDir>/<id>` */
  exitDir: string;
  /** the container's pid (the runtime's --pid-file) */
  pidFile: string;
  /** conmon's own pid */
  monitorPidFile: string;
  /** the runtime's JSON log, read for its errors */
  runtimeLog: string;
  /** conmon's own stderr */
  monitorLog: string;
}

export function monitorFiles(runDir: string): MonitorFiles {
  return {
    runDir,
    exitDir: `${runDir}/exit`,
    pidFile: `${runDir}/pidfile`,
    monitorPidFile: `${runDir}/conmon.pid`,
    runtimeLog: `${runDir}/runtime.log`,
    monitorLog: `${runDir}/conmon.log`,
  };
}

export interface MonitorRequest {
  id: string;
  name: string;
  bundle: string;
  logPath: string;
  runtime: OciRuntime;
  files: MonitorFiles;
  tty: boolean;
  stdin: boolean;
  /** bytes; conmon starts the log again at this size */
  logSizeMax?: number;
  /** berth's cleanup command, run by conmon when the container exits */
  exitCommand: string[];
}

/** conmon's command line. Pure. */
export function conmonArgs(r: MonitorRequest): string[] {
  const args = [
    "--api-version", "1", "-c", r.id, "-u", r.id, "-n", r.name, "-r", r.runtime.path,
    ...r.runtime.globals(r.files.runtimeLog).flatMap((a) => ["--runtime-arg", a]),
    "-b", r.bundle, "-p", r.files.pidFile, "-P", r.files.monitorPidFile,
    "-l", `k8s-file:${r.logPath}`, "--exit-dir", r.files.exitDir, "--socket-dir-path", r.files.runDir,
    "--log-level", "error", "--exit-delay", "0", "--syslog",
  ];
  if (r.tty) args.push("-t");
  if (r.stdin) args.push("-i");
  if (r.logSizeMax !== undefined) args.push("--log-size-max", String(r.logSizeMax));
  const [cmd, ...cmdArgs] = r.exitCommand;
  if (cmd) args.push("--exit-command", cmd, ...cmdArgs.flatMap((a) => ["--exit-command-arg", a]));
  return args;
}

/** conmon's sync message: the container's pid, or the runtime's failure. */
export function parseSyncMessage(text: string): { pid: number } | { error: string } {
  const line = text.split("\n").find((l) => l.trim() !== "");
  if (!line) return { error: "conmon exited without a word" };
  try {
    const m = JSON.parse(line) as { data?: number; message?: string };
    if (typeof m.data === "number" && m.data > 0) return { pid: m.data };
    return { error: (m.message ?? "").trim() || "the runtime failed to create the container" };
  } catch {
    return { error: `conmon said ${JSON.stringify(line)}` };
  }
}

/** Read from `fd` until a newline or EOF, waiting at most `timeoutMs` in all. */
function readLine(fd: number, timeoutMs: number): string {
  const deadline = Date.now() + timeoutMs;
  const buf = new Uint8Array(4096);
  let text = "";
  while (!text.includes("\n")) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    if ((pollFd(fd, POLLIN, Math.min(left, 1000)) & (POLLIN | 0x10)) === 0) continue;
    const n = readFd(fd, buf);
    if (n <= 0) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return text;
}

/** podman waits as long as conmon takes; berth gives up after this (20 creates at once under QEMU TCG took minutes) */
const CREATE_TIMEOUT_MS = 600_000;


/**
 * Start conmon for the container; resolves once the runtime's `create` is done (the
 * container waits for `start`). Returns the container's pid; a runtime failure throws
 * ContainerStartError with docker's exit code.
 */
export function startMonitor(r: MonitorRequest): number {
  const proc = Bun.spawn([conmonPath(), ...conmonArgs(r)], {
    stdio: ["ignore", "ignore", Bun.file(r.files.monitorLog), "pipe"],
    cwd: r.files.runDir,
    env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", _OCI_SYNCPIPE: "3" },
  });
  const syncFd = (proc as unknown as { stdio: (number | null)[] }).stdio[3];
  if (typeof syncFd !== "number") throw new BerthError("cannot open a pipe to conmon");
  let text: string;
  try {
    text = readLine(syncFd, CREATE_TIMEOUT_MS);
  } finally {
    close(syncFd);
  }
  if (text === "" && !lastRuntimeError(readTextIfExists(r.files.runtimeLog) ?? "")) {
    // no word in time, and no error from the runtime: end conmon, and whatever it may still create
    const pid = Number.parseInt(readTextIfExists(r.files.monitorPidFile) ?? "0", 10);
    if (pid > 0) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    r.runtime.run(["delete", "--force", r.id]);
    throw new ContainerStartError(`conmon gave no word of the runtime's create within ${CREATE_TIMEOUT_MS / 1000} s (or died: see ${r.files.monitorLog}); the container was removed`, 125);
  }
  const m = parseSyncMessage(text);
  if ("pid" in m) return m.pid;
  const failure = r.runtime.failure("create", r.files.runtimeLog, m.error);
  throw new ContainerStartError(failure.message, failure.exitCode);
}
