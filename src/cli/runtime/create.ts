/** `create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--no-new-keyring] [--preserve-fds N] ID` */
import { BerthError } from "../../errors.ts";
import { createContainer } from "../../runtime/create.ts";
import { idArg, parseVerb, type Globals, type RuntimeLog } from "./invocation.ts";

export const CREATE_OPTIONS = {
  bundle: { type: "string", short: "b" },
  "pid-file": { type: "string" },
  "console-socket": { type: "string" },
  "pidfd-socket": { type: "string" },
  "no-pivot": { type: "boolean" },
  "no-new-keyring": { type: "boolean" },
  "preserve-fds": { type: "string" },
} as const;

export function preserveFds(raw: string | undefined): number {
  if (raw === undefined) return 0;
  if (!/^\d+$/.test(raw)) throw new BerthError(`${JSON.stringify(raw)} is not a count; use a whole number`, { field: "--preserve-fds" });
  return Number(raw);
}

export async function run(args: string[], g: Globals, log: RuntimeLog): Promise<number> {
  const { values: v, positionals } = parseVerb(args, CREATE_OPTIONS);
  const id = idArg(positionals, "create [flags] ID");
  await createContainer({
    root: g.root, id, bundle: v.bundle, pidFile: v["pid-file"], noPivot: v["no-pivot"], noNewKeyring: v["no-new-keyring"],
    preserveFds: preserveFds(v["preserve-fds"]), systemdCgroup: g.systemdCgroup, consoleSocket: v["console-socket"], warn: log.warn, trace: log.trace,
  });
  return 0;
}
