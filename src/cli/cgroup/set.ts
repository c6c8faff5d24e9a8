/** `berth cgroup set PATH [limits]`: change the limits of an existing cgroup (runc update semantics). */
import type { Command } from "../command.ts";
import { addLimitOptions, limitsFromOptions } from "./limit-options.ts";
import { errorForFlags, type LimitFlags } from "../../cgroups/resource-flags.ts";
import { reportWrites } from "./report.ts";
import { openForChange, requireExisting } from "./target.ts";

export function registerSet(group: Command): void {
  addLimitOptions(group.command("set").argument("<path>", "cgroup path"))
    .description("change the limits of an existing cgroup")
    .option("-q, --quiet", "do not print what was written")
    .action((path: string, opts: LimitFlags & { resources?: string; quiet?: boolean }) => {
      const limits = limitsFromOptions(opts);
      const cg = openForChange(path, "change");
      requireExisting(cg, path);
      try {
        const applied = cg.apply(limits.resources, { update: true });
        reportWrites(applied.writes, applied.warnings, { ...opts, flagOf: limits.flagOf });
      } catch (err) {
        throw errorForFlags(err, limits.flagOf);
      }
    });
}
