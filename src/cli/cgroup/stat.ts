/** `berth cgroup stat PATH [--watch] [--json]`: what the cgroup uses, and what the kernel did about it. */
import type { Command } from "../command.ts";
import { parseCount } from "../../cgroups/units.ts";
import { formatStats } from "./stat-view.ts";
import { openTarget, requireExisting } from "./target.ts";
import { writeErr, writeOut } from "../stdio.ts";

export function registerStat(group: Command): void {
  group.command("stat").argument("<path>", "cgroup path")
    .description("show usage, limits, throttling, memory events and pressure of a cgroup")
    .option("-w, --watch", "refresh until interrupted (in place on a terminal)")
    .option("--interval <ms>", "refresh interval for --watch", "1000")
    .option("--json", "print the stats as JSON (one object per sample)")
    .action(async (path: string, opts: { watch?: boolean; interval: string; json?: boolean }) => {
      const intervalMs = parseCount(opts.interval, "--interval", { min: 100 });
      const cg = openTarget(path);
      requireExisting(cg, path);
      const show = (text: string) => {
        if (opts.watch && process.stdout.isTTY) writeOut(`\x1b[H\x1b[2J${text}\n`);
        else writeOut(`${text}\n${opts.watch && !opts.json ? "\n" : ""}`);
      };
      let previous = cg.stats();
      show(opts.json ? JSON.stringify(previous) : formatStats(cg.path, previous));
      if (!opts.watch) return;
      for (;;) {
        await Bun.sleep(intervalMs);
        if (!cg.exists()) {
          writeErr(`berth: cgroup ${cg.path} was removed\n`);
          return;
        }
        const now = cg.stats();
        show(opts.json ? JSON.stringify(now) : formatStats(cg.path, now, { previous, intervalMs }));
        previous = now;
      }
    });
}
