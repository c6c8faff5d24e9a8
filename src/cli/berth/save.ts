/** `berth save [-o FILE] [--format docker-archive|oci-archive] IMAGE…` (= `berth image save`): images as a tar archive, to FILE or stdout. */
import type { Command } from "../command.ts";
import { BerthError } from "../../errors.ts";
import { ImageStore } from "../../engine/image/image-store.ts";
import { saveArchive, type ArchiveFormat } from "../../engine/image/archive-save.ts";
import { formatReference, parseReference } from "../../engine/image/reference.ts";
import { close, O, openPath, renamePath, unlinkPath, writeAll } from "../../sys/libc.ts";
import { currentEnginePaths } from "./globals.ts";
import { tempNameBeside } from "../../sys/atomic-file.ts";

export function declareSave(cmd: Command): Command {
  return cmd.description("write images to a tar archive (docker-archive, or oci-archive)").argument("<image...>", "name, name@digest or id")
    .option("-o, --output <file>", "write to this file instead of stdout")
    .option("--format <format>", "docker-archive or oci-archive", "docker-archive")
    .action(async (refs: string[], opts: { output?: string; format: string }) => {
      if (opts.format !== "docker-archive" && opts.format !== "oci-archive") {
        throw new BerthError(`must be docker-archive or oci-archive, not ${JSON.stringify(opts.format)}`, { field: "--format" });
      }
      refuseTerminal(opts.output);
      const store = new ImageStore(currentEnginePaths());
      const byId = new Map<string, { image: ReturnType<ImageStore["resolve"]>; names: string[] }>();
      for (const ref of refs) {
        const image = store.resolve(ref);
        const entry = byId.get(image.id) ?? { image, names: [] };
        // a name given is saved under that name; an id saves the image with all its names
        const named = image.names.find((n) => { try { return n === formatReference(parseReference(ref)); } catch { return false; } });
        for (const n of named ? [named] : image.names) if (!entry.names.includes(n)) entry.names.push(n);
        byId.set(image.id, entry);
      }
      await writeArchive(saveArchive(store, [...byId.values()], opts.format as ArchiveFormat), opts.output);
    });
}

export function registerSave(program: Command): void {
  declareSave(program.command("save"));
}

/** docker's refusal: an archive is not written to a terminal. */
export function refuseTerminal(output: string | undefined): void {
  if (output === undefined && process.stdout.isTTY) throw new BerthError("refusing to write an archive to a terminal; use -o FILE or redirect stdout", { field: "--output" });
}

/** An archive's bytes to `output` (written beside it, then renamed: a failure leaves no partial file) or to stdout. */
export async function writeArchive(chunks: AsyncIterable<Uint8Array>, output: string | undefined): Promise<void> {
  const tmp = output === undefined ? undefined : tempNameBeside(output, "tmp");
  const fd = tmp === undefined ? 1 : openPath(tmp, O.WRONLY | O.CREAT | O.EXCL, 0o644);
  try {
    for await (const chunk of chunks) writeAll(fd, chunk);
    if (tmp !== undefined) renamePath(tmp, output!);
  } catch (err) {
    if (tmp !== undefined) {
      try {
        unlinkPath(tmp);
      } catch {}
    }
    throw err;
  } finally {
    if (fd !== 1) close(fd);
  }
}
