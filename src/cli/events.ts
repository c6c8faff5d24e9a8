/**
 * `berth events [--filter KEY=VALUE…] [--format table|json]`: a stream of container
 * events — berth-runtime containers' create, start, pause, resume, exit (with the code
 * when it could be read), delete — and OOM kills in any cgroup on the host.
 */
import type { Command } from "./command.ts";
import { parseCount } from "../cgroups/units.ts";
import { BerthError } from "../errors.ts";
import { diffSnapshots, ExitCodes, formatEvent, matchesFilter, parseEventFilters } from "../observe/events.ts";
import { ENGINE_RECORDS, engineRecord } from "../observe/diagnose-gather.ts";
import { takeSnapshot } from "../observe/events-watch.ts";
import { KernelLogFollower } from "../observe/kmsg.ts";
import { BERTH_ROOT, berthEngineName } from "../observe/host-scan.ts";
import { writeErr, writeOut } from "./stdio.ts";
import { currentEnginePaths } from "./berth/globals.ts";

interface EventsFlags {
  filter: string[];
  format: string;
  interval: string;
  root: string;
  podmanEvents: string;
}

export function registerEvents(program: Command): void {
  program.command("events")
    .description("stream container events: berth containers' create/start/pause/resume/exit/delete, OOM kills in any cgroup")
    .option("-f, --filter <key=value>", "event=TYPE, container=ID|NAME, cgroup=PATH (repeatable)", (v: string, all: string[]) => [...all, v], [] as string[])
    .option("--format <format>", "table, or json (one object per line)", "table")
    .option("--interval <ms>", "how often to look", "200")
    .option("--root <dir>", "berth-runtime's state directory (the engine's own containers are watched from BERTH_RUNROOT)", BERTH_ROOT)
    .option("--podman-events <file>", "podman's events log (file backend), where the exit codes of the containers conmon reaped are", ENGINE_RECORDS.podmanEvents)
    .action(async (opts: EventsFlags) => {
      if (!["table", "json"].includes(opts.format)) throw new BerthError(`${JSON.stringify(opts.format)} is not a format; use table or json`, { field: "--format" });
      const intervalMs = parseCount(opts.interval, "--interval", { min: 10 });
      const engines = { ...ENGINE_RECORDS, podmanEvents: opts.podmanEvents, berth: currentEnginePaths() };
      const filter = parseEventFilters(opts.filter);
      // the kernel log from now on: its first read (what it already holds) is the look before
      const kernelLog = KernelLogFollower.open();
      let before = takeSnapshot({ root: opts.root, engines, ...(kernelLog && { kernelLog }) });
      // podman's conmon reaps the init: its died event has the code berth-runtime cannot read
      const codes = new ExitCodes((e) => (e.id === undefined ? undefined : engineRecord({ runtime: e.engine, id: e.id }, engines)?.exit?.code));
      // ready: what happens from now on is reported (tests and scripts wait for this line)
      writeErr("berth: watching for events\n");
      for (;;) {
        await Bun.sleep(intervalMs);
        const after = takeSnapshot({ root: opts.root, engines, ...(kernelLog && { kernelLog }) });
        for (const found of codes.push(diffSnapshots(before, after, new Date().toISOString()))) {
          // the engine's container by its name now: a rename since the last look shows on this event
          const name = found.engine === "berth" && found.id !== undefined ? berthEngineName(engines.berth, found.id) : undefined;
          const e = name ? { ...found, name } : found;
          if (matchesFilter(e, filter)) writeOut(`${opts.format === "json" ? JSON.stringify(e) : formatEvent(e)}\n`);
        }
        before = after;
      }
    });
}
