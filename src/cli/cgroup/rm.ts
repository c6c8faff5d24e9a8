/** `berth cgroup rm PATH [--kill]`: remove a cgroup (and its children) from every hierarchy. */
import type { Command } from "../command.ts";
import { BerthError } from "../../errors.ts";
import { parseCount } from "../../cgroups/units.ts";
import { describePid } from "../../cgroups/teardown.ts";
import { openForChange, requireExisting } from "./target.ts";
import { writeOut } from "../stdio.ts";

export function registerRm(group: Command): void {
  group.command("rm").argument("<path>", "cgroup path")
    .description("remove a cgroup and its child cgroups")
    .option("-k, --kill", "SIGKILL every process in it first")
    .option("--timeout <ms>", "how long to wait for processes to leave", "2000")
    .option("-q, --quiet", "do not print what was removed")
    .action((path: string, opts: { kill?: boolean; timeout: string; quiet?: boolean }) => {
      const timeoutMs = parseCount(opts.timeout, "--timeout");
      const cg = openForChange(path, "remove");
      requireExisting(cg, path);
      const pids = cg.pids();
      if (pids.includes(process.pid)) throw new BerthError(`refusing to remove ${cg.path}: berth itself runs in it`, { field: "PATH" });
      if (pids.length > 0 && !opts.kill) {
        throw new BerthError(`cgroup ${cg.path} has ${pids.length} process(es): ${pids.slice(0, 5).map(describePid).join(", ")}; stop them or add --kill`, { field: "PATH" });
      }
      if (pids.length > 0) cg.kill("SIGKILL");
      const dirs = Object.values(cg.dirs());
      cg.destroy({ timeoutMs });
      if (!opts.quiet) for (const d of dirs) writeOut(`removed ${d}\n`);
    });
}
