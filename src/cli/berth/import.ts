/** `berth import FILE|- [REF] [-c CHANGE…] [-m MESSAGE]`: an image of one layer from a root filesystem tarball, as docker import. */
import { collect, type Command } from "../command.ts";
import { ImageStore } from "../../engine/image/image-store.ts";
import { importRootfs } from "../../engine/image/import.ts";
import { currentEnginePaths } from "./globals.ts";
import { inputStream } from "./input.ts";
import { writeOut } from "../stdio.ts";

export function declareImport(cmd: Command): Command {
  return cmd.description("create an image from a root filesystem tarball (plain, gzip or zstd)")
    .argument("<file>", "the tarball, or - for stdin").argument("[reference]", "name for the image, REPOSITORY[:TAG]")
    .option("-c, --change <instruction>", "apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR (repeatable)", collect, [])
    .option("-m, --message <message>", "commit message for the image's history")
    .action(async (file: string, reference: string | undefined, opts: { change: string[]; message?: string }) => {
      const store = new ImageStore(currentEnginePaths());
      const { stream, what } = inputStream(file, "FILE");
      const image = await importRootfs(store, stream, { reference, changes: opts.change, source: file === "-" ? "-" : what, ...(opts.message !== undefined && { message: opts.message }) });
      writeOut(`${image.id}\n`);
    });
}

export function registerImport(program: Command): void {
  declareImport(program.command("import"));
}
