/**
 * The verbs that act on existing containers, each docker's: start [-a -i], stop [-t],
 * restart [-t], kill [-s], pause, unpause, wait, rm [-f -v], rename, and `container
 * cleanup` (the monitor's exit command), `container prune`. Each takes names, ids or id
 * prefixes; like docker, a verb over several containers prints each one done and
 * reports the ones that failed, exiting 1 if any did.
 */
import { collect, type Command } from "../command.ts";
import { BerthError } from "../../errors.ts";
import { ExitError } from "../exit.ts";
import { writeErr, writeOut } from "../stdio.ts";
import { checkName, UnreadableRecord } from "../../engine/container/records.ts";
import { runtimeOf } from "../../engine/container/oci-runtime.ts";
import { cleanupContainer, removeDeadCreate, removeUnreadable, removeUnrecorded, updateContainer, type UpdateFlags, killContainer, removeContainer, settle, stopContainer, waitContainer } from "../../engine/container/lifecycle.ts";
import { liveStatus } from "../../engine/container/live-status.ts";
import { ExitClaim } from "../../engine/container/monitor.ts";
import { monitorFiles } from "../../engine/container/monitor-files.ts";
import { startOrExit } from "./run.ts";
import { DETACH_KEYS_OPTION, detachKeysOf, foreground } from "./attach.ts";
import { fileEnd } from "../../engine/line-follower.ts";
import { engineFor } from "./engine-open.ts";
import { parseStopTimeout } from "../../engine/container/run-flags.ts";
import { parseSignal } from "../../signals.ts";
import { confirmPrune, formatPruneReport, parsePruneFilters } from "../../engine/container/views.ts";
import { pruneContainers } from "../../engine/prune.ts";
import { formatDecimalBytes } from "../../cgroups/units.ts";
import { recordContainerEvent } from "../../engine/event-journal.ts";

type Opts = Record<string, unknown>;

/** Run `fn` for each ref; print each ref done (docker prints what was given), collect failures. */
async function eachContainer(refs: string[], fn: (ref: string) => unknown | Promise<unknown>, echo = true): Promise<void> {
  let failed = 0;
  for (const ref of refs) {
    try {
      await fn(ref);
      if (echo) writeOut(`${ref}\n`);
    } catch (err) {
      if (refs.length === 1) throw err;
      if (err instanceof ExitError) writeErr(`berth: ${err.message}\n`);
      else writeErr(`berth: ${(err as Error).message}\n`);
      failed++;
    }
  }
  if (failed) throw new ExitError(1);
}

function timeoutOf(opts: Opts): number | undefined {
  if (opts.time === undefined) return undefined;
  return parseStopTimeout(String(opts.time), "--time");
}

/** stop/restart `-s/--signal` (docker 23's): the signal to send instead of the container's stop signal. */
function stopSignalFlag(opts: Opts): number | undefined {
  return opts.signal === undefined ? undefined : parseSignal(String(opts.signal), "--signal");
}

const STOP_SIGNAL_OPTION = ["-s, --signal <signal>", "the signal to send first (default: the container's --stop-signal, the image's StopSignal, else SIGTERM)"] as const;

export function registerStart(program: Command): void {
  program.command("start").argument("<containers...>", "names or ids").description("start created or stopped containers")
    .option("-a, --attach", "print the container's output and exit with its code")
    .option("-i, --interactive", "send stdin to the container (made with -i); it is closed when stdin ends")
    .option(...DETACH_KEYS_OPTION)
    .action(async (refs: string[], opts: Opts) => {
      const engine = await engineFor(opts);
      const detachKeys = detachKeysOf(opts);
      if (opts.attach || opts.interactive) {
        if (refs.length !== 1) throw new BerthError("attach to one container at a time", { field: opts.attach ? "--attach" : "--interactive" });
        const r = engine.store.resolve(refs[0]!);
        if (opts.interactive && r.Flags.interactive !== true) throw new BerthError(`container ${refs[0]} was not made with -i: it has no stdin to send to; create it with -i`, { field: "--interactive" });
        const from = fileEnd(r.LogPath); // a container started again: only this run's output, as docker's
        // this process records the exit (and removes a --rm container), in the exit command's place
        const exitClaim = new ExitClaim();
        const end = await foreground(engine, startOrExit(engine, r.Id, exitClaim), { stdin: opts.interactive === true, from, detachKeys, exitClaim });
        // detached: the container runs on, and start exits 0
        if ("exitCode" in end && end.exitCode !== 0) throw new ExitError(end.exitCode);
        return;
      }
      await eachContainer(refs, (ref) => startOrExit(engine, engine.store.resolve(ref).Id));
    });
}

