/**
 * `run [create flags] [--detach] ID`: create + start. In the foreground the helper's
 * first process stays as the init's parent and hands its exit status (128+N for a
 * signal) to us; signals sent to berth-runtime are passed on to the container's init,
 * and the container is deleted when it exits, as `runc run` does.
 */
import { createContainer } from "../../runtime/create.ts";
import { deleteContainer } from "../../runtime/lifecycle.ts";
import { startContainer } from "../../runtime/start.ts";
import { idArg, parseVerb, type Globals, type RuntimeLog } from "./invocation.ts";
import { CREATE_OPTIONS, preserveFds } from "./create.ts";
import { waitForwardingSignals } from "./foreground.ts";


export async function run(args: string[], g: Globals, log: RuntimeLog): Promise<number> {
  const { values: v, positionals } = parseVerb(args, { ...CREATE_OPTIONS, detach: { type: "boolean", short: "d" }, "no-subreaper": { type: "boolean" }, keep: { type: "boolean" } });
  const id = idArg(positionals, "run [flags] ID");
  const target = { root: g.root, id };
  const created = await createContainer({
    root: g.root, id, bundle: v.bundle, pidFile: v["pid-file"], noPivot: v["no-pivot"], noNewKeyring: v["no-new-keyring"],
    preserveFds: preserveFds(v["preserve-fds"]), systemdCgroup: g.systemdCgroup, foreground: !v.detach, consoleSocket: v["console-socket"], warn: log.warn, trace: log.trace,
  });
  try {
    startContainer(target, log.warn);
  } catch (err) {
    await deleteContainer(target, true);
    throw err;
  }
  if (v.detach) return 0;
  const code = await waitForwardingSignals(created.pid, created.helper!);
  if (!v.keep) await deleteContainer(target, true, log.warn);
  return code;
}
