/**
 * Where `berth cp` puts what it copies: docker's rules (docs.docker.com, `docker cp`), on
 * what the source is and what is at the destination. Pure.
 *
 * - a file to a path that does not exist: a file there (its directory must exist; a path
 *   ending in `/` must be an existing directory);
 * - a file to a file: the file's contents replace it; to a directory: into it, by the
 *   source's name;
 * - a directory to a path that does not exist: that directory, made, with the source's
 *   contents; to a file: an error; to a directory: the source directory into it — or,
 *   when the source ends in `/.`, its contents into it.
 */
import { BerthError } from "../../errors.ts";
import { resolvePath } from "../../runtime/host-path.ts";

export type PathKind = "file" | "dir" | "missing";

/** How the copy is made: the tar is unpacked in `into`, its top entry named `name` (the source's own name when undefined); `contents`: the source directory's entries, not the directory. */
export interface CopyPlan {
  into: string;
  name?: string;
  contents: boolean;
}

const clean = (p: string) => p.replace(/\/+$/, "") || "/";

/**
 * A container path as `berth cp` takes it: from the container's /, with or without its
 * leading slash, `.` and `..` cleaned, a trailing `/.` or `/` kept (docker's ResolvePath)
 * — the container's tar runs in its working directory, where a relative one would land,
 * and a last `..` would be a tar member named "..".
 *
 * @example fromContainerRoot("tmp/f") // → "/tmp/f"
 * @example fromContainerRoot("/srv/sub/../.") // → "/srv/."
 */
export function fromContainerRoot(p: string): string {
  const clean = resolvePath("/", p);
  if (p.endsWith("/.") || p === ".") return clean === "/" ? "/." : `${clean}/.`;
  if (p.endsWith("/") && clean !== "/") return `${clean}/`;
  return clean;
}

/** A path's directory and last name: `/a/b/` → `/a`, `b`. */
export function splitPath(p: string): { dir: string; base: string } {
  const c = clean(p);
  const slash = c.lastIndexOf("/");
  return { dir: slash < 0 ? "." : slash === 0 ? "/" : c.slice(0, slash), base: c === "/" ? "." : c.slice(slash + 1) };
}

/**
 * The plan for copying `src` (what it is: `srcKind`) to `dest` (what is there now:
 * `destKind`); throws BerthError naming the rule that refuses it.
 *
 * @example copyPlan("/etc/hostname", "file", "/tmp/hn", "missing") // → { into: "/tmp", name: "hn", contents: false }
 */
export function copyPlan(src: string, srcKind: "file" | "dir", dest: string, destKind: PathKind): CopyPlan {
  const contents = srcKind === "dir" && (src.endsWith("/.") || src === ".");
  const { dir, base } = splitPath(dest);
  if (destKind === "dir") return { into: clean(dest), contents };
  if (destKind === "file") {
    if (srcKind === "dir") throw new BerthError(`cannot copy a directory to a file: ${dest} is a file; give a directory, or a path that does not exist yet`, { field: "DEST" });
    if (dest.endsWith("/")) throw new BerthError(`${dest} is a file, not a directory; leave out the trailing /`, { field: "DEST" });
    return { into: dir, name: base, contents: false };
  }
  if (srcKind === "file" && dest.endsWith("/")) throw new BerthError(`the destination directory ${dest} does not exist; make it first, or leave out the trailing / to copy to a file of that name`, { field: "DEST" });
  // a file made by that name; a directory made in its place, the source's contents in it
  return { into: dir, name: base, contents: false };
}

/** Far above a real extended header (a long name, a few xattrs): a larger one is the container's tar lying. */
const MAX_EXTENDED_HEADER_BYTES = 1024 * 1024;

/**
 * A tar header's type of the entry a stream starts with (extended headers skipped):
 * "none" for an archive that ends at once (a tar that found nothing still writes its
 * end); undefined until a whole header is there. The stream is the container's tar's: an
 * extended header whose size is not plain octal or over MAX_EXTENDED_HEADER_BYTES is
 * "other", so a caller never waits for (nor keeps) more than about that much.
 */
export function firstEntryKind(bytes: Uint8Array): "file" | "dir" | "other" | "none" | undefined {
  let at = 0;
  while (at + 512 <= bytes.length) {
    if (bytes[at] === 0) return "none"; // an empty name: the end-of-archive block
    const type = String.fromCharCode(bytes[at + 156]!);
    // pax (x, g) and GNU long name/link (L, K) headers carry the next entry's metadata: skip them and their data
    if ("xgLK".includes(type)) {
      // octal digits, space- or NUL-padded (base-256, parseInt's "12abc" as 10: not a size to trust)
      const field = /^ *([0-7]*)[ \0]*$/.exec(new TextDecoder("latin1").decode(bytes.subarray(at + 124, at + 136)));
      const size = field ? Number.parseInt(field[1] || "0", 8) : Number.NaN;
      if (!(size <= MAX_EXTENDED_HEADER_BYTES)) return "other";
      at += 512 + Math.ceil(size / 512) * 512;
      continue;
    }
    return type === "5" ? "dir" : type === "0" || type === "\0" || type === "7" ? "file" : "other";
  }
  return undefined;
}

/**
 * A GNU tar `--transform` expression that renames the archive's top entry `from` (and
 * everything under it) to `to`, leaving symlink targets alone: both escaped, whatever
 * characters they hold.
 *
 * @example renameTopExpression("in.txt", "up") // → "s,^in\\.txt\\(/\\|$\\),up\\1,S"
 */
export function renameTopExpression(from: string, to: string): string {
  const pattern = from.replace(/[\\.[\]*^$,]/g, (c) => `\\${c}`);
  const replacement = to.replace(/[\\&,]/g, (c) => `\\${c}`);
  return `s,^${pattern}\\(/\\|$\\),${replacement}\\1,S`;
}

/**
 * The tar arguments that archive `path`: the entry itself by its name, or with `/.` at
 * its end, what the directory holds. The name comes after `--`: a file named `-v` or
 * `--to-command=…` is a name, not an option (GNU's and busybox's tar both end options there).
 *
 * @example archiveArgs("/srv/.") // → ["-C", "/srv", "-cf", "-", "--", "."]
 */
export function archiveArgs(path: string): string[] {
  if (path.endsWith("/.")) return ["-C", path.slice(0, -2) || "/", "-cf", "-", "--", "."];
  const { dir, base } = splitPath(path);
  return ["-C", dir, "-cf", "-", "--", base];
}

/**
 * The host's tar that unpacks a container's archive of `path` in `into`: only the entry
 * asked for (the archive's top name, `.` for a directory's contents). The archive is the
 * container's own tar's output — the image's, which the container may replace — so what
 * else it holds (a `.ssh/authorized_keys` beside the file asked for) must not land in the
 * host's directory; GNU tar refuses `..` and absolute names and defers symlinks that
 * lead out itself.
 */
export function hostUnpackArgv(into: string, path: string): string[] {
  // docker's CLI unpacks with NoLchown: the files are the invoking user's, not the container's uids (-a is not berth's)
  return ["tar", "-C", into, "-xf", "-", "--no-same-owner", "--no-wildcards", "--no-unquote", "--", archiveArgs(path).at(-1)!];
}
