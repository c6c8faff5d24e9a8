/**
 * `berth events [--since T] [--until T] [--filter KEY=VALUE…] [--format table|json]`: a
 * stream of events — the engine's own (docker's: create, start, kill, die, stop, destroy,
 * rename, exec_…, volume and network create/destroy), from its journal, replayed from
 * `--since`; berth-runtime containers' create, start, pause, resume, exit, delete as
 * they happen; and OOM kills in any cgroup on the host.
 */
import type { Command } from "./command.ts";
import { parseCount } from "../cgroups/units.ts";
import { diffSnapshots, EVENT_SHAPE, ExitCodes, formatEvent, fromJournal, matchesFilter, parseEventFilters, type HostEvent } from "../observe/events.ts";
import { JournalReader } from "../engine/event-journal.ts";
import { parseLogTime } from "../engine/container/logs.ts";
import { compileGoTemplate } from "../observe/template.ts";
import { ENGINE_RECORDS, engineRecord, keepsExitRecords } from "../observe/diagnose-gather.ts";
import { takeSnapshot } from "../observe/events-watch.ts";
import { KernelLogFollower } from "../observe/kmsg.ts";
import { BERTH_ROOT, berthEngineName } from "../observe/host-scan.ts";
import { writeErr, writeOut } from "./stdio.ts";
import { currentEnginePaths } from "./berth/globals.ts";

interface EventsFlags {
  since?: string;
  until?: string;
  filter: string[];
  format: string;
  interval: string;
  root: string;
  podmanEvents: string;
}

export function registerEvents(program: Command): void {
  program.command("events")
    .description("stream events: the engine's containers, volumes and networks (docker's, replayed from --since), berth-runtime containers' create/start/pause/resume/exit/delete, OOM kills in any cgroup")
    .option("-f, --filter <key=value>", "event=TYPE (docker's die, destroy, unpause too), type=container, container=ID|NAME, cgroup=PATH (repeatable)", (v: string, all: string[]) => [...all, v], [] as string[])
    .option("--format <format>", "table, json (one object per line), or a Go template over those objects such as '{{.type}} {{.name}}'", "table")
    .option("--since <time>", "first the engine's events from this time on (its journal): RFC 3339, Unix seconds, or a duration ago such as 10m")
    .option("--until <time>", "stop at this time (a past one: replay --since … and exit): RFC 3339, Unix seconds, or a duration ago")
    .option("--interval <ms>", "how often to look", "200")
    .option("--root <dir>", "berth-runtime's state directory (the engine's own containers are watched from BERTH_RUNROOT)", BERTH_ROOT)
    .option("--podman-events <file>", "podman's events log (file backend), where the exit codes of the containers conmon reaped are", ENGINE_RECORDS.podmanEvents)
    .action(async (opts: EventsFlags) => {
      // an empty --format is none given, as docker's
      const format = opts.format || "table";
      // a template is checked before anything is watched, its fields too (over an event with none set): a bad one is one line, at once
      const template = format === "table" || format === "json" ? undefined : compileGoTemplate(format);
      template?.render({ time: "", type: "" }, EVENT_SHAPE);
      const startedMs = Date.now();
      const sinceMs = opts.since === undefined ? undefined : parseLogTime(opts.since, "--since", startedMs);
      const untilMs = opts.until === undefined ? undefined : parseLogTime(opts.until, "--until", startedMs);
      const line = (e: HostEvent) => (format === "json" ? JSON.stringify(e) : format === "table" ? formatEvent(e) : template!.render(e, EVENT_SHAPE));
      const intervalMs = parseCount(opts.interval, "--interval", { min: 10 });
      const engines = { ...ENGINE_RECORDS, podmanEvents: opts.podmanEvents, berth: currentEnginePaths() };
      const filter = parseEventFilters(opts.filter);
      const print = (e: HostEvent) => {
        if (matchesFilter(e, filter)) writeOut(`${line(e)}\n`);
      };
      // the engine's journal: from its start with --since (what is older is left out), else from now on
      const journal = new JournalReader(engines.berth, sinceMs !== undefined);
      if (sinceMs !== undefined) {
        for (const e of journal.next().map(fromJournal)) {
          const ms = Date.parse(e.time);
          if (ms >= sinceMs && (untilMs === undefined || ms <= untilMs)) print(e);
        }
        // all in the past: docker's replay, then the end
        if (untilMs !== undefined && untilMs <= startedMs) return;
      }
      // the kernel log from now on: its first read (what it already holds) is the look before
      const kernelLog = KernelLogFollower.open();
      let before = takeSnapshot({ root: opts.root, engines, ...(kernelLog && { kernelLog }) });
      // podman's conmon reaps the init: its died event has the code berth-runtime cannot read
      const codes = new ExitCodes((e) => (e.id === undefined || !keepsExitRecords(e.engine, engines) ? null : engineRecord({ runtime: e.engine, id: e.id }, engines)?.exit?.code));
      const printFound = (found: HostEvent) => {
        // the engine's container by its name now: a rename since the last look shows on this event
        const name = found.engine === "berth" && found.id !== undefined ? berthEngineName(engines.berth, found.id) : undefined;
        print(name ? { ...found, name } : found);
      };
      // ready: what happens from now on is reported (tests and scripts wait for this line)
      writeErr("berth: watching for events\n");
      for (;;) {
        if (untilMs !== undefined && Date.now() >= untilMs) {
          // the exits still waiting for their engine's code: the stream ends, they are not lost
          for (const held of codes.flush()) printFound(held);
          return;
        }
        await Bun.sleep(untilMs === undefined ? intervalMs : Math.max(0, Math.min(intervalMs, untilMs - Date.now())));
        // the engine's own, as its commands wrote them; an OOM kill is told below as the kernel logs it
        // (the journal's oom, written when the exit is recorded, is for --since)
        for (const e of journal.next()) if (e.Action !== "oom" && (untilMs === undefined || e.timeNano / 1e6 <= untilMs)) print(fromJournal(e));
        const after = takeSnapshot({ root: opts.root, engines, ...(kernelLog && { kernelLog }) });
        const now = Date.now();
        for (const found of codes.push(diffSnapshots(before, after, new Date(now).toISOString()), now)) printFound(found);
        before = after;
      }
    });
}
