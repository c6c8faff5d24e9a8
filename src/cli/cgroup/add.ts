/** `berth cgroup add PATH PID`: move a process (all its threads) into the cgroup. */
import type { Command } from "../command.ts";
import { parseCount } from "../../cgroups/units.ts";
import { openForChange, requireExisting } from "./target.ts";
import { writeOut } from "../stdio.ts";

export function registerAdd(group: Command): void {
  group.command("add").argument("<path>", "cgroup path").argument("<pid>", "process id")
    .description("move a process into the cgroup (every hierarchy)")
    .option("-q, --quiet", "do not print what was written")
    .action((path: string, pidArg: string, opts: { quiet?: boolean }) => {
      const pid = parseCount(pidArg, "PID", { min: 1 });
      const cg = openForChange(path, "change");
      requireExisting(cg, path);
      cg.addProcess(pid);
      if (!opts.quiet) for (const dir of Object.values(cg.dirs())) writeOut(`wrote "${pid}" to ${dir}/cgroup.procs\n`);
    });
}
