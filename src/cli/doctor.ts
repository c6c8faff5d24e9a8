/** `berth doctor [--json]`: is this host ready to run containers; one line per check with its evidence and fix. */
import type { Command } from "./command.ts";
import { doctorChecks, formatChecks } from "../observe/doctor.ts";
import { readDoctorFacts } from "../observe/doctor-facts.ts";
import { ExitError } from "./exit.ts";
import { writeOut } from "./stdio.ts";

export function registerDoctor(program: Command): void {
  program.command("doctor")
    .description("check this host: kernel, namespaces, cgroups, PSI, swap accounting, overlayfs, seccomp, pivot_root, CNI, ip_forward, disks, the native helper")
    .option("--json", "print the checks as JSON")
    .action((opts: { json?: boolean }) => {
      const checks = doctorChecks(readDoctorFacts());
      writeOut(`${opts.json ? JSON.stringify(checks) : formatChecks(checks)}\n`);
      // a failed check is a host that cannot run containers: say so to scripts too
      if (checks.some((c) => c.status === "fail")) throw new ExitError(1);
    });
}
