/**
 * What `images` lists: one row per name an image has (or one `<none>` row), docker's
 * filters (dangling, reference, label) and its order (newest first). The CLI formats the
 * rows; the choosing is here, pure but for reading the store.
 */
import { BerthError } from "../../errors.ts";
import { splitKeyValue } from "../../key-value.ts";
import { hasLabel } from "../labels.ts";
import type { ImageRecord, ImageStore } from "./image-store.ts";
import { familiarRepository, parseReference, repositoryName } from "./reference.ts";

export interface ImageRow {
  image: ImageRecord;
  repository: string;
  tag: string;
  digest: string;
  created: string;
  size: number;
  labels: Record<string, string>;
}

/** The store's images as `images` rows, newest first, those `repository[:tag]` and every filter choose. */
export function listImageRows(store: ImageStore, opts: { repository?: string; filters: string[] }): ImageRow[] {
  const rows: ImageRow[] = [];
  for (const image of store.list()) {
    const config = store.config(image);
    rows.push(...rowsOf(image, { created: config.created ?? "", size: store.unpackedSize(image), labels: config.config?.Labels ?? {} }));
  }
  return chooseImageRows(rows, opts);
}

/** One row per name the image has, or one `<none>` row (with its repository when it was pulled by digest). */
export function rowsOf(image: ImageRecord, base: Pick<ImageRow, "created" | "size" | "labels">): ImageRow[] {
  const digestOf = (repo: string) => image.repoDigests.find((d) => d.startsWith(`${repo}@`))?.slice(repo.length + 1) ?? "<none>";
  if (image.names.length === 0) {
    const repo = image.repoDigests[0]?.split("@")[0];
    return [{ image, ...base, repository: repo ? familiarRepository(repo) : "<none>", tag: "<none>", digest: repo ? digestOf(repo) : "<none>" }];
  }
  return image.names.map((name) => {
    const r = parseReference(name);
    return { image, ...base, repository: familiarRepository(repositoryName(r)), tag: r.tag ?? "<none>", digest: digestOf(repositoryName(r)) };
  });
}

/**
 * The rows `repository[:tag]` and every filter choose, newest first. A bad filter throws.
 *
 * @example chooseImageRows(rows, { filters: ["dangling=true"] }) // → the untagged ones
 */
export function chooseImageRows(rows: ImageRow[], opts: { repository?: string; filters: string[] }): ImageRow[] {
  let shown = rows.filter((row) => opts.filters.every((f) => matchesImageFilter(row, f)));
  if (opts.repository !== undefined) {
    const [repo, tag] = opts.repository.includes(":") ? opts.repository.split(":") : [opts.repository, undefined];
    shown = shown.filter((row) => (row.repository === repo || row.repository === familiarRepository(repositoryName(parseReference(repo!)))) && (tag === undefined || row.tag === tag));
  }
  return shown.sort((a, b) => b.created.localeCompare(a.created) || a.repository.localeCompare(b.repository) || a.tag.localeCompare(b.tag));
}

/** docker's `images --filter`: dangling=true|false, reference=PATTERN (a glob, * and ? within a path component), label=KEY[=VALUE]. */
export function matchesImageFilter(row: ImageRow, filter: string): boolean {
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

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|\\]/g, "\\$&").replaceAll("*", "[^/]*").replaceAll("?", "[^/]")}$`);
}
