/** `berth cgroup create PATH [limits]`: make the cgroup in every hierarchy and apply limits. */
import type { Command } from "../command.ts";
import { addLimitOptions, limitsFromOptions } from "./limit-options.ts";
import { errorForFlags, type LimitFlags } from "../../cgroups/resource-flags.ts";
import { reportCreated, reportWrites } from "./report.ts";
import { openForChange } from "./target.ts";
import { BerthError } from "../../errors.ts";

export function registerCreate(group: Command): void {
  addLimitOptions(group.command("create").argument("<path>", "cgroup path, e.g. /demo"))
    .description("create a cgroup (in every v1 hierarchy and the cgroup2 mount) and apply limits")
    .option("-q, --quiet", "do not print what was created and written")
    .action((path: string, opts: LimitFlags & { resources?: string; quiet?: boolean }) => {
      const limits = limitsFromOptions(opts);
      const cg = openForChange(path, "create");
      if (cg.exists()) throw new BerthError(`cgroup ${cg.path} already exists; change its limits with \`berth cgroup set ${path}\``, { field: "PATH" });
      const before = Object.values(cg.dirs());
      cg.create();
      try {
        const applied = cg.apply(limits.resources);
        reportCreated(before, opts);
        reportWrites(applied.writes, applied.warnings, { ...opts, flagOf: limits.flagOf });
      } catch (err) {
        // A create that fails leaves nothing behind.
        cg.rollback();
        throw errorForFlags(err, limits.flagOf);
      }
    });
}
