/**
 * `berth images` (= `berth image ls`): docker's table — REPOSITORY, TAG, IMAGE ID,
 * CREATED, SIZE; a row per name, `<none>` for untagged ones — with -a, -q, --digests,
 * --no-trunc, --filter dangling=|reference=|label=, --format.
 */
import { collect, type Command } from "../command.ts";
import { ImageStore, type ImageRecord } from "../../engine/image/image-store.ts";
import { listImageRows, type ImageRow } from "../../engine/image/image-list.ts";
import { formatDecimalBytes } from "../../cgroups/units.ts";
import { humanDuration } from "../../human-duration.ts";
import { alignColumns, parseTemplate } from "../../observe/template.ts";
import { currentEnginePaths } from "./globals.ts";
import { writeOut } from "../stdio.ts";

interface ImagesOptions {
  all?: boolean;
  quiet?: boolean;
  digests?: boolean;
  /** false with --no-trunc */
  trunc?: boolean;
  filter: string[];
  format?: string;
}

export function declareImagesOptions(cmd: Command): Command {
  return cmd.argument("[repository]", "show only images of this repository[:tag]")
    .option("-a, --all", "show all images (berth keeps no intermediate images: the same list)")
    .option("-q, --quiet", "only image ids")
    .option("--digests", "show digests")
    .option("--no-trunc", "do not truncate ids")
    .option("-f, --filter <filter>", "dangling=true|false, reference=PATTERN, label=KEY[=VALUE] (repeatable)", collect, [])
    .option("--format <format>", "table, json, or a Go template ({{.Repository}}:{{.Tag}})");
}

export function registerImages(program: Command): void {
  declareImagesOptions(program.command("images").description("list images")).action(listImages);
}

const FIELDS = ["ID", "Repository", "Tag", "Digest", "CreatedSince", "CreatedAt", "Size", "Containers", "SharedSize", "UniqueSize", "VirtualSize"];

export function listImages(repository: string | undefined, opts: ImagesOptions): void {
  const shown = listImageRows(new ImageStore(currentEnginePaths()), { ...(repository !== undefined && { repository }), filters: opts.filter });
  const id = (img: ImageRecord) => (opts.trunc === false ? img.id : img.id.slice(7, 19));
  if (opts.quiet) {
    writeOut([...new Set(shown.map((r) => id(r.image)))].map((i) => `${i}\n`).join(""));
    return;
  }
  const values = (r: ImageRow): Record<string, string> => ({
    ID: id(r.image), Repository: r.repository, Tag: r.tag, Digest: r.digest,
    CreatedSince: r.created ? `${humanDuration(Date.now() - Date.parse(r.created))} ago` : "N/A",
    CreatedAt: r.created ? new Date(r.created).toISOString().replace("T", " ").replace(/\.\d+Z$/, " +0000 UTC") : "",
    Size: formatDecimalBytes(r.size), Containers: "N/A", SharedSize: "N/A", UniqueSize: "N/A", VirtualSize: formatDecimalBytes(r.size),
  });
  const format = opts.format || "table";
  if (format === "json") {
    writeOut(shown.map((r) => `${JSON.stringify(values(r))}\n`).join(""));
    return;
  }
  const defaultTable = `table {{.Repository}}\t{{.Tag}}${opts.digests ? "\t{{.Digest}}" : ""}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}`;
  const tpl = parseTemplate(format === "table" ? defaultTable : format, FIELDS);
  const headings = { ID: "IMAGE ID", Repository: "REPOSITORY", Tag: "TAG", Digest: "DIGEST", CreatedSince: "CREATED", CreatedAt: "CREATED AT", Size: "SIZE", VirtualSize: "VIRTUAL SIZE" };
  const lines = shown.map((r) => tpl.render(values(r), values(r)));
  if (tpl.table) writeOut(`${alignColumns([tpl.header(headings), ...lines])}\n`);
  else writeOut(lines.map((l) => `${l}\n`).join(""));
}
