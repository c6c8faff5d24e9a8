/** `berth tag SOURCE TARGET` (= `berth image tag`): another name for an image. */
import type { Command } from "../command.ts";
import { ImageStore } from "../../engine/image/image-store.ts";
import { currentEnginePaths } from "./globals.ts";

export function declareTag(cmd: Command): Command {
  return cmd.description("give an image another name").argument("<source>", "name, name@digest or id").argument("<target>", "NAME[:TAG]")
    .action((source: string, target: string) => new ImageStore(currentEnginePaths()).tag(source, target));
}

export function registerTag(program: Command): void {
  declareTag(program.command("tag"));
}
