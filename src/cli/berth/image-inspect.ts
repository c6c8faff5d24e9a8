/** `berth image inspect [-f FORMAT] IMAGE…`: docker's JSON, always an array (or FORMAT per image). */
import type { Command } from "../command.ts";
import { ImageStore, type ImageRecord } from "../../engine/image/image-store.ts";
import { inspectImage } from "../../engine/image/inspect.ts";
import { inspectTemplate, type GoShape } from "../../observe/template.ts";
import { currentEnginePaths } from "./globals.ts";
import { writeErr, writeOut } from "../stdio.ts";
import { ExitError, EXIT_BERTH_FAILED } from "../exit.ts";

/** docker's JSON of one image (also what `berth inspect IMAGE` shows) */
export function imageInspectObject(store: ImageStore, image: ImageRecord): Record<string, unknown> {
  const lowerDirs = [...image.chainIds].reverse().map((c) => store.snapshots.fsDir(c));
  return inspectImage(image, store.config(image), store.unpackedSize(image), { lowerDirs }) as Record<string, unknown>;
}

/** docker's image inspect for templates: its maps (a missing key prints `<no value>`), and the config fields left out when unset */
export const IMAGE_SHAPE: GoShape = {
  maps: ["Config.Labels", "Config.Volumes", "Config.ExposedPorts", "GraphDriver.Data"],
  fields: ["Variant", "Config.ExposedPorts", "Config.StopSignal", "Config.Healthcheck", "Config.Shell", "Config.ArgsEscaped"],
};

export function declareImageInspect(cmd: Command): Command {
  return cmd.description("show images' details as JSON").argument("<image...>", "name, name@digest or id")
    .option("-f, --format <template>", "a Go template ({{.Id}}, {{json .Config}}) instead of JSON")
    .action((refs: string[], opts: { format?: string }) => {
      const template = inspectTemplate(opts.format);
      const store = new ImageStore(currentEnginePaths());
      const out: unknown[] = [];
      const missing: string[] = [];
      for (const ref of refs) {
        const image = store.find(ref);
        if (!image) {
          missing.push(ref);
          continue;
        }
        out.push(imageInspectObject(store, image));
      }
      if (template) writeOut(out.map((o) => `${template.render(o, IMAGE_SHAPE)}\n`).join(""));
      else writeOut(`${JSON.stringify(out, null, 4)}\n`);
      // docker prints what it found, then the error, and exits 1 — berth's own failure code is 125
      if (missing.length) {
        writeErr(missing.map((m) => `berth: no such image: ${m}; pull it with \`berth pull ${m}\`\n`).join(""));
        throw new ExitError(EXIT_BERTH_FAILED);
      }
    });
}
