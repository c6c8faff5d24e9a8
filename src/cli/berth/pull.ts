/** `berth pull [--platform OS/ARCH[/VARIANT]] [-q] [--tls-verify=false] REF`: an image from a registry. */
import type { Command } from "../command.ts";
import { ImageStore } from "../../engine/image/image-store.ts";
import { pullImage } from "../../engine/image/pull.ts";
import { parsePlatform } from "../../engine/image/platform.ts";
import { parseReference } from "../../engine/image/reference.ts";
import { currentEnginePaths } from "./globals.ts";
import { pullReporter } from "./pull-progress.ts";
import { parseTlsVerify } from "./tls-verify.ts";
import { writeOut } from "../stdio.ts";

export function declarePull(cmd: Command): Command {
  return cmd.description("download an image from a registry")
    .argument("<reference>", "NAME[:TAG|@DIGEST]")
    .option("--platform <platform>", "OS/ARCH[/VARIANT] to pull from a multi-platform image (default: this host's)")
    .option("-q, --quiet", "print only the image's reference")
    .option("--tls-verify <bool>", "verify the registry's TLS certificate (false: also allow plain HTTP)", "true")
    .action(async (reference: string, opts: { platform?: string; quiet?: boolean; tlsVerify: string }) => {
      const tlsVerify = parseTlsVerify(opts.tlsVerify);
      const platform = opts.platform === undefined ? undefined : parsePlatform(opts.platform);
      const given = parseReference(reference, { defaultTag: false });
      if (!opts.quiet && given.tag === undefined && given.digest === undefined) writeOut("Using default tag: latest\n");
      await pullImage(new ImageStore(currentEnginePaths()), reference, {
        tlsVerify, ...(platform && { platform }),
        onEvent: pullReporter(opts.quiet ? "quiet" : process.stdout.isTTY ? "terminal" : "plain"),
      });
    });
}

export function registerPull(program: Command): void {
  declarePull(program.command("pull"));
}