export function registerStop(program: Command): void {
  program.command("stop").argument("<containers...>", "names or ids").description("stop containers: the stop signal, then SIGKILL after the timeout")
    .option("-t, --time <seconds>", "seconds to wait before killing (default: the container's --stop-timeout, else 10)")
    .option(...STOP_SIGNAL_OPTION)
    .action(async (refs: string[], opts: Opts) => {
      const engine = await engineFor(opts);
      const t = timeoutOf(opts);
      const signal = stopSignalFlag(opts);
      await eachContainer(refs, (ref) => stopContainer(engine, engine.store.resolve(ref).Id, t, signal));
    });
}

export function registerRestart(program: Command): void {
  program.command("restart").argument("<containers...>", "names or ids").description("stop, then start containers")
    .option("-t, --time <seconds>", "seconds to wait before killing")
    .option(...STOP_SIGNAL_OPTION)
    .action(async (refs: string[], opts: Opts) => {
      const engine = await engineFor(opts);
      const t = timeoutOf(opts);
      const signal = stopSignalFlag(opts);
      await eachContainer(refs, async (ref) => {
        const id = engine.store.resolve(ref).Id;
        await stopContainer(engine, id, t, signal);
        recordContainerEvent(engine.paths, startOrExit(engine, id), "restart");
      });
    });
}

export function registerKill(program: Command): void {
  program.command("kill").argument("<containers...>", "names or ids").description("send a signal to containers' main process")
    .option("-s, --signal <signal>", "signal name or number", "KILL")
    .action(async (refs: string[], opts: Opts) => {
      const engine = await engineFor(opts);
      const sig = String(opts.signal);
      parseSignal(sig, "--signal");
      await eachContainer(refs, (ref) => killContainer(engine, engine.store.resolve(ref), sig));
    });
}

function pauseVerb(program: Command, name: "pause" | "unpause"): void {
  program.command(name).argument("<containers...>", "names or ids").description(name === "pause" ? "freeze all processes of containers" : "thaw paused containers")
    .action(async (refs: string[], opts: Opts) => {
      const engine = await engineFor(opts);
      await eachContainer(refs, (ref) => {
        const r = engine.store.resolve(ref);
        engine.store.locked(r.Id, (x) => {
          const live = liveStatus(engine, x);
          if (name === "pause" && live.status !== "running") throw new BerthError(`container ${x.Id} is not running`);
          if (name === "unpause" && live.status !== "paused") throw new BerthError(`container ${x.Id} is not paused`);
          runtimeOf(engine, x).check([name === "pause" ? "pause" : "resume", x.Id], monitorFiles(engine.store.runDir(x.Id)).runtimeLog);
          x.State.Status = name === "pause" ? "paused" : "running";
          engine.store.write(x);
          recordContainerEvent(engine.paths, x, name);
        });
      });
    });
}

export function registerPause(program: Command): void {
  pauseVerb(program, "pause");
}

export function registerUnpause(program: Command): void {
  pauseVerb(program, "unpause");
}

export function registerWait(program: Command): void {
  program.command("wait").argument("<containers...>", "names or ids").description("wait until containers stop, then print their exit codes")
    .action(async (refs: string[], opts: Opts) => {
      const engine = await engineFor(opts);
      await eachContainer(refs, async (ref) => {
        const id = engine.store.resolve(ref).Id;
        const code = await waitContainer(engine, id);
        await settle(engine, id);
        writeOut(`${engine.store.read(id)?.State.ExitCode ?? code}\n`);
      }, false);
    });
}

export function registerRm(program: Command): void {
  program.command("rm").argument("<containers...>", "names or ids").description("remove containers")
    .option("-f, --force", "kill a running container first")
    .option("-v, --volumes", "remove its anonymous volumes too")
    .action(async (refs: string[], opts: Opts) => {
      const engine = await engineFor(opts);
      await eachContainer(refs, (ref) => {
        try {
          removeContainer(engine, engine.store.resolve(ref).Id, { force: opts.force === true, volumes: opts.volumes === true });
        } catch (err) {
          if (!(err instanceof UnreadableRecord) || !opts.force) throw err;
          // no record to go by: what the runtime holds of that id, and its directories
          removeUnreadable(engine, err.id);
        }
      });
    });
}

