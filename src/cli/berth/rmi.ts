/** `berth rmi [-f] IMAGE…` (= `berth image rm`): untag, and remove what nothing else uses — never a layer a container stands on. */
import type { Command } from "../command.ts";
import { ImageStore } from "../../engine/image/image-store.ts";
import { currentEnginePaths } from "./globals.ts";
import { writeErr, writeOut } from "../stdio.ts";
import { ExitError, EXIT_BERTH_FAILED } from "../exit.ts";

export function declareRmi(cmd: Command): Command {
  return cmd.description("remove images").argument("<image...>", "name, name@digest or id")
    .option("-f, --force", "untag an image a container uses (its layers stay until the container goes)")
    .action((refs: string[], opts: { force?: boolean }) => {
      const store = new ImageStore(currentEnginePaths());
      let failed = 0;
      for (const ref of refs) {
        try {
          writeOut(store.removeImage(ref, opts.force === true).map((l) => `${l}\n`).join(""));
        } catch (err) {
          // docker goes on with the other images and fails at the end
          if (refs.length === 1) throw err;
          writeErr(`berth: ${(err as Error).message}\n`);
          failed++;
        }
      }
      if (failed) throw new ExitError(EXIT_BERTH_FAILED);
    });
}

export function registerRmi(program: Command): void {
  declareRmi(program.command("rmi"));
}
