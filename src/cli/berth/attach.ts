/**
 * `berth attach [--no-stdin] [--sig-proxy=false] NAME`, and the foreground of `run` and
 * `start -a -i`: this terminal joined to a container through its monitor's attach socket
 * (engine/container/attach.ts). attach prints the output from now on (docker's attach
 * has no history: that is `logs`), sends stdin when the container was made with -i,
 * passes SIGINT/SIGTERM/… on to the container unless --sig-proxy=false (then Ctrl-C
 * leaves it running), ends when the detach keys are typed (docker's ctrl-p,ctrl-q, or
 * --detach-keys; the container runs on), and exits with the container's code when it
 * ends. A foreground `run` or `start -a` prints the
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
import { cleanupContainer, killContainer, settle } from "../../engine/container/lifecycle.ts";
import { exitFileCode, liveStatus } from "../../engine/container/live-status.ts";
import type { ExitClaim } from "../../engine/container/monitor.ts";
import { followLog } from "../../engine/container/log-reader.ts";
import type { FilePosition } from "../../engine/line-follower.ts";
import { LogParser, logRuns } from "../../engine/container/logs.ts";
import { DEFAULT_DETACH_KEYS, DetachScanner, parseDetachKeys } from "../../engine/container/detach-keys.ts";
import type { ContainerRecord } from "../../engine/container/records.ts";
import { engineFor } from "./engine-open.ts";
import { recordContainerEvent } from "../../engine/event-journal.ts";

const PROXIED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;

/** The container's terminal takes this terminal's size, now and at each change (docker's MonitorTtySize). */
function followSize(conn: AttachConnection): void {
  if (!process.stdout.isTTY) return;
  const size = () => conn.resize(process.stdout.rows ?? 24, process.stdout.columns ?? 80);
  size();
  process.on("SIGWINCH", size);
}

/**
 * Send this process's stdin to the container until it ends, then close the container's
 * stdin when `once` (docker's StdinOnce) — or, with a terminal, until the detach keys
 * are typed: then the attachment ends and the container runs on (`detach` is called).
 */
async function pumpStdin(conn: AttachConnection, once: boolean, keys: DetachScanner | undefined, detach: () => void, restoreTerminal?: () => void): Promise<void> {
  try {
    for await (const chunk of Bun.stdin.stream()) {
      const { forward, detached } = keys ? keys.push(chunk) : { forward: chunk, detached: false };
      if (forward.length) conn.sendStdin(forward);
      if (detached) {
        conn.close();
        detach();
        return;
      }
    }
    if (once) conn.closeStdin();
  } finally {
    restoreTerminal?.();
  }
}

let proxying = false;

/**
 * Signals to this process go to the container (its stop signal rules are the container's).
 * Once per process: `run` calls it before the start, so that a signal that comes while the
 * container runs never finds berth without its handler (and ends berth instead).
 */
