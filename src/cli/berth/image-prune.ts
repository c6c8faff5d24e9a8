/** `berth image prune [-a] [-f]`: remove dangling images (with -a, every image no container uses), then what nothing uses. */
import type { Command } from "../command.ts";
import { ImageStore } from "../../engine/image/image-store.ts";
import { formatDecimalBytes } from "../../cgroups/units.ts";
import { currentEnginePaths } from "./globals.ts";
import { writeOut } from "../stdio.ts";
import { collect } from "../command.ts";
import { confirmPrune, formatPruneReport, parsePruneFilters } from "../../engine/container/views.ts";
import { pruneImages } from "../../engine/prune.ts";

export function declarePrune(cmd: Command): Command {
  return cmd.description("remove unused images")
    .option("-a, --all", "remove every image no container uses, not only dangling ones")
    .option("-f, --force", "do not ask for confirmation")
    .option("--filter <k=v>", "until=TIME (created before), label=KEY[=VALUE], label!=KEY[=VALUE]", collect)
    .action((opts: { all?: boolean; force?: boolean; filter?: string[] }) => {
      const filter = parsePruneFilters(opts.filter ?? [], Date.now());
      confirmPrune(opts.force, [opts.all ? "all images without at least one container associated to them" : "all dangling images"]);
      const { lines, reclaimed } = pruneImages(new ImageStore(currentEnginePaths()), opts.all === true, filter);
      writeOut(formatPruneReport([["Images", lines]], formatDecimalBytes(reclaimed)));
    });
}

