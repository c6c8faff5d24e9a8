/**
 * `berth stats [TARGET…]`: docker's stats table for any container on the host, plus
 * throttling, pressure and OOM kills. Without targets: every running container discovery
 * finds (re-scanned each refresh, so new ones appear).
 */
import type { Command } from "./command.ts";
import { parseCount } from "../cgroups/units.ts";
import { containerSubject, type Subject } from "../observe/discovery.ts";
import { BERTH_ROOT, resolveOnHost, scanHost, stoppedEngineSubjects } from "../observe/host-scan.ts";
import { DEFAULT_STATS_FORMAT, STATS_HEADINGS, statsFields, WIDE_STATS_FORMAT, type StatsRecord } from "../observe/stats.ts";
import { STATS_JSON, STATS_TABLE, StatsSampler } from "../observe/stats-sample.ts";
import { alignColumns, parseTemplate } from "../observe/template.ts";
import { cgroupPathFromArg } from "./cgroup/target.ts";
import { writeOut } from "./stdio.ts";
import { currentEnginePaths } from "./berth/globals.ts";

interface StatsFlags {
  all?: boolean;
  stream: boolean;
  format: string;
  interval: string;
  trunc: boolean;
  root: string;
}

export function registerStats(program: Command): void {
  program.command("stats").argument("[targets...]", "container ids or names, PIDs or cgroup paths (default: every running container)")
    .description("CPU, memory, network, block I/O, pids, throttling, pressure and OOM kills of containers, refreshed in place")
    .option("-a, --all", "also show containers with no process: the engine's created and exited ones (zeros, as docker), and cgroups found empty")
    .option("--no-stream", "print one sample (taken over --interval) and exit")
    .option("--format <format>", "table (docker's columns), wide (also throttling, pressure, OOM kills), json (one object per line per container), or a template such as 'table {{.Name}}\\t{{.ThrottledPerc}}'", "table")
    .option("--interval <ms>", "the sample window and refresh period; 0 with --no-stream: averages since each container started, without waiting", "1000")
    .option("--no-trunc", "show whole container ids")
    .option("--root <dir>", "berth-runtime's state directory, where berth-runtime container ids come from (the engine's own containers are found from BERTH_RUNROOT)", BERTH_ROOT)
    .action(async (targets: string[], opts: StatsFlags) => {
      const intervalMs = parseCount(opts.interval, "--interval", { min: opts.stream ? 10 : 0 });
      // an empty --format is none given, as docker's
      const format = opts.format || "table";
      const json = format === "json";
      const named: Record<string, string> = { table: DEFAULT_STATS_FORMAT, wide: WIDE_STATS_FORMAT };
      const template = json ? undefined : parseTemplate(named[format] ?? format, Object.keys(STATS_HEADINGS));
      const pick = (): Subject[] => {
        const host = scanHost({ root: opts.root, engine: currentEnginePaths(), all: opts.all });
        // the engine's stopped container is a row of zeros, as docker's (not top's "is not running")
        if (targets.length > 0) return targets.map((t) => resolveOnHost(t, host, { cgroupPath: cgroupPathFromArg, stopped: true }));
        const live = host.containers.filter((c) => opts.all || c.pids.length > 0).map((c) => containerSubject(c));
        return opts.all ? [...live, ...stoppedEngineSubjects(host.engine, new Set(host.containers.map((c) => c.id)))] : live;
      };
      const render = (records: StatsRecord[]): string => {
        if (!template) return records.map((r) => JSON.stringify(r)).join("\n");
        const rows = records.map((r) => template.render(statsFields(r, { noTrunc: !opts.trunc }), r));
        return template.table ? alignColumns([template.header(STATS_HEADINGS), ...rows]) : rows.join("\n");
      };
      // the limits and peak only records printed whole show: four files per container fewer for a table
      const sampler = new StatsSampler(json || template?.json ? STATS_JSON : STATS_TABLE);
      let subjects = pick();
      if (intervalMs === 0) {
        const text = render(sampler.sinceStart(subjects));
        if (text !== "") writeOut(`${text}\n`);
        return;
      }
      sampler.sample(subjects);
      for (;;) {
        await Bun.sleep(intervalMs);
        const text = render(sampler.sample(subjects));
        if (!opts.stream) {
          if (text !== "") writeOut(`${text}\n`);
          return;
        }
        // In place on a terminal (home, clear); elsewhere one block per sample, as docker does.
        if (process.stdout.isTTY && !json) writeOut(`\x1b[H\x1b[2J${text}\n`);
        else if (text !== "") writeOut(`${text}\n`);
        // looked for again each time: new containers appear, and a named one that started or stopped shows as it is now
        subjects = pick();
      }
    });
}
