/**
 * What `images` lists: one row per name an image has (or one `<none>` row), docker's
 * filters (dangling, reference, label) and its order (newest first). The CLI formats the
 * rows; the choosing is here, pure but for reading the store.
 */
import { BerthError } from "../../errors.ts";
import { filterBool, parseFilterFlag, quoteInput } from "../../key-value.ts";
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
 * The rows `repository[:tag]` and every filter choose, newest first. A bad filter throws,
 * rows or none.
 *
 * @example chooseImageRows(rows, { filters: ["dangling=true"] }) // → the untagged ones
 */
export function chooseImageRows(rows: ImageRow[], opts: { repository?: string; filters: string[] }): ImageRow[] {
  const filters = opts.filters.map(parseImageFilter);
  let shown = rows.filter((row) => filters.every((f) => matchesImageFilter(row, f)));
  if (opts.repository !== undefined) {
    const [repo, tag] = opts.repository.includes(":") ? opts.repository.split(":") : [opts.repository, undefined];
    shown = shown.filter((row) => (row.repository === repo || row.repository === familiarRepository(repositoryName(parseReference(repo!)))) && (tag === undefined || row.tag === tag));
  }
  return shown.sort((a, b) => b.created.localeCompare(a.created) || a.repository.localeCompare(b.repository) || a.tag.localeCompare(b.tag));
}

export type ImageFilter = { key: "dangling"; dangling: boolean } | { key: "reference"; pattern: RegExp } | { key: "label"; label: string };

const IMAGE_FILTERS = ["dangling", "reference", "label"];

/**
 * docker's `images --filter`: dangling=true|false, reference=PATTERN (a glob: * and ? within
 * a path component, [a-z] classes), label=KEY[=VALUE].
 *
 * @example parseImageFilter("dangling=1") // → { key: "dangling", dangling: true }
 */
export function parseImageFilter(text: string): ImageFilter {
  const [key, value] = parseFilterFlag(text, IMAGE_FILTERS);
  if (key === "dangling") return { key, dangling: filterBool(key, value) };
  if (key === "label") return { key, label: value };
  const pattern = globToRegExp(value);
  if (!pattern) throw new BerthError(`invalid reference ${quoteInput(value)}; use reference=PATTERN with * ? and closed [ ] classes`, { field: "--filter" });
  return { key: "reference", pattern };
}

export function matchesImageFilter(row: ImageRow, f: ImageFilter): boolean {
  if (f.key === "dangling") return (row.tag === "<none>" && row.image.names.length === 0) === f.dangling;
  if (f.key === "label") return hasLabel(row.labels, f.label);
  return f.pattern.test(row.repository) || f.pattern.test(`${row.repository}:${row.tag}`);
}

/** Go's path.Match pattern as a RegExp: `*` and `?` stay within a path component, `[…]` (`[^…]`, `[!…]`) is a class; undefined for an unclosed class. */
function globToRegExp(glob: string): RegExp | undefined {
  const literal = (c: string) => c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "\\" && i + 1 < glob.length) re += literal(glob[++i]!);
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) return undefined;
      const body = glob.slice(i + 1, end).replace(/^[!^]/, "^").replace(/[\\\]\[]/g, "\\$&");
      re += `[${body}]`;
      i = end;
    } else re += literal(c);
  }
  try {
    return new RegExp(`^${re}$`);
  } catch {
    return undefined;
  }
}
