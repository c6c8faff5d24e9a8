/**
 * `berth exec [-i -t -d -e --env-file -u -w --privileged] CONTAINER CMD…`: another
 * process in a running container, through the runtime's `exec` (its namespaces, cgroup,
 * capabilities, seccomp). In the foreground it is attached to this terminal and berth
 * exits with its code; 126/127 when it cannot run or is not found.
 */
import { collect, type Command } from "../command.ts";
import { BerthError } from "../../errors.ts";
import { ExitError } from "../exit.ts";
import { runtimeOf } from "../../engine/container/oci-runtime.ts";
import { liveStatus } from "../../engine/container/live-status.ts";
import { execProcessSpec, mergeEnv, parseEnvFile, privilegedCapabilities, resolveUser, userDatabase } from "../../engine/container/process-config.ts";
import { writeFileAtomic } from "../../sys/atomic-file.ts";
import { engineHostFacts, readFlagFile } from "../../engine/container/host.ts";
import { unlinkPath } from "../../sys/libc.ts";
import { engineFor } from "./engine-open.ts";
import { recordContainerEvent } from "../../engine/event-journal.ts";
import { newContainerId } from "../../engine/container/records.ts";

type Opts = Record<string, unknown>;

export function registerExec(program: Command): void {
  program.command("exec").argument("<container>", "name or id").argument("<command...>", "command and arguments").passThroughOptions()
    .description("run a command in a running container")
    .option("-i, --interactive", "keep stdin open")
    .option("-t, --tty", "allocate a terminal")
    .option("-d, --detach", "run in the background")
    .option("-e, --env <k=v>", "set an environment variable", collect)
    .option("--env-file <file>", "read environment variables from a file", collect)
    .option("-u, --user <user>", "USER[:GROUP]")
    .option("-w, --workdir <dir>", "working directory")
    .option("--privileged", "every capability for this process")
    .action(async (ref: string, command: string[], opts: Opts) => {
      const engine = await engineFor(opts);
      const r = engine.store.resolve(ref);
      const live = liveStatus(engine, r);
      if (live.status === "paused") throw new BerthError(`container ${r.Id} is paused, unpause the container before exec`);
      if (live.status !== "running") throw new BerthError(`container ${r.Id} is not running`);
      const runtime = runtimeOf(engine, r);
      const logFile = `${engine.store.runDir(r.Id)}/exec-${process.pid}.log`;
      // the terminal is the process file's: runc reads --tty only for its inline form
      const args = ["exec"];
      if (opts.detach) args.push("--detach");
      const userEnv: string[] = [];
      for (const f of (opts.envFile as string[] | undefined) ?? []) {
        userEnv.push(...parseEnvFile(readFlagFile(f, "--env-file"), process.env, "--env-file", f));
      }
      for (const e of (opts.env as string[] | undefined) ?? []) {
        if (e.includes("=")) userEnv.push(e);
        else if (process.env[e] !== undefined) userEnv.push(`${e}=${process.env[e]}`);
      }
      const base = engine.store.spec(r.Id)?.process;
      if (!base) throw new BerthError(`container ${r.Id} has no config.json to run a process by; remove it and run it again`);
      const user = opts.user !== undefined ? String(opts.user) : r.User;
      let groups: { uid: number; gid: number; additionalGids: number[] } | undefined;
      if (user) {
        const { passwd, group } = userDatabase(r.Rootfs);
        // moby's getUser: the primary gid, the user's groups and the container's --group-add (CVE-2022-36109)
        groups = resolveUser(user, r.Flags.groupAdd ?? [], passwd, group);
      }
      // the whole process, as containerd and conmon give it: runc's inline flags cannot take a group away
      const processFile = `${engine.store.runDir(r.Id)}/exec-${process.pid}.json`;
      writeFileAtomic(processFile, JSON.stringify(execProcessSpec(base, {
        args: command, env: mergeEnv(r.Env, userEnv), tty: opts.tty === true,
        ...(opts.workdir !== undefined && { cwd: String(opts.workdir) }), ...(groups && { user: groups }),
        // docker: every capability (here: every one berth holds itself), for this process only
        ...(opts.privileged === true && { caps: privilegedCapabilities(engineHostFacts()) }),
      })), { mode: 0o600, fsync: false });
      args.push("--process", processFile, r.Id);
      // docker's exec events: the action names the command, execID ties the three together
      const execID = newContainerId();
      const what = `: ${command.join(" ")}`;
      recordContainerEvent(engine.paths, r, `exec_create${what}`, { execID });
      recordContainerEvent(engine.paths, r, `exec_start${what}`, { execID });
      const code = await runtime.foreground(args, logFile, opts.interactive ? "inherit" : "ignore");
      if (!opts.detach) recordContainerEvent(engine.paths, r, "exec_die", { execID, exitCode: String(code) });
      let failure;
      if (code !== 0) failure = runtime.failure("exec", logFile);
      for (const f of [logFile, processFile]) {
        try {
          unlinkPath(f);
        } catch {}
      }
      // the runtime's own failure (not found: 127, cannot run: 126) rather than the process's code
      if (failure && failure.exitCode !== 125) throw new ExitError(failure.exitCode); // the runtime printed its line
      if (code !== 0) throw new ExitError(code);
    });
}
