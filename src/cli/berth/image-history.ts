/** `berth image history [-q] [--no-trunc] [--format] IMAGE` (= `berth history`): the config's history, newest first, with each layer's size. */
import type { Command } from "../command.ts";
import { ImageStore } from "../../engine/image/image-store.ts";
import { imageHistory } from "../../engine/image/inspect.ts";
import { formatDecimalBytes } from "../../cgroups/units.ts";
import { humanDuration } from "../../human-duration.ts";
import { alignColumns, parseTemplate } from "../../observe/template.ts";
import { currentEnginePaths } from "./globals.ts";
import { writeOut } from "../stdio.ts";

const FIELDS = ["ID", "CreatedSince", "CreatedAt", "CreatedBy", "Size", "Comment"];

export function declareHistory(cmd: Command): Command {
  return cmd.description("show the history of an image").argument("<image>", "name, name@digest or id")
    .option("-q, --quiet", "only image ids")
    .option("--no-trunc", "do not truncate the output")
    .option("-H, --human <bool>", "sizes and dates in human-readable form", "true")
    .option("--format <format>", "table, json, or a Go template ({{.CreatedBy}})")
    .action((ref: string, opts: { quiet?: boolean; trunc?: boolean; human: string; format?: string }) => {
      const store = new ImageStore(currentEnginePaths());
      const image = store.resolve(ref);
      const rows = imageHistory(image, store.config(image));
      const full = opts.trunc === false;
      const id = (i: string) => (i.startsWith("sha256:") && !full ? i.slice(7, 19) : i);
      if (opts.quiet) return writeOut(rows.map((r) => `${id(r.id)}\n`).join(""));
      const human = opts.human !== "false";
      const values = (r: (typeof rows)[number]) => ({
        ID: id(r.id),
        CreatedSince: r.created ? (human ? `${humanDuration(Date.now() - Date.parse(r.created))} ago` : r.created) : "N/A",
        CreatedAt: r.created,
        CreatedBy: full || r.createdBy.length <= 45 ? r.createdBy : `${r.createdBy.slice(0, 44)}…`,
        Size: human ? formatDecimalBytes(r.size) : String(r.size),
        Comment: r.comment,
      });
      const format = opts.format || undefined;
      if (format === "json") return writeOut(rows.map((r) => `${JSON.stringify(values(r))}\n`).join(""));
      const tpl = parseTemplate(format ?? "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}", FIELDS);
      const lines = rows.map((r) => tpl.render(values(r)));
      const headings = { ID: "IMAGE", CreatedSince: "CREATED", CreatedAt: "CREATED AT", CreatedBy: "CREATED BY", Size: "SIZE", Comment: "COMMENT" };
      writeOut(tpl.table ? `${alignColumns([tpl.header(headings), ...lines])}\n` : lines.map((l) => `${l}\n`).join(""));
    });
}

export function registerHistory(program: Command): void {
  declareHistory(program.command("history"));
}
