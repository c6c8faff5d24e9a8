/**
 * A container's root filesystem as docker shows it: `diff` (what it changed over its
 * image's layers).
 */
import type { Command } from "../command.ts";
import { writeOut } from "../stdio.ts";
import { containerChanges, formatChanges } from "../../engine/container/changes.ts";
import { engineFor } from "./run-options.ts";

type Opts = Record<string, unknown>;

export function registerDiff(program: Command): void {
  program.command("diff").argument("<container>", "name or id").description("what a container changed in its image's files: C changed, A added, D deleted")
    .action((ref: string, opts: Opts) => {
      const engine = engineFor(opts);
      writeOut(formatChanges(containerChanges(engine, engine.store.resolve(ref))));
    });
}
