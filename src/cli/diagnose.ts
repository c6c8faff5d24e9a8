/**
 * `berth diagnose TARGET`: the runbooks — was it OOM-killed (and at which level's
 * limit), why won't it start, why is it slow — as a verdict, the evidence and what to
 * change. Works on any container discovery finds, a PID, a cgroup path, a berth-runtime
 * container that is stopped or never started (with --log), or another engine's stopped
 * container, whose exit code comes from that engine's record (engine-exits.ts).
 */
import type { Command } from "./command.ts";
import { parseCount } from "../cgroups/units.ts";
import { diagnose, formatDiagnosis } from "../observe/diagnose.ts";
import { ENGINE_RECORDS, gatherEvidence } from "../observe/diagnose-gather.ts";
import { BERTH_ROOT } from "../observe/host-scan.ts";
import { cgroupPathFromArg } from "./cgroup/target.ts";
import { ExitError } from "./exit.ts";
import { writeOut } from "./stdio.ts";

interface DiagnoseFlags {
  json?: boolean;
  sample: string;
  log?: string;
  exitCode?: string;
  root: string;
  dockerRoot: string;
  containerdRoot: string;
  podmanEvents: string;
  podmanRunroot: string;
  containerdState: string;
}

export function registerDiagnose(program: Command): void {
  program.command("diagnose").argument("<target>", "container id or name, PID or cgroup path")
    .description("why a container was killed, won't start, is slow or cannot reach the network: a verdict, the evidence (files and values), what to change")
    .option("--json", "print the diagnosis as JSON")
    .option("--sample <seconds>", "how long to watch counters (throttling, pressure, drops) of a running container; 0: totals since it started", "2")
    .option("--log <file>", "why it did not start: the OCI runtime's --log file (podman's oci-log, berth-runtime/runc --log), or the engine's output for image pull and unpack failures (podman/docker stderr, kubectl describe)")
    .option("--exit-code <n>", "the exit code the engine reported (podman inspect, kubectl describe), to tell an OOM kill from an exit")
    .option("--root <dir>", "berth-runtime's state directory", BERTH_ROOT)
    .option("--docker-root <dir>", "dockerd's --data-root, where a stopped container's exit code is (containers/<id>/config.v2.json)", ENGINE_RECORDS.dockerRoot)
    .option("--containerd-root <dir>", "containerd's root, where the CRI plugin records a stopped container's exit (io.containerd.grpc.v1.cri/containers/<id>/status)", ENGINE_RECORDS.containerdRoot)
    .option("--podman-events <file>", "podman's events log (file backend, <tmpdir>/events/events.log): its containers' names, ids and exit codes", ENGINE_RECORDS.podmanEvents)
    .option("--podman-runroot <dir>", "podman's run root, where the runtime's log of each container is (<driver>-containers/<id>/userdata/oci-log)", ENGINE_RECORDS.podmanRunroot)
    .option("--containerd-state <dir>", "containerd's state directory, where a task's runtime log is (io.containerd.runtime.v2.task/<ns>/<id>/log.json)", ENGINE_RECORDS.containerdState)
    .action(async (target: string, opts: DiagnoseFlags) => {
      const sampleSeconds = parseCount(opts.sample, "--sample", { min: 0, max: 600 });
      const exitCode = opts.exitCode === undefined ? undefined : parseCount(opts.exitCode, "--exit-code", { min: 0, max: 255 });
      const evidence = await gatherEvidence(target, {
        root: opts.root, sampleSeconds, ...(opts.log !== undefined && { log: opts.log }), ...(exitCode !== undefined && { exitCode }),
        resolve: { cgroupPath: cgroupPathFromArg },
        engines: { dockerRoot: opts.dockerRoot, containerdRoot: opts.containerdRoot, containerdState: opts.containerdState, podmanEvents: opts.podmanEvents, podmanRunroot: opts.podmanRunroot },
      });
      const d = diagnose(evidence);
      writeOut(`${opts.json ? JSON.stringify(d) : formatDiagnosis(d)}\n`);
      // as doctor: 1 when a problem was found, 0 when healthy (125, could not look, is an error above)
      if (d.findings.some((f) => f.severity !== "ok")) throw new ExitError(1);
    });
}
