/** `berth image prune [-a] [-f]`: remove dangling images (with -a, every image no container uses), then what nothing uses. */
import type { Command } from "../command.ts";
import { BerthError } from "../../errors.ts";
import { ImageStore } from "../../engine/image/image-store.ts";
import { formatDecimalBytes } from "../../cgroups/units.ts";
import { currentEnginePaths } from "./globals.ts";
import { writeOut } from "../stdio.ts";

export function declarePrune(cmd: Command): Command {
  return cmd.description("remove unused images")
    .option("-a, --all", "remove every image no container uses, not only dangling ones")
    .option("-f, --force", "do not ask for confirmation")
    .action((opts: { all?: boolean; force?: boolean }) => {
      if (!opts.force) {
        throw new BerthError(`this removes ${opts.all ? "all images without at least one container associated to them" : "all dangling images"}; confirm with -f (--force)`, { field: "--force" });
      }
      const store = new ImageStore(currentEnginePaths());
      const lines = store.pruneImages(opts.all === true);
      writeOut(`${lines.lines.length ? `Deleted Images:\n${lines.lines.map((l) => `${l}\n`).join("")}\n` : ""}Total reclaimed space: ${formatDecimalBytes(lines.reclaimed)}\n`);
    });
}
