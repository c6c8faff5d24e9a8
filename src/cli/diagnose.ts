/**
 * `berth diagnose TARGET`: the runbooks — was it OOM-killed (and at which level's
 * limit), why won't it start, why is it slow — as a verdict, the evidence and what to
 * change. Works on any container discovery finds, a PID, a cgroup path, or a
 * berth-runtime container that is stopped or never started (with --log).
 */
import type { Command } from "commander";
import { parseCount } from "../cgroups/units.ts";
import { diagnose, formatDiagnosis } from "../observe/diagnose.ts";
import { gatherEvidence } from "../observe/diagnose-gather.ts";
import { BERTH_ROOT } from "../observe/host-scan.ts";
import { cgroupPathFromArg } from "./cgroup/target.ts";
import { writeOut } from "./stdio.ts";

interface DiagnoseFlags {
  json?: boolean;
  sample: string;
  log?: string;
  exitCode?: string;
  root: string;
}

export function registerDiagnose(program: Command): void {
  program.command("diagnose").argument("<target>", "container id or name, PID or cgroup path")
    .description("why a container was killed, won't start or is slow: a verdict, the evidence (files and values), what to change")
    .option("--json", "print the diagnosis as JSON")
    .option("--sample <seconds>", "how long to watch counters (throttling, pressure, drops) of a running container; 0: totals since it started", "2")
    .option("--log <file>", "the OCI runtime's --log file (podman's oci-log, berth-runtime/runc --log), for why it did not start")
    .option("--exit-code <n>", "the exit code the engine reported (podman inspect, kubectl describe), to tell an OOM kill from an exit")
    .option("--root <dir>", "berth-runtime's state directory", BERTH_ROOT)
    .action(async (target: string, opts: DiagnoseFlags) => {
      const sampleSeconds = parseCount(opts.sample, "--sample", { min: 0, max: 600 });
      const exitCode = opts.exitCode === undefined ? undefined : parseCount(opts.exitCode, "--exit-code", { min: 0, max: 255 });
      const evidence = await gatherEvidence(target, {
        root: opts.root, sampleSeconds, ...(opts.log !== undefined && { log: opts.log }), ...(exitCode !== undefined && { exitCode }),
        resolve: { cgroupPath: cgroupPathFromArg },
      });
      const d = diagnose(evidence);
      writeOut(`${opts.json ? JSON.stringify(d) : formatDiagnosis(d)}\n`);
    });
}
