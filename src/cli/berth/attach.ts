/**
 * `berth attach [--no-stdin] [--sig-proxy=false] NAME`, and the foreground of `run` and
 * `start -a -i`: this terminal joined to a container through its monitor's attach socket
 * (engine/container/attach.ts). attach prints the output from now on (docker's attach
 * has no history: that is `logs`), sends stdin when the container was made with -i,
 * passes SIGINT/SIGTERM/… on to the container unless --sig-proxy=false (then Ctrl-C
 * leaves it running: the way to detach; --detach-keys is not supported), and exits with
 * the container's code when it ends. A foreground `run` or `start -a` prints the
 * output from the log instead, from its first byte (the socket has only what comes
 * after the connection, and drops a reader that falls behind; the log holds it all).
 */
import type { Command } from "../command.ts";
import { BerthError } from "../../errors.ts";
import { ExitError } from "../exit.ts";
import { writeRuns } from "../stdio.ts";
import { waitProcessEnd, writeAll } from "../../sys/libc.ts";
import { makeRaw } from "../../sys/terminal.ts";
import { attachContainer, type AttachConnection } from "../../engine/container/attach.ts";
import type { Engine } from "../../engine/container/engine.ts";
import { exitFileCode, killContainer, liveStatus, settle } from "../../engine/container/lifecycle.ts";
import { followLog, type LogPosition } from "../../engine/container/log-reader.ts";
import { LogParser, logRuns } from "../../engine/container/logs.ts";
import type { ContainerRecord } from "../../engine/container/records.ts";
import { engineFor } from "./run-options.ts";

const PROXIED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;

/** The container's terminal takes this terminal's size, now and at each change (docker's MonitorTtySize). */
function followSize(conn: AttachConnection): void {
  if (!process.stdout.isTTY) return;
  const size = () => conn.resize(process.stdout.rows ?? 24, process.stdout.columns ?? 80);
  size();
  process.on("SIGWINCH", size);
}

/** Send this process's stdin to the container until it ends; then close the container's stdin when `once` (docker's StdinOnce). */
async function pumpStdin(conn: AttachConnection, once: boolean, restoreTerminal?: () => void): Promise<void> {
  try {
    for await (const chunk of Bun.stdin.stream()) conn.sendStdin(chunk);
    if (once) conn.closeStdin();
  } finally {
    restoreTerminal?.();
  }
}

/** Signals to this process go to the container (its stop signal rules are the container's). */
export function proxySignals(engine: Engine, r: ContainerRecord): void {
  for (const sig of PROXIED) {
    process.on(sig, () => {
      try {
        killContainer(engine, engine.store.read(r.Id) ?? r, sig);
      } catch {
        // it has just ended: the attach ends with it
      }
    });
  }
}

/**
 * Join the running container: its output from the socket (or, with `output: false`, from
 * nowhere — the caller follows the log), stdin when asked. Resolves when the monitor
 * closes the socket (the container ended) with the container's exit code.
 */
export async function attachSession(engine: Engine, r: ContainerRecord, o: { stdin: boolean; stdinOnce: boolean; sigProxy: boolean; output: boolean }): Promise<{ conn: AttachConnection; exitCode: Promise<number> }> {
  const tty = r.Flags.tty === true;
  // the keys go to the container's terminal as they are typed (^C too), and its output comes out as it is: raw
  // before anything is printed (put back when stdin ends, or when this process exits, however it exits)
  const restoreTerminal = tty && o.stdin ? makeRaw(0) : undefined;
  const conn = await attachContainer(engine.store.runDir(r.Id), (stream, data) => {
    if (o.output) writeAll(stream, data);
  });
  if (o.sigProxy && !tty) proxySignals(engine, r);
  if (tty) followSize(conn);
  if (o.stdin) void pumpStdin(conn, o.stdinOnce, restoreTerminal);
  const exitCode = conn.closed.then(() => settledExitCode(engine, r.Id));
  return { conn, exitCode };
}

/**
 * Print the container's output (from `from` in its log, else all of it) until it exits;
 * its exit code. `ended`, the attach socket's close, wakes it when the container ends
 * while the event loop serves the socket and stdin meanwhile.
 */
export async function attachOutput(engine: Engine, r: ContainerRecord, from?: LogPosition, ended?: Promise<void>): Promise<number> {
  // the monitor ends once the exit is recorded: woken then, not at the next 25 ms poll (a blocking wait: nothing else runs here)
  const monitor = (engine.store.read(r.Id) ?? r).State.MonitorPid;
  const idle = ended ? () => Promise.race([ended, Bun.sleep(25)]) : async () => waitProcessEnd(monitor, 25);
  await followLog(r.LogPath, from, new LogParser(), (b) => writeRuns(logRuns(b)), () => exitFileCode(engine, r.Id) !== undefined || liveStatus(engine, engine.store.read(r.Id) ?? r).status === "exited", idle);
  return settledExitCode(engine, r.Id);
}

/** Once the container has ended: its exit code, after the exit command has recorded it. */
export async function settledExitCode(engine: Engine, id: string): Promise<number> {
  await settle(engine, id);
  return engine.store.read(id)?.State.ExitCode ?? exitFileCode(engine, id) ?? 0;
}

/**
 * A started container in the foreground — `run` without -d, `start -a [-i]`: its output
 * from the log (from `from`), stdin through the attach socket with -i (closed when ours
 * ends: docker's StdinOnce), this terminal raw and its size passed on with -t, signals
 * passed on without -t. Its exit code.
 */
export async function foreground(engine: Engine, r: ContainerRecord, o: { stdin: boolean; from?: LogPosition }): Promise<number> {
  let ended: Promise<void> | undefined;
  try {
    // the socket also tells when it ended (the monitor closes it then), without blocking the loop that serves stdin and signals
    ended = (await attachSession(engine, r, { stdin: o.stdin, stdinOnce: true, sigProxy: true, output: false })).conn.closed;
  } catch (err) {
    // ended already (its monitor removed the socket): there is nothing to send it, its output is in the log
    if (liveStatus(engine, engine.store.read(r.Id) ?? r).status === "running") throw err;
  }
  return attachOutput(engine, engine.store.read(r.Id) ?? r, o.from, ended);
}

export function registerAttach(program: Command): void {
  program.command("attach").argument("<container>", "name or id").description("attach this terminal to a running container's output (and stdin, if it was made with -i)")
    .option("--no-stdin", "do not send stdin")
    .option("--sig-proxy", "pass signals to the container (default true; --sig-proxy=false to detach with Ctrl-C)")
    .option("--detach-keys <keys>", "not supported: use --sig-proxy=false and Ctrl-C")
    .action(async (ref: string, opts: Record<string, unknown>) => {
      const engine = engineFor(opts);
      if (opts.detachKeys !== undefined) throw new BerthError("detach keys are not supported; attach with --sig-proxy=false and detach with Ctrl-C", { field: "--detach-keys" });
      const r = engine.store.resolve(ref);
      const live = liveStatus(engine, r);
      if (live.status !== "running" && live.status !== "paused") throw new BerthError(`cannot attach to a stopped container; start it first (berth start -a -i ${ref})`);
      const { exitCode } = await attachSession(engine, r, { stdin: opts.stdin !== false && r.Flags.interactive === true, stdinOnce: false, sigProxy: opts.sigProxy !== false, output: true });
      const code = await exitCode;
      if (code !== 0) throw new ExitError(code);
    });
}
