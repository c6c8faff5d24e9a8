/**
 * The engine's global flags (`berth --root DIR --runroot DIR VERB …`), set once by
 * berth.ts from the parsed command line and read by the engine's verbs, which resolve
 * their directories through engine/paths.ts.
 */
import { enginePaths, type EnginePaths } from "../../engine/paths.ts";

let flags: { root?: string; runroot?: string } = {};

export function setEngineFlags(globals: Record<string, unknown>): void {
  flags = {
    ...(typeof globals.root === "string" && { root: globals.root }),
    ...(typeof globals.runroot === "string" && { runroot: globals.runroot }),
  };
}

/** The engine's directories for this call: --root/--runroot, else BERTH_ROOT/BERTH_RUNROOT, else the defaults. */
export function currentEnginePaths(): EnginePaths {
  return enginePaths(flags);
}
