/**
 * `berth top TARGET [ps options]`: the container's processes as ps(1) shows them — ps runs
 * on the host with the given options (default -ef) and only the rows whose PID is in the
 * container's cgroup are kept, as runc ps and docker top do.
 */
import type { Command } from "./command.ts";
import { BerthError } from "../errors.ts";
import { BERTH_ROOT, resolveOnHost, scanHost } from "../observe/host-scan.ts";
import { cgroupOfSubject } from "../observe/stats-sample.ts";
import { filterPsTable, runPs } from "../runtime/ps.ts";
import { cgroupPathFromArg } from "./cgroup/target.ts";
import { writeOut } from "./stdio.ts";
import { currentEnginePaths } from "./berth/globals.ts";

export function registerTop(program: Command): void {
  program.command("top").argument("<target>", "container id or name, PID or cgroup path").argument("[ps-options...]", "options for ps(1), default -ef")
    .description("show the processes of a container with ps(1)")
    // ps's own flags (-o pid,comm, -eLf, aux) are not berth's: pass them through
    .allowUnknownOption()
    .option("--root <dir>", "berth-runtime's state directory (the engine's own containers are found from BERTH_RUNROOT)", BERTH_ROOT)
    .action((target: string, psArgs: string[], opts: { root: string }) => {
      const s = resolveOnHost(target, scanHost({ root: opts.root, engine: currentEnginePaths() }), { cgroupPath: cgroupPathFromArg });
      const pids = cgroupOfSubject(s).pids();
      if (pids.length === 0) throw new BerthError(`${s.name} has no processes (cgroup ${s.cgroup})`, { field: "TARGET" });
      writeOut(filterPsTable(runPs(psArgs), pids));
    });
}
