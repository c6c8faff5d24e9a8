/**
 * docker's three ways to ask for a mount — `-v/--volume`, `--mount`, `--tmpfs` — parsed
 * into one shape, then turned into OCI mounts the way moby does (binds `rbind` +
 * propagation, default `rprivate`; tmpfs `noexec,nosuid,nodev`). Pure: whether a bind
 * source exists and where a named volume lives are the caller's answers.
 */
import { BerthError } from "../../errors.ts";
import { parseSize } from "../../cgroups/units.ts";
import type { Mount } from "../../spec/runtime-spec.ts";
import { localDriverOptions } from "../volume/local-options.ts";
import { parseLabels } from "../labels.ts";
import { splitKeyValue } from "../../key-value.ts";

export type MountRequest =
  | { type: "bind"; source: string; target: string; readonly: boolean; propagation: string; flag: string; createSource: boolean }
  /**
   * copy: seed a new (empty) volume with the image's files at the target, as docker does unless nocopy;
   * options, labels: what a volume that does not exist yet is created with (`--mount volume-opt=`, `volume-label=`)
   */
  | { type: "volume"; name: string; target: string; readonly: boolean; anonymous: boolean; copy: boolean; flag: string; options?: Record<string, string>; labels?: Record<string, string> }
  | { type: "tmpfs"; target: string; options: string[]; flag: string };

const PROPAGATIONS = ["shared", "rshared", "slave", "rslave", "private", "rprivate"];

function target(path: string, flag: string, whole: string): string {
  if (!path.startsWith("/")) throw new BerthError(`invalid mount ${JSON.stringify(whole)}: the container path ${JSON.stringify(path)} must be absolute`, { field: flag });
  if (path.replace(/\/+$/, "") === "") throw new BerthError(`invalid mount ${JSON.stringify(whole)}: the container path cannot be /`, { field: flag });
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
}

const VOLUME_NAME = /^[A-Za-z0-9][\w.-]+$/;

/**
 * `-v SRC:DST[:OPTS]`, `-v DST` (an anonymous volume). SRC is a host path (absolute) or
 * a volume name; OPTS is a comma list of ro/rw, a propagation, z/Z (accepted, no
 * SELinux here), nocopy. A missing host directory is created, as `docker -v` does.
 *
 * @example parseVolumeFlag("/srv/data:/data:ro") // → { type: "bind", source: "/srv/data", target: "/data", readonly: true, … }
 */
export function parseVolumeFlag(spec: string, newVolumeName: () => string): MountRequest {
  const flag = "--volume";
  const form = "use HOST-PATH:CONTAINER-PATH[:ro], VOLUME:CONTAINER-PATH[:ro] or CONTAINER-PATH";
  const parts = spec.split(":");
  if (spec === "" || parts.length > 3 || parts.some((p) => p === "")) throw new BerthError(`invalid volume spec ${JSON.stringify(spec)}; ${form}`, { field: flag });
  if (parts.length === 1) return { type: "volume", name: newVolumeName(), target: target(parts[0]!, flag, spec), readonly: false, anonymous: true, copy: true, flag };
  const [source, dest, opts = ""] = parts as [string, string, string?];
  let readonly = false;
  let copy = true;
  let propagation = "rprivate";
  for (const o of opts ? opts.split(",") : []) {
    if (o === "ro") readonly = true;
    else if (o === "rw") readonly = false;
    else if (PROPAGATIONS.includes(o)) propagation = o;
    else if (o === "nocopy" || o === "copy") copy = o === "copy";
    else if (!["z", "Z"].includes(o)) {
      throw new BerthError(`invalid option ${JSON.stringify(o)} in ${JSON.stringify(spec)}; use ro, rw, z, Z, nocopy or a propagation (${PROPAGATIONS.join(", ")})`, { field: flag });
    }
  }
  if (source.startsWith("/")) return { type: "bind", source, target: target(dest, flag, spec), readonly, propagation, flag, createSource: true };
  if (!VOLUME_NAME.test(source)) {
    throw new BerthError(`invalid volume name ${JSON.stringify(source)} in ${JSON.stringify(spec)}: a host path must be absolute, a volume name [A-Za-z0-9][A-Za-z0-9_.-]+`, { field: flag });
  }
  return { type: "volume", name: source, target: target(dest, flag, spec), readonly, anonymous: false, copy, flag };
}

