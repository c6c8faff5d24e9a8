/**
 * `berth images` (= `berth image ls`): docker's table — REPOSITORY, TAG, IMAGE ID,
 * CREATED, SIZE; a row per name, `<none>` for untagged ones — with -a, -q, --digests,
 * --no-trunc, --filter dangling=|reference=|label=, --format.
 */
import { collect, type Command } from "../command.ts";
import { BerthError } from "../../errors.ts";
import { ImageStore, type ImageRecord } from "../../engine/image/image-store.ts";
import { familiarRepository, parseReference, repositoryName } from "../../engine/image/reference.ts";
import { formatDecimalBytes } from "../../cgroups/units.ts";
import { humanDuration } from "../../human-duration.ts";
import { alignColumns, parseTemplate } from "../../observe/template.ts";
import { currentEnginePaths } from "./globals.ts";
import { writeOut } from "../stdio.ts";
import { splitKeyValue } from "../../key-value.ts";
import { hasLabel } from "../../engine/container/views.ts";

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

interface Row {
  image: ImageRecord;
  repository: string;
  tag: string;
  digest: string;
  created: string;
  size: number;
  labels: Record<string, string>;
}

const FIELDS = ["ID", "Repository", "Tag", "Digest", "CreatedSince", "CreatedAt", "Size", "Containers", "SharedSize", "UniqueSize", "VirtualSize"];

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|\\]/g, "\\$&").replaceAll("*", "[^/]*").replaceAll("?", "[^/]")}$`);
}

export function listImages(repository: string | undefined, opts: ImagesOptions): void {
  const store = new ImageStore(currentEnginePaths());
  const rows: Row[] = [];
  for (const image of store.list()) {
    const config = store.config(image);
    const base = { image, created: config.created ?? "", size: store.unpackedSize(image), labels: config.config?.Labels ?? {} };
    const digestOf = (repo: string) => image.repoDigests.find((d) => d.startsWith(`${repo}@`))?.slice(repo.length + 1) ?? "<none>";
    if (image.names.length === 0) {
      const repo = image.repoDigests[0]?.split("@")[0];
      rows.push({ ...base, repository: repo ? familiarRepository(repo) : "<none>", tag: "<none>", digest: repo ? digestOf(repo) : "<none>" });
    }
    for (const name of image.names) {
      const r = parseReference(name);
      rows.push({ ...base, repository: familiarRepository(repositoryName(r)), tag: r.tag ?? "<none>", digest: digestOf(repositoryName(r)) });
    }
  }
  let shown = rows.filter((row) => opts.filter.every((f) => matchesFilter(row, f)));
  if (repository !== undefined) {
    const [repo, tag] = repository.includes(":") ? repository.split(":") : [repository, undefined];
    shown = shown.filter((row) => (row.repository === repo || row.repository === familiarRepository(repositoryName(parseReference(repo!)))) && (tag === undefined || row.tag === tag));
  }
  shown.sort((a, b) => b.created.localeCompare(a.created) || a.repository.localeCompare(b.repository) || a.tag.localeCompare(b.tag));
  const id = (img: ImageRecord) => (opts.trunc === false ? img.id : img.id.slice(7, 19));
  if (opts.quiet) {
    writeOut([...new Set(shown.map((r) => id(r.image)))].map((i) => `${i}\n`).join(""));
    return;
  }
  const values = (r: Row): Record<string, string> => ({
    ID: id(r.image), Repository: r.repository, Tag: r.tag, Digest: r.digest,
    CreatedSince: r.created ? `${humanDuration(Date.now() - Date.parse(r.created))} ago` : "N/A",
    CreatedAt: r.created ? new Date(r.created).toISOString().replace("T", " ").replace(/\.\d+Z$/, " +0000 UTC") : "",
    Size: formatDecimalBytes(r.size), Containers: "N/A", SharedSize: "N/A", UniqueSize: "N/A", VirtualSize: formatDecimalBytes(r.size),
  });
  const format = opts.format ?? "table";
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

function matchesFilter(row: Row, filter: string): boolean {
  const [key, value] = splitKeyValue(filter) ?? [filter, ""];
  switch (key) {
    case "dangling": {
      if (value !== "true" && value !== "false") throw new BerthError(`--filter dangling=${value}: must be true or false`, {});
      return (row.tag === "<none>" && row.image.names.length === 0) === (value === "true");
    }
    case "reference": {
      const re = globToRegExp(value);
      return re.test(row.repository) || re.test(`${row.repository}:${row.tag}`);
    }
    case "label":
      return hasLabel(row.labels, value);
    default:
      throw new BerthError(`--filter ${JSON.stringify(filter)}: unknown filter ${JSON.stringify(key)}; use dangling=true|false, reference=PATTERN or label=KEY[=VALUE]`, {});
  }
}
