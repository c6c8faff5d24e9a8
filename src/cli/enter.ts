/**
 * `berth enter TARGET [-m -u -i -n -p -C -U -T] [-a] -- CMD…`: nsenter for containers.
 * Runs CMD in the target process's namespaces (by default every one that differs from
 * berth's own) and in its cgroups. Exit code: CMD's own; 126/127 when it cannot run or
 * is not found in the container, as docker exec.
 */
import type { Command } from "./command.ts";
import { BerthError } from "../errors.ts";
import type { EnterNs } from "../runtime/enter.ts";
import { BERTH_ROOT, resolveOnHost, scanHost } from "../observe/host-scan.ts";
import { currentEnginePaths } from "./berth/globals.ts";
import { cgroupPathFromArg } from "./cgroup/target.ts";
import { ExitError } from "./exit.ts";

const FLAGS: [EnterNs, string, string][] = [
  ["mnt", "-m, --mount", "the mount namespace (the container's files)"],
  ["uts", "-u, --uts", "the UTS namespace (hostname)"],
  ["ipc", "-i, --ipc", "the IPC namespace"],
  ["net", "-n, --net", "the network namespace"],
  ["pid", "-p, --pid", "the PID namespace"],
  ["cgroup", "-C, --cgroupns", "the cgroup namespace"],
  ["user", "-U, --user", "the user namespace"],
  ["time", "-T, --time", "the time namespace"],
];

type EnterFlags = Partial<Record<"mount" | "uts" | "ipc" | "net" | "pid" | "cgroupns" | "user" | "time", boolean>> & {
  all?: boolean;
  cgroup: boolean;
  wd?: string;
  root: string;
};

export function registerEnter(program: Command): void {
  let cmd = program.command("enter").argument("<target>", "container id or name, PID or cgroup path").argument("[command...]", "the command, after -- (default: sh)")
    .description("run a command in a container's namespaces and cgroup (nsenter for containers)");
  for (const [, flags, what] of FLAGS) cmd = cmd.option(flags, `join ${what}`);
  cmd.option("-a, --all", "join every namespace of the target that differs from berth's (the default without namespace flags)")
    .option("--no-cgroup", "stay in berth's cgroups instead of joining the target's")
    .option("-w, --wd <dir>", "working directory for the command (default: / of the mount namespace when joining it, else berth's)")
    .option("--root <dir>", "berth-runtime's state directory", BERTH_ROOT)
    .action(async (target: string, command: string[], opts: EnterFlags) => {
      const s = resolveOnHost(target, scanHost({ root: opts.root, engine: currentEnginePaths() }), { cgroupPath: cgroupPathFromArg });
      const asked = FLAGS.filter(([, flags]) => opts[flags.split("--")[1] as keyof EnterFlags] === true).map(([ns]) => ns);
      // loaded here, not at start: it brings the plan encoder and the helper, which no other verb needs
      const { enterSubject } = await import("../runtime/enter.ts");
      try {
        const code = await enterSubject(s, { namespaces: asked, all: opts.all, cgroup: opts.cgroup, cwd: opts.wd, argv: command.length > 0 ? command : ["sh"] });
        throw new ExitError(code);
      } catch (err) {
        if (err instanceof BerthError && err.field === "COMMAND" && (err.errno === "ENOENT" || err.errno === "EACCES")) {
          throw new ExitError(err.errno === "ENOENT" ? 127 : 126, err.message);
        }
        throw err;
      }
    });
}