/**
 * The fields of a `--mount` value: comma-separated, a field in double quotes may hold
 * commas (`"volume-opt=o=size=64m,uid=1000"`, `""` for a quote) — docker reads the
 * value as one CSV record. Pure.
 *
 * @example csvFields('type=volume,"volume-opt=o=a,b"') // → ["type=volume", "volume-opt=o=a,b"]
 */
export function csvFields(text: string, flag: string): string[] {
  const bad = (why: string) => new BerthError(`${why} in ${JSON.stringify(text)}; quote a whole field ("volume-opt=o=a,b"), a quote inside it doubled`, { field: flag });
  const out: string[] = [];
  let field = "";
  // 0: unquoted, 1: inside quotes, 2: just after the closing quote
  let state = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (state === 1) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') state = 2;
      else field += c;
    } else if (c === ",") {
      out.push(field);
      field = "";
      state = 0;
    } else if (state === 2) throw bad("text after a field's closing quote");
    else if (c === '"') {
      // Go's encoding/csv, which docker reads --mount with: a quote only opens a field
      if (field !== "") throw bad("a double quote inside an unquoted field");
      state = 1;
    } else field += c;
  }
  if (state === 1) throw bad("an unterminated quote");
  out.push(field);
  return out;
}

/**
 * `--mount type=bind|volume|tmpfs,source=…,target=…[,readonly][,bind-propagation=…][,volume-nocopy][,volume-driver=local][,volume-opt=K=V…][,volume-label=K=V…][,tmpfs-size=…][,tmpfs-mode=…]`.
 * A bind source must exist (docker refuses to create it for `--mount`).
 */
export function parseMountFlag(spec: string, newVolumeName: () => string): MountRequest {
  const flag = "--mount";
  const kv = new Map<string, string>();
  // the repeatable ones: each a KEY=VALUE of its own
  const volumeOpts: string[] = [];
  const volumeLabels: string[] = [];
  for (const field of csvFields(spec, flag)) {
    const [rawKey, value] = splitKeyValue(field) ?? [field, "true"];
    const key = rawKey.trim().toLowerCase();
    if (key === "") throw new BerthError(`invalid mount ${JSON.stringify(spec)}; use type=bind|volume|tmpfs,source=…,target=…`, { field: flag });
    if (key === "volume-opt") volumeOpts.push(value);
    else if (key === "volume-label") volumeLabels.push(value);
    kv.set(key, value);
  }
  const take = (...keys: string[]) => keys.map((k) => kv.get(k)).find((v) => v !== undefined);
  const type = kv.get("type") ?? "volume";
  const dest = take("target", "destination", "dst");
  if (dest === undefined) throw new BerthError(`${JSON.stringify(spec)} has no target; add target=/path/in/container`, { field: flag });
  const readonlyText = take("readonly", "ro");
  const readonly = readonlyText !== undefined && readonlyText !== "false" && readonlyText !== "0";
  const known = new Set(["type", "source", "src", "target", "destination", "dst", "readonly", "ro", "bind-propagation", "volume-opt", "volume-nocopy", "volume-driver", "volume-label", "tmpfs-size", "tmpfs-mode", "consistency", "bind-nonrecursive"]);
  for (const k of kv.keys()) if (!known.has(k)) throw new BerthError(`unknown key ${JSON.stringify(k)} in ${JSON.stringify(spec)}`, { field: flag });
  const source = take("source", "src");
  if (type === "bind") {
    if (!source?.startsWith("/")) throw new BerthError(`a bind mount needs an absolute source=…, got ${JSON.stringify(source ?? "")}`, { field: flag });
    const propagation = kv.get("bind-propagation") ?? "rprivate";
    if (!PROPAGATIONS.includes(propagation)) throw new BerthError(`invalid bind-propagation ${JSON.stringify(propagation)}; use one of ${PROPAGATIONS.join(", ")}`, { field: flag });
    return { type, source, target: target(dest, flag, spec), readonly, propagation, flag, createSource: false };
  }
  if (type === "volume") {
    if (source !== undefined && !VOLUME_NAME.test(source)) throw new BerthError(`invalid volume name ${JSON.stringify(source)}; use [A-Za-z0-9][A-Za-z0-9_.-]+`, { field: flag });
    // Go's strconv.ParseBool, as docker reads it
    const nocopy = kv.get("volume-nocopy")?.toLowerCase();
    if (nocopy !== undefined && !["true", "t", "1", "false", "f", "0"].includes(nocopy)) throw new BerthError(`invalid volume-nocopy ${JSON.stringify(nocopy)} in ${JSON.stringify(spec)}; use volume-nocopy, volume-nocopy=true or volume-nocopy=false`, { field: flag });
    const copy = nocopy === undefined || ["false", "f", "0"].includes(nocopy);
    const driver = kv.get("volume-driver");
    if (driver !== undefined && driver !== "local") throw new BerthError(`volume-driver ${JSON.stringify(driver)} is not available (no volume plugins here); use local`, { field: flag });
    let options: Record<string, string> | undefined;
    try {
      options = volumeOpts.length > 0 ? localDriverOptions(volumeOpts, "volume-opt") : undefined;
    } catch (err) {
      throw new BerthError(`${(err as Error).message} in ${JSON.stringify(spec)}`, { field: flag });
    }
    const labels = volumeLabels.length > 0 ? parseLabels(volumeLabels, flag) : undefined;
    return { type, name: source ?? newVolumeName(), target: target(dest, flag, spec), readonly, anonymous: source === undefined, copy, flag, ...(options && { options }), ...(labels && { labels }) };
  }
  if (type === "tmpfs") {
    if (source !== undefined) throw new BerthError("a tmpfs mount takes no source", { field: flag });
    const options: string[] = [];
    const size = kv.get("tmpfs-size");
    if (size !== undefined) options.push(`size=${parseSize(size, `${flag} tmpfs-size`, { allowUnlimited: false })}`);
    const mode = kv.get("tmpfs-mode");
    if (mode !== undefined) {
      if (!/^[0-7]{1,4}$/.test(mode)) throw new BerthError(`invalid tmpfs-mode ${JSON.stringify(mode)}; use octal such as 1777`, { field: flag });
      options.push(`mode=${mode}`);
    }
    if (readonly) options.push("ro");
    return { type, target: target(dest, flag, spec), options, flag };
  }
  throw new BerthError(`invalid type ${JSON.stringify(type)}; use bind, volume or tmpfs`, { field: flag });
}

