/**
 * `berth run` and `berth create`: docker's, daemonless. create writes the record and the
 * bundle; run also starts it under its monitor and, unless -d, prints its output as it comes
 * and exits with its code. With -i or -t in the foreground the runtime runs the
 * container attached to this terminal directly (its output is then not in `logs`).
 */
import type { Command } from "../command.ts";
import { ExitError } from "../exit.ts";
import { writeErr, writeOut, writeRuns } from "../stdio.ts";
import { attachNetwork, cleanupContainer, createContainer, exitFileCode, liveStatus, releaseNetwork, removeContainer, runtimeOf, settle, startContainer } from "../../engine/container/lifecycle.ts";
import type { Engine } from "../../engine/container/engine.ts";
import { followLog, type LogPosition } from "../../engine/container/log-reader.ts";
import { LogParser, logRuns } from "../../engine/container/logs.ts";
import { ContainerStartError, exitCodeForRuntimeError } from "../../engine/container/oci-runtime.ts";
import { lastRuntimeError } from "../../runtime/log-record.ts";
import { readTextIfExists, unlinkPath, waitProcessEnd } from "../../sys/libc.ts";
import { directoryRoot, imageRoot } from "../../engine/container/root-source.ts";
import { liveStartTime } from "../../runtime/state.ts";
import type { ContainerRecord } from "../../engine/container/records.ts";
import { ImageStore } from "../../engine/image/image-store.ts";
import { pullImage } from "../../engine/image/pull.ts";
import { parsePlatform } from "../../engine/image/platform.ts";
import { addRunOptions, engineFor, runFlagsFrom, type RunOptions } from "./run-options.ts";

/**
 * docker's --pull: missing (the default) pulls an image that is not here, always pulls
 * first, never uses only what is here. Progress is not printed: run -d's stdout is the id.
 */
async function pullIfNeeded(engine: Engine, image: string, opts: RunOptions): Promise<void> {
  if (opts.rootfs || opts.pull === "never") return;
  const store = new ImageStore(engine.paths);
  const have = store.find(image);
  if (have && opts.pull !== "always") return;
  if (!have) writeErr(`Unable to find image '${image}' locally\n`);
  await pullImage(store, image, { ...(opts.platform !== undefined && { platform: parsePlatform(opts.platform) }) });
}

function create(engine: Engine, image: string, command: string[], opts: RunOptions): ContainerRecord {
  const flags = runFlagsFrom(opts, command);
  const root = opts.rootfs ? directoryRoot(image) : imageRoot(engine, image, opts.pull);
  const { record, warnings } = createContainer(engine, flags, root);
  for (const w of warnings) writeErr(`WARNING: ${w}\n`);
  return record;
}

/** A failed start exits with docker's code for it (125, 126, 127) and the runtime's line. */
export function startOrExit(engine: Engine, id: string): ContainerRecord {
  try {
    return startContainer(engine, id);
  } catch (err) {
    if (err instanceof ContainerStartError) throw new ExitError(err.exitCode, err.message);
    throw err;
  }
}

/** Print the container's output (from `from` in its log, else all of it) until it exits; its exit code. */
export async function attachOutput(engine: Engine, r: ContainerRecord, from?: LogPosition): Promise<number> {
  // the monitor ends once the exit is recorded: woken then, not at the next 25 ms poll
  const monitor = (engine.store.read(r.Id) ?? r).State.MonitorPid;
  const idle = async () => waitProcessEnd(monitor, 25);
  await followLog(r.LogPath, from, new LogParser(), (b) => writeRuns(logRuns(b)), () => exitFileCode(engine, r.Id) !== undefined || liveStatus(engine, engine.store.read(r.Id) ?? r).status === "exited", idle);
  return settledExitCode(engine, r.Id);
}

/** Once the container has ended: its exit code, after the exit command has recorded it. */
export async function settledExitCode(engine: Engine, id: string): Promise<number> {
  await settle(engine, id);
  return engine.store.read(id)?.State.ExitCode ?? exitFileCode(engine, id) ?? 0;
}

/** -i / -t in the foreground: the runtime's own `run`, on this terminal. */
async function runAttached(engine: Engine, r: ContainerRecord): Promise<number> {
  const runtime = runtimeOf(engine, r);
  const logFile = `${engine.store.runDir(r.Id)}/runtime.log`;
  try {
    unlinkPath(logFile); // a previous start's
  } catch {}
  engine.store.update(r.Id, (x) => {
    attachNetwork(engine, x);
    x.State = { ...x.State, Status: "running", MonitorPid: process.pid, MonitorStartTime: liveStartTime(process.pid), StartedAt: new Date().toISOString() };
  });
  let code = await runtime.foreground(["run", "--bundle", engine.store.dir(r.Id), r.Id], logFile, "inherit");
  // an error record in the runtime's log: the runtime failed (125, or 126/127 for the command); else the code is the container's
  const failure = code !== 0 ? lastRuntimeError(readTextIfExists(logFile) ?? "") : undefined;
  if (failure) code = exitCodeForRuntimeError(failure);
  engine.store.update(r.Id, (x) => {
    releaseNetwork(engine, x);
    x.State = { ...x.State, Status: "exited", ExitCode: code, FinishedAt: new Date().toISOString(), Pid: 0, ...(failure && { Error: failure.msg }) };
  });
  runtime.forceDelete(r.Id);
  return code;
}

export function registerRun(program: Command): void {
  addRunOptions(program.command("run").argument("<image>", "image reference (or a directory with --rootfs)").argument("[command...]", "command and arguments")
    .description("create and start a container").passThroughOptions())
    .action(async (image: string, command: string[], opts: RunOptions) => {
      const engine = engineFor(opts as Record<string, unknown>);
      await pullIfNeeded(engine, image, opts);
      const r = create(engine, image, command, opts);
      const attached = !opts.detach && (opts.interactive || opts.tty);
      if (!attached) {
        try {
          startOrExit(engine, r.Id);
        } catch (err) {
          // a run that could not start leaves nothing behind: no record, monitor or cgroup
          removeContainer(engine, r.Id, { force: true, volumes: true });
          throw err;
        }
      }
      if (opts.detach) {
        writeOut(`${r.Id}\n`);
        return;
      }
      const code = attached ? await runAttached(engine, r) : await attachOutput(engine, r);
      if (opts.rm) {
        cleanupContainer(engine, r.Id);
        removeContainer(engine, r.Id, { force: true, volumes: true });
      }
      if (code !== 0) throw new ExitError(code);
    });
}

export function registerCreate(program: Command): void {
  addRunOptions(program.command("create").argument("<image>", "image reference (or a directory with --rootfs)").argument("[command...]", "command and arguments")
    .description("create a container without starting it").passThroughOptions())
    .action(async (image: string, command: string[], opts: RunOptions) => {
      const engine = engineFor(opts as Record<string, unknown>);
      await pullIfNeeded(engine, image, opts);
      writeOut(`${create(engine, image, command, opts).Id}\n`);
    });
}
