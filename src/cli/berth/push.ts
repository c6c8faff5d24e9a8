/** `berth push [--tls-verify=false] [-q] NAME[:TAG]` (= `berth image push`): an image to its registry. */
import type { Command } from "../command.ts";
import { ImageStore } from "../../engine/image/image-store.ts";
import { pushImage } from "../../engine/image/push.ts";
import { currentEnginePaths } from "./globals.ts";
import { parseTlsVerify } from "./tls-verify.ts";
import { writeOut } from "../stdio.ts";

export function declarePush(cmd: Command): Command {
  return cmd.description("upload an image to a registry").argument("<name>", "NAME[:TAG]")
    .option("-q, --quiet", "print nothing but errors")
    .option("--tls-verify <bool>", "verify the registry's TLS certificate (false: also allow plain HTTP)", "true")
    .action(async (name: string, opts: { quiet?: boolean; tlsVerify: string }) => {
      const tlsVerify = parseTlsVerify(opts.tlsVerify);
      await pushImage(new ImageStore(currentEnginePaths()), name, {
        tlsVerify,
        onEvent: (e) => {
          if (opts.quiet) return;
          if (e.kind === "start") writeOut(`The push refers to repository [${e.repository}]\n`);
          else if (e.kind === "layer") { if (e.status !== "Preparing") writeOut(`${e.id}: ${e.status}\n`); }
          else writeOut(`${e.tag}: digest: ${e.digest} size: ${e.size}\n`);
        },
      });
    });
}

export function registerPush(program: Command): void {
  declarePush(program.command("push"));
}
