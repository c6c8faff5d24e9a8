/**
 * `berth run` and `berth create`: docker's, daemonless. create writes the record and the
 * bundle; run also starts it under its monitor and, unless -d, keeps it in the foreground
 * (attach.ts: its output as it comes, stdin with -i, this terminal with -t) and exits with
 * its code — one way for every run, so `logs` has a foreground container's output too.
 */
import type { Command } from "../command.ts";
import { ExitError } from "../exit.ts";
import { writeErr, writeOut } from "../stdio.ts";
import { createContainer, removeContainer, startContainer, type CreateResult } from "../../engine/container/lifecycle.ts";
import type { HeadStart } from "../../engine/container/head-start.ts";
import { ExitClaim } from "../../engine/container/monitor.ts";
import type { Engine } from "../../engine/container/engine.ts";
import { ContainerStartError } from "../../engine/container/oci-runtime.ts";
import { directoryRoot, imageRoot, unmountIfStopped } from "../../engine/container/root-source.ts";
import type { ContainerRecord } from "../../engine/container/records.ts";
import { ImageStore, type ImageRecord } from "../../engine/image/image-store.ts";
import { pullImage } from "../../engine/image/pull.ts";
import { parsePlatform } from "../../engine/image/platform.ts";
import { addRunOptions, runFlagsFrom, type RunOptions } from "./run-options.ts";
import { engineFor } from "./engine-open.ts";
import { DETACH_KEYS_OPTION, detachKeysOf, foreground, proxySignals } from "./attach.ts";

/**
 * docker's --pull: missing (the default) pulls an image that is not here, always pulls
 * first, never uses only what is here. Progress is not printed: run -d's stdout is the id.
 * The image found or pulled (undefined: not here, and --pull never) goes on to imageRoot,
 * so a run reads the image index once.
 */
async function pullIfNeeded(images: ImageStore, image: string, opts: RunOptions): Promise<ImageRecord | undefined> {
  const have = images.find(image);
  if (opts.pull === "never" || (have && opts.pull !== "always")) return have;
  if (!have) writeErr(`Unable to find image '${image}' locally\n`);
  return pullImage(images, image, { ...(opts.platform !== undefined && { platform: parsePlatform(opts.platform) }) });
}

/** Pull what --pull asks for, then write the record and the bundle (and, for a run, launch its monitor: `run`). */
async function create(engine: Engine, image: string, command: string[], opts: RunOptions, run?: { exitClaim: ExitClaim }): Promise<CreateResult> {
  const flags = runFlagsFrom(opts, command);
  let root;
  if (opts.rootfs) root = directoryRoot(image);
  else {
    const images = new ImageStore(engine.paths);
    root = imageRoot(engine, images, image, await pullIfNeeded(images, image, opts), opts.pull);
  }
  const created = createContainer(engine, flags, root, run);
  for (const w of created.warnings) writeErr(`WARNING: ${w}\n`);
  return created;
}

/** A failed start exits with docker's code for it (125, 126, 127) and the runtime's line. */
export function startOrExit(engine: Engine, id: string, exitClaim?: ExitClaim, headStart?: HeadStart): ContainerRecord {
  try {
    return startContainer(engine, id, exitClaim, headStart);
  } catch (err) {
    if (err instanceof ContainerStartError) throw new ExitError(err.exitCode, err.message);
    throw err;
  }
}

export function registerRun(program: Command): void {
  addRunOptions(program.command("run").argument("<image>", "image reference (or a directory with --rootfs)").argument("[command...]", "command and arguments")
    .description("create and start a container").passThroughOptions().option(...DETACH_KEYS_OPTION))
    .action(async (image: string, command: string[], opts: RunOptions) => {
      const engine = await engineFor(opts as Record<string, unknown>);
      const detachKeys = detachKeysOf(opts as Record<string, unknown>);
      // in the foreground this process records the exit (and removes a --rm container): no exit command starts;
      // with -d it is let go once started — until then it tells the monitor that this process lives (the head start's guard)
      const exitClaim = new ExitClaim();
      const { record: r, headStart } = await create(engine, image, command, opts, { exitClaim });
      // from the start on, a signal goes to the container (docker's sig-proxy; a terminal's keys go through it instead)
      if (!opts.detach && opts.tty !== true) proxySignals(engine, r);
      let started: ContainerRecord;
      try {
        started = startOrExit(engine, r.Id, exitClaim, headStart);
      } catch (err) {
        // a run that could not start leaves nothing behind: no record, monitor or cgroup
        removeContainer(engine, r.Id, { force: true, volumes: true });
        throw err;
      }
      if (opts.detach) {
        exitClaim.release();
        writeOut(`${r.Id}\n`);
        return;
      }
      const end = await foreground(engine, started, { stdin: opts.interactive === true, detachKeys, exitClaim });
      // detached: it runs on; its exit command records its end (and removes it with --rm, as for run -d --rm)
      if ("exitCode" in end && end.exitCode !== 0) throw new ExitError(end.exitCode);
    });
}

export function registerCreate(program: Command): void {
  addRunOptions(program.command("create").argument("<image>", "image reference (or a directory with --rootfs)").argument("[command...]", "command and arguments")
    .description("create a container without starting it").passThroughOptions())
    .action(async (image: string, command: string[], opts: RunOptions) => {
      const engine = await engineFor(opts as Record<string, unknown>);
      const { record } = await create(engine, image, command, opts);
      // docker's create mounts nothing: the root is mounted by what uses it (start, cp, export)
      unmountIfStopped(engine, record.Id);
      writeOut(`${record.Id}\n`);
    });
}
