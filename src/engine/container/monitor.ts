/**
 * The monitor of a container: berth-monitor (native/berth-monitor/, PROTOCOL.md there),
 * a static C process of ~0.1 MiB PSS that replaced Debian's conmon (measured in
 * bench/monitor.sh, docs/performance.md). It runs the runtime's `create`, holds the
 * container's stdio, writes the log (k8s-file: `TIME STREAM P|F TEXT`) rotated at
 * max-size into max-file files (docker's json-file naming: ctr.log, ctr.log.1, …), serves
 * the attach socket, writes the exit code to `<exit-dir>/<id>` when the init ends, then
 * runs the exit command (`berth container cleanup ID`), which records the exit and
 * removes what `--rm` asks — unless a foreground `run` holds the exit claim (ExitClaim)
 * and records it itself. No JavaScript stays resident per container.
 *
 * The monitor forks once and its first process exits at once; the container's pid, or
 * the runtime's failure, comes back on the sync pipe (fd 3 here) as one JSON line
 * `{"data": PID}` / `{"data": -1, "message": …}`, as conmon's. It runs with its working
 * directory in the container's run dir, where it binds the attach socket by a relative
 * name: an absolute path under a long --runroot would not fit a socket address (108
 * bytes); clients connect through /proc/self/fd (attach.ts).
 */
import { BerthError } from "../../errors.ts";
import { close, pollFd, POLLIN, readFd, readTextIfExists, socketPair, waitProcessEnd, writeAll } from "../../sys/libc.ts";
import { startWithReportPipe } from "../../sys/program.ts";
import { monitorPath } from "./programs.ts";
import { ContainerStartError, type OciRuntime } from "./oci-runtime.ts";
import { lastRuntimeError } from "../../runtime/log-record.ts";
import type { MonitorFiles } from "./monitor-files.ts";

export interface LogLimits {
  /** bytes a file may hold */
  maxSize: number;
  /** how many files: the log and its rotated predecessors */
  maxFiles: number;
}

export interface MonitorRequest {
  id: string;
  bundle: string;
  logPath: string;
  log: LogLimits;
  runtime: OciRuntime;
  files: MonitorFiles;
  tty: boolean;
  stdin: boolean;
  /** berth's cleanup command, run by the monitor when the container exits */
  exitCommand: string[];
  /** the monitor's end of an exit claim: this process records the exit, not the exit command */
  exitClaim?: ExitClaim;
  /** the runtime is berth-runtime, which says `created` on the monitor's pipe (PROTOCOL.md): its exit is not waited for */
  createdPipe?: boolean;
}

/**
 * A foreground's hold on its container's exit (PROTOCOL.md, "The exit claim"): the
 * monitor gets one end of a socket pair at start; when the container has ended it waits
 * for a byte on it (this process recorded the exit: no exit command, no third Bun start)
 * or for its close (this process detached or was killed: the exit command runs). Made
 * before the start, since a short container ends before any attach could connect.
 */
export class ExitClaim {
  /** this process's end; -1 once let go */
  private own: number;
  /** the monitor's end, until it is handed over */
  private monitorEnd: number;

  constructor() {
    const pair = socketPair();
    if (pair === -1) throw new BerthError("cannot make the exit claim's socket pair (out of descriptors?)");
    [this.own, this.monitorEnd] = pair;
  }

  /** The monitor's end, for its fd 4; berth's copy of it is closed once the monitor has it. */
  forMonitor(): number {
    return this.monitorEnd;
  }

  handedOver(): void {
    if (this.monitorEnd >= 0) close(this.monitorEnd);
    this.monitorEnd = -1;
  }

  /** The exit is recorded: the monitor ends without its exit command. */
  recorded(): void {
    if (this.own < 0) return;
    try {
      writeAll(this.own, "1");
    } catch {
      // the monitor is gone (killed): nothing waits for the word
    }
    this.release();
  }

  /** Let go without recording (detached, or the start failed): the monitor runs its exit command. */
  release(): void {
    this.handedOver();
    if (this.own >= 0) close(this.own);
    this.own = -1;
  }
}

/** node:os's tmpdir() without loading node:os (≈0.5 ms of a run's start): $TMPDIR, $TMP, $TEMP or /tmp. */
function tempDir(): string {
  const env = process.env;
  return (env.TMPDIR || env.TMP || env.TEMP || "/tmp").replace(/(.)\/+$/, "$1");
}

/** A socket address holds 107 bytes of path: the longest the runtime can connect to. */
const SUN_PATH_MAX = 107;

/**
 * Where the runtime sends a terminal's master (--console-socket): in the run dir when
 * the path fits a socket address, else in the temporary directory. Pure.
 */
export function consoleSocketPath(runDir: string, id: string, tmp = tempDir()): string {
  const inRun = `${runDir}/console`;
  return inRun.length <= SUN_PATH_MAX ? inRun : `${tmp}/berth-console-${id}`;
}

