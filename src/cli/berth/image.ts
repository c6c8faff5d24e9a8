/** `berth image VERB`: docker's image management group; each verb is the same code as its top-level twin. */
import type { Command } from "../command.ts";
import { declareImagesOptions, listImages } from "./images.ts";
import { declareLoad } from "./load.ts";
import { declareImport } from "./import.ts";
import { declarePull } from "./pull.ts";
import { declarePush } from "./push.ts";
import { declareRmi } from "./rmi.ts";
import { declareTag } from "./tag.ts";
import { declareSave } from "./save.ts";
import { declareHistory } from "./image-history.ts";
import { declareImageInspect } from "./image-inspect.ts";
import { declarePrune } from "./image-prune.ts";

export function registerImage(program: Command): void {
  const image = program.command("image").description("manage images");
  declareImagesOptions(image.command("ls").alias("list").description("list images")).action(listImages);
  declareImageInspect(image.command("inspect"));
  declareHistory(image.command("history"));
  declarePrune(image.command("prune"));
  declareRmi(image.command("rm").alias("remove"));
  declareTag(image.command("tag"));
  declarePull(image.command("pull"));
  declarePush(image.command("push"));
  declareLoad(image.command("load"));
  declareSave(image.command("save"));
  declareImport(image.command("import"));
}