export function registerRename(program: Command): void {
  program.command("rename").argument("<container>", "name or id").argument("<new-name>", "its new name").description("rename a container")
    .action(async (ref: string, newName: string, opts: Opts) => {
      const engine = await engineFor(opts);
      const name = checkName(newName);
      const r = engine.store.resolve(ref);
      engine.store.claimName(name, r.Id, true, (holder) => removeDeadCreate(engine, holder));
      try {
        engine.store.update(r.Id, (x) => {
          x.Name = name;
        });
      } catch (err) {
        engine.store.releaseName(name, r.Id);
        throw err;
      }
      engine.store.releaseName(r.Name, r.Id);
      // docker's oldName keeps its leading slash
      recordContainerEvent(engine.paths, { ...r, Name: name }, "rename", { oldName: `/${r.Name.replace(/^\//, "")}` });
    });
}

export function registerContainer(program: Command): void {
  const c = program.command("container").description("manage containers (docker's `container ls`, `rm`, `stop`, … are berth's ps, rm, stop, …)");
  c.command("cleanup").argument("<id>", "container id").description("record a container's exit (the monitor's exit command)")
    .action(async (id: string, opts: Opts) => {
      const engine = await engineFor(opts);
      if (engine.store.read(id)) cleanupContainer(engine, id);
      else removeUnrecorded(engine, id);
    });
  c.command("prune").description("remove all stopped containers")
    .option("-f, --force", "remove without asking (needed: berth does not prompt)")
    .option("--filter <k=v>", "until=TIME (created before), label=KEY[=VALUE], label!=KEY[=VALUE]", collect)
    .action(async (opts: Opts) => {
      const filter = parsePruneFilters((opts.filter as string[] | undefined) ?? [], Date.now());
      confirmPrune(opts.force, ["all stopped containers"]);
      const engine = await engineFor(opts);
      const { removed, reclaimed } = pruneContainers(engine, filter);
      writeOut(formatPruneReport([["Containers", removed]], formatDecimalBytes(reclaimed)));
    });
}

export function registerUpdate(program: Command): void {
  program.command("update").argument("<containers...>", "names or ids").description("change the limits (or restart policy) of containers, running or not")
    .option("--cpus <n>", "CPU limit").option("-c, --cpu-shares <n>", "relative CPU weight").option("--cpu-period <us>", "CFS period").option("--cpu-quota <us>", "CFS quota")
    .option("--cpuset-cpus <list>", "CPUs to run on").option("--cpuset-mems <list>", "memory nodes").option("-m, --memory <size>", "memory limit")
    .option("--memory-swap <size>", "memory plus swap (-1: unlimited)").option("--memory-reservation <size>", "soft memory limit")
    .option("--pids-limit <n>", "maximum number of tasks").option("--blkio-weight <n>", "I/O weight").option("--restart <policy>", "no, on-failure[:N], always, unless-stopped")
    .action(async (refs: string[], opts: Opts) => {
      const engine = await engineFor(opts);
      const keys = ["cpus", "cpuShares", "cpuPeriod", "cpuQuota", "cpusetCpus", "cpusetMems", "memory", "memorySwap", "memoryReservation", "pidsLimit", "blkioWeight", "restart"] as const;
      const flags = Object.fromEntries(keys.filter((k) => opts[k] !== undefined).map((k) => [k, String(opts[k])])) as UpdateFlags;
      if (Object.keys(flags).length === 0) throw new BerthError("nothing to update; give at least one flag such as --memory or --cpus", { field: "update" });
      if (flags.restart !== undefined && !/^(no|always|unless-stopped|on-failure(:\d+)?)$/.test(flags.restart)) throw new BerthError(`invalid restart policy ${JSON.stringify(flags.restart)}; use no, on-failure[:N], always or unless-stopped`, { field: "--restart" });
      await eachContainer(refs, (ref) => {
        for (const w of updateContainer(engine, engine.store.resolve(ref).Id, flags)) writeErr(`WARNING: ${w}\n`);
      });
    });
}