export function proxySignals(engine: Engine, r: ContainerRecord): void {
  if (proxying) return;
  proxying = true;
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

export interface AttachOptions {
  stdin: boolean;
  stdinOnce: boolean;
  sigProxy: boolean;
  output: boolean;
  /** the detach sequence (parseDetachKeys), watched for in stdin */
  detachKeys: Uint8Array;
  /** called when output comes through the socket (printed or not): the monitor has written it to the log by then */
  onOutput?: () => void;
}

/**
 * Join the running container: its output from the socket (or, with `output: false`, from
 * nowhere — the caller follows the log), stdin when asked. `exitCode()` resolves when the
 * monitor closes the socket (the container ended) with the container's exit code, once
 * its exit command has recorded it — asked for only by a caller that waits for that (a
 * foreground run records the exit itself, and the monitor waits for it meanwhile);
 * `detached` when the detach keys were typed (the container runs on).
 */
export async function attachSession(engine: Engine, r: ContainerRecord, o: AttachOptions): Promise<{ conn: AttachConnection; exitCode: () => Promise<number>; detached: Promise<void> }> {
  const tty = r.Flags.tty === true;
  // the keys go to the container's terminal as they are typed (^C too), and its output comes out as it is: raw
  // before anything is printed (put back when stdin ends, or when this process exits, however it exits)
  const restoreTerminal = tty && o.stdin ? makeRaw(0) : undefined;
  const conn = await attachContainer(engine.store.runDir(r.Id), (stream, data) => {
    if (o.output) writeAll(stream, data);
    o.onOutput?.();
  });
  recordContainerEvent(engine.paths, r, "attach");
  if (o.sigProxy && !tty) proxySignals(engine, r);
  if (tty) followSize(conn);
  let detach!: () => void;
  const detached = new Promise<void>((resolve) => (detach = resolve));
  // the keys are watched for on a terminal only, as docker's (a pipe's bytes go through untouched)
  if (o.stdin) void pumpStdin(conn, o.stdinOnce, tty ? new DetachScanner(o.detachKeys) : undefined, detach, restoreTerminal);
  const exitCode = () => conn.closed.then(() => settledExitCode(engine, r.Id, conn.exitCode()));
  return { conn, exitCode, detached };
}

/** A foreground's attach socket, as the log reader waits on it. */
interface ForegroundSession {
  ended: Promise<void>;
  detached: Promise<void>;
  /** resolves at the next output through the socket: it is in the log then (a terminal's echo shows at once, not at the next 25 ms look) */
  output: () => Promise<void>;
  exitCode: () => number | undefined;
}

/** What a foreground attachment ended with: the container's exit code, or the detach keys. */
export type AttachEnd = { exitCode: number } | { detached: true };

/**
 * Print the container's output (from `from` in its log, else all of it) until it exits
 * (its exit code) or `session` detaches. The session's socket close wakes it when the
 * container ends, while the event loop serves the socket and stdin meanwhile.
 */
export async function attachOutput(engine: Engine, r: ContainerRecord, from?: FilePosition, session?: ForegroundSession, exitClaim?: ExitClaim): Promise<AttachEnd> {
  // the monitor ends once the exit is recorded: woken then, not at the next 25 ms poll (a blocking wait: nothing else runs here)
  const monitor = (engine.store.read(r.Id) ?? r).State.MonitorPid;
  let detached = false;
  let closed = false;
  void session?.detached.then(() => (detached = true));
  void session?.ended.then(() => (closed = true));
  // once the socket is closed — the end, or the monitor dropped this client for reading too slowly while a slow stdout held
  // it up — the log is looked at every 25 ms, without waking at once forever
  const idle = session ? () => (closed ? Bun.sleep(25) : Promise.race([session.ended, session.detached, session.output(), Bun.sleep(25)])) : async () => waitProcessEnd(monitor, 25);
  const done = () => detached || exitFileCode(engine, r.Id) !== undefined || liveStatus(engine, engine.store.read(r.Id) ?? r).status === "exited";
  // each chunk as it comes, a line's end or not: a prompt that waits for input shows, and a last `printf abc` too
  await followLog(r.LogPath, from, new LogParser({ streamPartials: true }), (b) => writeRuns(logRuns(b)), done, idle);
  return detached ? { detached: true } : { exitCode: await settledExitCode(engine, r.Id, session?.exitCode(), exitClaim) };
}

/**
 * Once the container has ended: its exit code, after its exit is recorded — here, with
 * the exit claim (and a --rm container removed), else by the exit command.
 */
export async function settledExitCode(engine: Engine, id: string, sent?: number, exitClaim?: ExitClaim): Promise<number> {
  // the monitor's word (or the exit file, read first): the exit command of a --rm container detached from removes the record and the exit file
  const early = sent ?? exitFileCode(engine, id);
  if (exitClaim) return cleanupContainer(engine, id, exitClaim) ?? early ?? 0;
  await settle(engine, id);
  return engine.store.read(id)?.State.ExitCode ?? early ?? exitFileCode(engine, id) ?? 0;
}

/**
 * A started container in the foreground — `run` without -d, `start -a [-i]`: its output
 * from the log (from `from`), stdin through the attach socket with -i (closed when ours
 * ends: docker's StdinOnce), this terminal raw and its size passed on with -t, signals
 * passed on without -t. Its exit code. With `exitClaim` (given to the container's start)
 * this process records the exit, in the exit command's place.
 */
export async function foreground(engine: Engine, r: ContainerRecord, o: { stdin: boolean; from?: FilePosition; detachKeys: Uint8Array; exitClaim?: ExitClaim }): Promise<AttachEnd> {
  let session: ForegroundSession | undefined;
  let wake = () => {};
  let next = new Promise<void>((resolve) => (wake = resolve));
  const onOutput = () => {
    wake();
    next = new Promise<void>((resolve) => (wake = resolve));
  };
  // ended already — a short command such as `true` often has, by the time it is recorded as started: there is
  // nothing to send it or to wait for, and its output is in the log (no connection to make)
  if (exitFileCode(engine, r.Id) === undefined) {
    try {
      // the socket also tells when output came and when it ended (the monitor closes it then), without blocking the loop that serves stdin and signals
      const s = await attachSession(engine, r, { stdin: o.stdin, stdinOnce: true, sigProxy: true, output: false, detachKeys: o.detachKeys, onOutput });
      session = { ended: s.conn.closed, detached: s.detached, output: () => next, exitCode: s.conn.exitCode };
    } catch (err) {
      // ended meanwhile (its monitor removed the socket): the same
      if (liveStatus(engine, engine.store.read(r.Id) ?? r).status === "running") throw err;
    }
  }
  // ended before a session: its terminal's output (\r\n already) still goes out as it is, raw as a session makes it —
  // a cooked terminal would turn each \n into \r\n once more
  const restoreTerminal = !session && r.Flags.tty === true && o.stdin ? makeRaw(0) : undefined;
  let end: AttachEnd;
  try {
    end = await attachOutput(engine, engine.store.read(r.Id) ?? r, o.from, session, o.exitClaim);
  } finally {
    restoreTerminal?.();
  }
  // detached: the container runs on, and its exit command records its end (and removes it with --rm)
  o.exitClaim?.release();
  return end;
}

/** docker's `--detach-keys` option, for run, start and attach. */
export const DETACH_KEYS_OPTION = ["--detach-keys <keys>", `the keys that detach stdin, leaving the container running: comma-separated, each a character, ctrl-<a-z @ [ \\ ] ^ _> or DEL (default ${DEFAULT_DETACH_KEYS})`] as const;

/** The detach sequence `--detach-keys` asks for (docker's default without it); a bad one is refused before anything is done. */
export const detachKeysOf = (opts: { detachKeys?: unknown }): Uint8Array => parseDetachKeys(opts.detachKeys === undefined ? DEFAULT_DETACH_KEYS : String(opts.detachKeys));

export function registerAttach(program: Command): void {
  program.command("attach").argument("<container>", "name or id").description("attach this terminal to a running container's output (and stdin, if it was made with -i)")
    .option("--no-stdin", "do not send stdin")
    .option("--sig-proxy", "pass signals to the container (default true; --sig-proxy=false to detach with Ctrl-C)")
    .option(...DETACH_KEYS_OPTION)
    .action(async (ref: string, opts: Record<string, unknown>) => {
      const engine = await engineFor(opts);
      const detachKeys = detachKeysOf(opts);
      const r = engine.store.resolve(ref);
      const live = liveStatus(engine, r);
      if (live.status !== "running" && live.status !== "paused") throw new BerthError(`cannot attach to a stopped container; start it first (berth start -a -i ${ref})`);
      const { exitCode, detached } = await attachSession(engine, r, { stdin: opts.stdin !== false && r.Flags.interactive === true, stdinOnce: false, sigProxy: opts.sigProxy !== false, output: true, detachKeys });
      // detached: the container runs on, and attach exits 0 (docker's)
      const code = await Promise.race([exitCode(), detached.then(() => 0)]);
      if (code !== 0) throw new ExitError(code);
    });
}