/** berth-monitor's command line. Pure. */
export function monitorArgs(r: MonitorRequest, consoleSocket: string): string[] {
  const args = [
    "--runtime", r.runtime.path, ...r.runtime.globals(r.files.runtimeLog).flatMap((a) => ["--runtime-arg", a]),
    "--bundle", r.bundle, "--id", r.id, "--pid-file", r.files.pidFile, "--monitor-pid-file", r.files.monitorPidFile,
    "--log", r.logPath, "--log-max-size", String(r.log.maxSize), "--log-max-files", String(r.log.maxFiles),
    "--exit-dir", r.files.exitDir, "--attach-socket", r.files.attachSocket, "--sync-fd", "3",
  ];
  if (r.tty) args.push("--tty", "--console-socket", consoleSocket);
  if (r.stdin) args.push("--stdin");
  if (r.exitClaim) args.push("--exit-claim-fd", "4");
  if (r.createdPipe) args.push("--runtime-created-pipe");
  return [...args, "--", ...r.exitCommand];
}

/** The monitor's sync message: the container's pid, or the runtime's failure. */
export function parseSyncMessage(text: string): { pid: number } | { error: string } {
  const line = text.split("\n").find((l) => l.trim() !== "");
  if (!line) return { error: "the monitor exited without a word" };
  try {
    const m = JSON.parse(line) as { data?: number; message?: string };
    if (typeof m.data === "number" && m.data > 0) return { pid: m.data };
    return { error: (m.message ?? "").trim() || "the runtime failed to create the container" };
  } catch {
    return { error: `the monitor said ${JSON.stringify(line)}` };
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
/** How long a failed create's monitor is given to end after its report (it ends at once, unless the host stalls it). */
const MONITOR_END_MS = 2_000;


/**
 * Start the monitor for the container; returns once the runtime's `create` is done (the
 * container waits for `start`). Returns the container's pid; a runtime failure throws
 * ContainerStartError with docker's exit code.
 *
 * `whileCreating` runs while the monitor and the runtime create the container (the
 * network's CNI ADDs, which need only the namespace the runtime joins by path, not the
 * container's process). When it throws, the create is still waited for, a container it
 * made is deleted, and its error is thrown.
 */
export function startMonitor(r: MonitorRequest, whileCreating?: () => void): number {
  return awaitMonitor(launchMonitor(r), whileCreating);
}

/** A monitor started, its runtime's `create` under way; its word comes on `syncFd`. */
export interface LaunchedMonitor {
  request: MonitorRequest;
  syncFd: number;
}

/** Start the monitor (and so the runtime's create); awaitMonitor takes its word. */
export function launchMonitor(r: MonitorRequest): LaunchedMonitor {
  let syncFd: number;
  try {
    syncFd = startWithReportPipe([monitorPath(), ...monitorArgs(r, consoleSocketPath(r.files.runDir, r.id))], {
      cwd: r.files.runDir, env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" }, stderrFile: r.files.monitorLog,
      ...(r.exitClaim && { fd4: r.exitClaim.forMonitor() }),
    }).reportFd;
  } catch (err) {
    throw new BerthError(`cannot start the monitor: ${(err as Error).message}`);
  } finally {
    r.exitClaim?.handedOver();
  }
  return { request: r, syncFd };
}

/**
 * The launched monitor's word: the container's pid once the runtime's create is done
 * (`whileCreating` runs meanwhile), or the runtime's failure as ContainerStartError.
 */
export function awaitMonitor(launched: LaunchedMonitor, whileCreating?: () => void): number {
  const { request: r, syncFd } = launched;
  let text: string;
  let failed: { err: unknown } | undefined;
  try {
    try {
      whileCreating?.();
    } catch (err) {
      failed = { err };
    }
    text = readLine(syncFd, CREATE_TIMEOUT_MS);
  } finally {
    close(syncFd);
  }
  const noWord = text === "" && !lastRuntimeError(readTextIfExists(r.files.runtimeLog) ?? "");
  if (noWord) {
    // no word in time, and no error from the runtime: end the monitor, and whatever it may still create
    const pid = Number.parseInt(readTextIfExists(r.files.monitorPidFile) ?? "0", 10);
    if (pid > 0) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    r.runtime.forceDelete(r.id);
  }
  const m = parseSyncMessage(text);
  if (failed) {
    // created while the other half failed: the container goes (its monitor sees it end and ends)
    if (!noWord && "pid" in m) r.runtime.forceDelete(r.id);
    throw failed.err;
  }
  if (noWord) {
    throw new ContainerStartError(`the monitor gave no word of the runtime's create within ${CREATE_TIMEOUT_MS / 1000} s (or died: see ${r.files.monitorLog}); the container was removed`, 125);
  }
  if ("pid" in m) return m.pid;
  // the monitor ends once it has told the failure: waited for, so that no process outlives the failed command
  waitProcessEnd(Number.parseInt(readTextIfExists(r.files.monitorPidFile) ?? "0", 10), MONITOR_END_MS);
  const failure = r.runtime.failure("create", r.files.runtimeLog, m.error);
  throw new ContainerStartError(failure.message, failure.exitCode);
}
