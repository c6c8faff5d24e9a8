/**
 * `berth cgroup run PATH [limits] -- CMD…`: run a command inside a cgroup with limits.
 * The cgroup is created if needed and kept afterwards (so `berth cgroup stat` can show
 * what happened) unless --rm is given. The command is placed before it runs a single
 * instruction (see sys/gated-spawn.ts); the exit code is the command's own.
 */
import type { Command } from "../command.ts";
import { BerthError } from "../../errors.ts";
import { spawnGated } from "../../sys/gated-spawn.ts";
import { ExitError } from "../exit.ts";
import { addLimitOptions, limitsFromOptions } from "./limit-options.ts";
import { errorForFlags, type LimitFlags } from "../../cgroups/resource-flags.ts";
import { reportCreated, reportWrites } from "./report.ts";
import { openForChange } from "./target.ts";
import { writeErr } from "../stdio.ts";

export function registerRun(group: Command): void {
  addLimitOptions(group.command("run").argument("<path>", "cgroup path").argument("<command...>", "the command, after --"))
    .description("run a command in a cgroup (created if missing) with limits")
    .option("--rm", "remove the cgroup when the command exits")
    .option("-q, --quiet", "do not print what was created and written")
    .action(async (path: string, command: string[], opts: LimitFlags & { resources?: string; quiet?: boolean; rm?: boolean }) => {
      const limits = limitsFromOptions(opts);
      const cg = openForChange(path, "run in");
      const existed = cg.exists();
      if (!existed) cg.create();
      // stdout belongs to the command: the mechanism goes to stderr.
      const report = { ...opts, flagOf: limits.flagOf, out: writeErr };
      let child;
      try {
        const applied = cg.apply(limits.resources, { update: existed });
        if (!existed) reportCreated(Object.values(cg.dirs()), report);
        reportWrites(applied.writes, applied.warnings, report);
        child = spawnGated(command);
        cg.addProcess(child.pid);
      } catch (err) {
        if (child) child.proc.kill("SIGKILL");
        if (!existed) cg.rollback();
        throw errorForFlags(err, limits.flagOf);
      }
      const forward = (sig: NodeJS.Signals) => () => child!.proc.kill(sig);
      for (const sig of ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const) process.on(sig, forward(sig));
      child.release();
      const code = await child.exited;
      if (opts.rm) {
        try {
          cg.kill("SIGKILL");
          cg.destroy();
        } catch (err) {
          throw new BerthError(`the command exited ${code}, but removing the cgroup failed: ${(err as Error).message}`);
        }
      }
      throw new ExitError(code);
    });
}
