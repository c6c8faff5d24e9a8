/**
 * `berth events [--filter KEY=VALUE…] [--format table|json]`: a stream of container
 * events — berth-runtime containers' create, start, pause, resume, exit (with the code
 * when it could be read), delete — and OOM kills in any cgroup on the host.
 */
import type { Command } from "./command.ts";
import { parseCount } from "../cgroups/units.ts";
import { diffSnapshots, ExitCodes, formatEvent, matchesFilter, parseEventFilters, type HostEvent } from "../observe/events.ts";
import { parseLogTime } from "../engine/container/logs.ts";
import { renderGoTemplate } from "../observe/template.ts";
import { ENGINE_RECORDS, engineRecord } from "../observe/diagnose-gather.ts";
import { takeSnapshot } from "../observe/events-watch.ts";
import { KernelLogFollower } from "../observe/kmsg.ts";
import { BERTH_ROOT, berthEngineName } from "../observe/host-scan.ts";
import { writeErr, writeOut } from "./stdio.ts";
import { currentEnginePaths } from "./berth/globals.ts";

interface EventsFlags {
  until?: string;
  filter: string[];
  format: string;
  interval: string;
  root: string;
  podmanEvents: string;
}

export function registerEvents(program: Command): void {
  program.command("events")
    .description("stream container events: berth containers' create/start/pause/resume/exit/delete, OOM kills in any cgroup")
    .option("-f, --filter <key=value>", "event=TYPE (docker's die, destroy, unpause too), type=container, container=ID|NAME, cgroup=PATH (repeatable)", (v: string, all: string[]) => [...all, v], [] as string[])
    .option("--format <format>", "table, json (one object per line), or a Go template over those objects such as '{{.type}} {{.name}}'", "table")
    .option("--until <time>", "stop at this time: RFC 3339 or Unix seconds (events are watched from now: there is no --since)")
    .option("--interval <ms>", "how often to look", "200")
    .option("--root <dir>", "berth-runtime's state directory (the engine's own containers are watched from BERTH_RUNROOT)", BERTH_ROOT)
    .option("--podman-events <file>", "podman's events log (file backend), where the exit codes of the containers conmon reaped are", ENGINE_RECORDS.podmanEvents)
    .action(async (opts: EventsFlags) => {
      const format = opts.format;
      // a template is checked before anything is watched: a bad one is one line, at once
      if (format !== "table" && format !== "json") renderGoTemplate(format, {});
      const untilMs = opts.until === undefined ? undefined : parseLogTime(opts.until, "--until", Date.now());
      const line = (e: HostEvent) => (format === "json" ? JSON.stringify(e) : format === "table" ? formatEvent(e) : renderGoTemplate(format, e));
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
        if (untilMs !== undefined && Date.now() >= untilMs) return;
        await Bun.sleep(untilMs === undefined ? intervalMs : Math.max(0, Math.min(intervalMs, untilMs - Date.now())));
        const after = takeSnapshot({ root: opts.root, engines, ...(kernelLog && { kernelLog }) });
        for (const found of codes.push(diffSnapshots(before, after, new Date().toISOString()))) {
          // the engine's container by its name now: a rename since the last look shows on this event
          const name = found.engine === "berth" && found.id !== undefined ? berthEngineName(engines.berth, found.id) : undefined;
          const e = name ? { ...found, name } : found;
          if (matchesFilter(e, filter)) writeOut(`${line(e)}\n`);
        }
        before = after;
      }
    });
}