/** `--tmpfs /run[:rw,size=64m,mode=1777]` */
export function parseTmpfsFlag(spec: string): MountRequest {
  const flag = "--tmpfs";
  const colon = spec.indexOf(":");
  const dest = colon < 0 ? spec : spec.slice(0, colon);
  const options = colon < 0 || spec.slice(colon + 1) === "" ? [] : spec.slice(colon + 1).split(",");
  return { type: "tmpfs", target: target(dest, flag, spec), options, flag };
}

/**
 * The OCI mounts for the requests, sorted as moby sorts them (fewer path components
 * first, so /a is mounted before /a/b); a target given twice is an error, as docker's
 * "Duplicate mount point".
 */
export function requestedMounts(requests: MountRequest[], volumePath: (name: string) => string): Mount[] {
  const seen = new Set<string>();
  for (const r of requests) {
    if (seen.has(r.target)) throw new BerthError(`duplicate mount point ${r.target}; mount one thing there`, { field: r.flag });
    seen.add(r.target);
  }
  const depth = (p: string) => p.split("/").filter(Boolean).length;
  const sorted = [...requests].sort((a, b) => depth(a.target) - depth(b.target));
  return sorted.map((r): Mount => {
    if (r.type === "tmpfs") {
      // moby: noexec,nosuid,nodev first, the user's options after (a later option wins)
      return { destination: r.target, type: "tmpfs", source: "tmpfs", options: ["noexec", "nosuid", "nodev", "rprivate", ...r.options] };
    }
    const source = r.type === "bind" ? r.source : volumePath(r.name);
    const propagation = r.type === "bind" ? r.propagation : "rprivate";
    return { destination: r.target, type: "bind", source, options: ["rbind", propagation, ...(r.readonly ? ["ro"] : [])] };
  });
}
