/**
 * `update [--resources FILE|-] [runc's single flags] ID`: change a live container's
 * limits. The body is an OCI LinuxResources object (containerd: `--resources=-` with
 * stdin; podman: a file). Errors about a value set by a flag name the flag.
 */
import { BerthError } from "../../errors.ts";
import { REFUSED_UPDATE_FLAGS, renameToFlag, resourcesFromFlags, UPDATE_FLAGS } from "../../cgroups/resource-flags.ts";
import { parseResourcesJson, updateContainer } from "../../runtime/update.ts";
import { readFdText, readText } from "../../sys/libc.ts";
import { idArg, parseVerb, type Globals, type Options, type RuntimeLog } from "./invocation.ts";
import { updateFlagHelp } from "./usage.ts";

const OPTIONS: Options = {
  resources: { type: "string", short: "r" },
  ...Object.fromEntries([...Object.keys(UPDATE_FLAGS), ...Object.keys(REFUSED_UPDATE_FLAGS)].map((f) => [f, { type: "string" as const }])),
};

const USAGE = "update [--resources FILE|-] [flags] ID";

function readBody(source: string): string {
  try {
    return source === "-" ? readFdText(0) : readText(source);
  } catch (err) {
    const what = source === "-" ? "standard input" : source;
    throw new BerthError(`cannot read ${what}: ${(err as Error).message}`, { field: "--resources" });
  }
}

export function run(args: string[], g: Globals, log: RuntimeLog): number {
  const described = updateFlagHelp(Object.fromEntries(Object.entries(UPDATE_FLAGS).map(([flag, f]) => [flag, f.field])), REFUSED_UPDATE_FLAGS);
  const before = parseVerb(args, OPTIONS, described);
  const id = idArg(before.positionals, USAGE);
  // runc takes the flags after the id as well (`update ID --pids-limit 42`)
  const after = parseVerb(before.positionals.slice(1), OPTIONS, described);
  if (after.positionals.length > 0) {
    throw new BerthError(`takes exactly one container id, got ${JSON.stringify(after.positionals[0])} after ${JSON.stringify(id)}; usage: berth-runtime ${USAGE}`, { field: "update" });
  }
  const v = { ...before.values, ...after.values };
  const flags: Record<string, string> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (k !== "resources" && typeof x === "string") flags[k] = x;
  if (typeof v.resources !== "string" && Object.keys(flags).length === 0) {
    // runc exits 0 here, changing nothing; a caller who meant to set a limit should hear so
    throw new BerthError(`nothing to change; pass --resources FILE|- or a limit flag such as --memory or --pids-limit; usage: berth-runtime ${USAGE}`, { field: "update" });
  }
  let warnings;
  if (typeof v.resources === "string") {
    // runc silently ignores the flags next to --resources; saying so is kinder than dropping a limit
    const extra = Object.keys(flags);
    if (extra.length > 0) throw new BerthError(`cannot be combined with --${extra[0]}; put the value in the JSON body instead`, { field: "--resources" });
    const source = v.resources;
    warnings = updateContainer({ root: g.root, id }, parseResourcesJson(readBody(source), source === "-" ? "standard input" : source));
  } else {
    try {
      const resources = resourcesFromFlags(flags);
      warnings = updateContainer({ root: g.root, id }, resources);
    } catch (err) {
      renameToFlag(err);
    }
  }
  for (const w of warnings ?? []) log.warn(w);
  return 0;
}
