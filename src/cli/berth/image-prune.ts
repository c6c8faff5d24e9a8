/** `berth image prune [-a] [-f]`: remove dangling images (with -a, every image no container uses), then what nothing uses. */
import type { Command } from "../command.ts";
import { ImageStore } from "../../engine/image/image-store.ts";
import { formatDecimalBytes } from "../../cgroups/units.ts";
import { currentEnginePaths } from "./globals.ts";
import { writeOut } from "../stdio.ts";
import { collect } from "../command.ts";
import { confirmPrune, formatPruneReport, parsePruneFilters, prunable, type PruneFilter } from "../../engine/container/views.ts";

export function declarePrune(cmd: Command): Command {
  return cmd.description("remove unused images")
    .option("-a, --all", "remove every image no container uses, not only dangling ones")
    .option("-f, --force", "do not ask for confirmation")
    .option("--filter <k=v>", "until=TIME (created before), label=KEY[=VALUE], label!=KEY[=VALUE]", collect)
    .action((opts: { all?: boolean; force?: boolean; filter?: string[] }) => {
      confirmPrune(opts.force, [opts.all ? "all images without at least one container associated to them" : "all dangling images"]);
      const filter = parsePruneFilters(opts.filter ?? [], Date.now());
      const { lines, reclaimed } = pruneImages(new ImageStore(currentEnginePaths()), opts.all === true, filter);
      writeOut(formatPruneReport([["Images", lines]], formatDecimalBytes(reclaimed)));
    });
}

/**
 * Remove the images no container uses — dangling ones, or with `all` every one — that
 * the filter selects by the image's own creation time and labels, as docker's do
 * (`image prune`, `system prune`); then what nothing uses. Lines are docker's
 * `untagged: REF` / `deleted: ID`.
 */
export function pruneImages(store: ImageStore, all: boolean, filter: PruneFilter): { lines: string[]; reclaimed: number } {
  const filtered = filter.untilMs !== undefined || filter.labels.length > 0 || filter.notLabels.length > 0;
  return store.pruneImages(all, (image) => {
    if (!filtered) return true;
    const config = store.config(image);
    // an image without a creation time is never "created before" a time
    return prunable(config.config?.Labels ?? {}, config.created ?? "", filter);
  });
}
