/**
 * The engine every container, volume and network command opens: apart from run's flags,
 * so that ps, inspect or rm load neither them nor the runtime's modules.
 */
import { enginePaths } from "../../engine/paths.ts";
import { bootSinceLastCommand, openEngine, type Engine } from "../../engine/container/engine.ts";

/** The engine for the global --root/--runroot (else BERTH_ROOT/BERTH_RUNROOT, else the defaults). */
export async function engineFor(globals: Record<string, unknown>): Promise<Engine> {
  const engine = openEngine(enginePaths({ root: globals.root as string | undefined, runroot: globals.runroot as string | undefined }));
  // the first command after /run was lost records what died with it and restarts what asked for it (--restart);
  // the lifecycle's modules load only then (ps, inspect and logs need none of them)
  const boot = bootSinceLastCommand(engine);
  if (boot !== undefined) (await import("../../engine/container/lifecycle.ts")).reviveAfterReboot(engine, boot);
  return engine;
}
