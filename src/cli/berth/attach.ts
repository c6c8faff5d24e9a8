/**
 * `berth attach [--no-stdin] [--sig-proxy=false] NAME` and the stdin of `start -a -i`:
 * this terminal joined to a running container through its monitor's attach socket
 * (engine/container/attach.ts). attach prints the output from now on (docker's attach
 * has no history: that is `logs`), sends stdin when the container was made with -i,
 * passes SIGINT/SIGTERM/… on to the container unless --sig-proxy=false (then Ctrl-C
 * leaves it running: the way to detach; --detach-keys is not supported), and exits with
 * the container's code when it ends.
 */
import type { Command } from "../command.ts";
import { BerthError } from "../../errors.ts";
import { ExitError } from "../exit.ts";
import { writeAll } from "../../sys/libc.ts";
import { attachContainer, type AttachConnection } from "../../engine/container/attach.ts";
import type { Engine } from "../../engine/container/engine.ts";
import { killContainer, liveStatus } from "../../engine/container/lifecycle.ts";
import type { ContainerRecord } from "../../engine/container/records.ts";
import { settledExitCode } from "./run.ts";
import { engineFor } from "./run-options.ts";

const PROXIED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;

/** Send this process's stdin to the container until it ends; then close the container's stdin when `once` (docker's StdinOnce). */
async function pumpStdin(conn: AttachConnection, once: boolean, tty: boolean): Promise<void> {
  const raw = tty && process.stdin.isTTY;
  if (raw) {
    process.stdin.setRawMode(true);
    const size = () => conn.resize(process.stdout.rows ?? 24, process.stdout.columns ?? 80);
    size();
    process.on("SIGWINCH", size);
  }
  try {
    for await (const chunk of Bun.stdin.stream()) conn.sendStdin(chunk);
    if (once) conn.closeStdin();
  } finally {
    if (raw) process.stdin.setRawMode(false);
  }
}

/** Signals to this process go to the container (its stop signal rules are the container's). */
function proxySignals(engine: Engine, r: ContainerRecord): void {
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
  const conn = await attachContainer(engine.store.runDir(r.Id), (stream, data) => {
    if (o.output) writeAll(stream, data);
  });
  const tty = r.Flags.tty === true;
  if (o.sigProxy && !tty) proxySignals(engine, r);
  if (o.stdin) void pumpStdin(conn, o.stdinOnce, tty);
  const exitCode = conn.closed.then(() => settledExitCode(engine, r.Id));
  return { conn, exitCode };
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
