/** `berth load [-i FILE] [-q]`: images from a docker-archive or oci-archive (gzip, zstd or plain); stdin without -i. */
import type { Command } from "../command.ts";
import { ImageStore } from "../../engine/image/image-store.ts";
import { loadArchive } from "../../engine/image/archive-load.ts";
import { familiarString } from "../../engine/image/reference.ts";
import { currentEnginePaths } from "./globals.ts";
import { inputStream } from "./input.ts";
import { writeOut } from "../stdio.ts";

export function declareLoad(cmd: Command): Command {
  return cmd.description("load images from a tar archive (docker-archive or oci-archive) or stdin")
    .option("-i, --input <file>", "read from this file instead of stdin")
    .option("-q, --quiet", "print nothing")
    .action(async (opts: { input?: string; quiet?: boolean }) => {
      const { stream, what } = inputStream(opts.input, "--input");
      const store = new ImageStore(currentEnginePaths());
      const loaded = await loadArchive(store, stream, what);
      if (opts.quiet) return;
      const lines: string[] = [];
      for (const l of loaded) {
        if (l.names.length === 0) lines.push(`Loaded image ID: ${l.image.id}`);
        for (const n of l.names) lines.push(`Loaded image: ${familiarString(n)}`);
      }
      writeOut(lines.map((l) => `${l}\n`).join(""));
    });
}

export function registerLoad(program: Command): void {
  declareLoad(program.command("load"));
}
