/** `berth image VERB`: docker's image management group; each verb is the same code as its top-level twin. */
import type { Command } from "../command.ts";
import { declareImagesOptions, listImages } from "./images.ts";
import { declareLoad } from "./load.ts";
import { declareImport } from "./import.ts";

export function registerImage(program: Command): void {
  const image = program.command("image").description("manage images");
  declareImagesOptions(image.command("ls").description("list images")).action(listImages);
  declareLoad(image.command("load"));
  declareImport(image.command("import"));
}
