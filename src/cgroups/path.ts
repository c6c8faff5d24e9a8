/**
 * OCI `linux.cgroupsPath` → a cgroup path inside each hierarchy. Pure.
 *
 * Three forms (runtime-spec config-linux.md, runc's conventions):
 * - absolute `/a/b`: relative to the hierarchy's root;
 * - relative `a/b`: relative to the caller's own cgroup — on v1 the caller's cgroup in
 *   each hierarchy, on v2 the *parent* of the caller's cgroup, because the caller's own
 *   v2 cgroup holds processes and so cannot delegate controllers (runc fs2 does the same);
 * - systemd `slice:prefix:name` (with --systemd-cgroup, or when the path has that shape):
 *   `system.slice:docker:abc` → `/system.slice/docker-abc.scope`. berth has no systemd
 *   to ask, so it maps the unit to the path systemd would give it and uses cgroupfs.
 */
import { BerthError } from "../errors.ts";

/** "/", or "/"-separated non-empty names none of which is . or .. — already clean */
const CLEAN = /^(?:\/|(?:\/(?!\.\.?(?:\/|$))[^/]+)+)$/;

/** Lexically clean an absolute path so `..` can never climb above the hierarchy root. */
export function cleanCgroupPath(path: string): string {
  // most paths are clean already: one regex test instead of a split and a join (berth stats cleans ~40 per container)
  if (CLEAN.test(path)) return path;
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return "/" + parts.join("/");
}

/**
 * systemd's slice naming: `a-b-c.slice` lives at `/a.slice/a-b.slice/a-b-c.slice`.
 *
 * @example expandSlice("kubepods-burstable.slice") // → "/kubepods.slice/kubepods-burstable.slice"
 */
export function expandSlice(slice: string, field = "linux.cgroupsPath"): string {
  if (slice === "-.slice") return "/";
  if (!slice.endsWith(".slice") || slice.includes("/")) {
    throw new BerthError(`invalid slice ${JSON.stringify(slice)}; a slice is a name ending in ".slice" without "/", e.g. "system.slice"`, { field });
  }
  const name = slice.slice(0, -".slice".length);
  if (name === "" || name.startsWith("-") || name.endsWith("-") || name.includes("--")) {
    throw new BerthError(`invalid slice ${JSON.stringify(slice)}; dashes separate non-empty parent names, e.g. "kubepods-burstable.slice"`, { field });
  }
  let path = "";
  let prefix = "";
  for (const part of name.split("-")) {
    prefix = prefix === "" ? part : `${prefix}-${part}`;
    path += `/${prefix}.slice`;
  }
  return path;
}

export function isSystemdPath(cgroupsPath: string): boolean {
  return !cgroupsPath.startsWith("/") && cgroupsPath.split(":").length === 3;
}

/** `slice:prefix:name` → the cgroupfs path systemd would use for that unit. */
export function systemdPathToCgroupfs(cgroupsPath: string, field = "linux.cgroupsPath"): string {
  const parts = cgroupsPath.split(":");
  if (parts.length !== 3) {
    throw new BerthError(`expected "slice:prefix:name" with --systemd-cgroup, got ${JSON.stringify(cgroupsPath)}`, { field });
  }
  const [slice, prefix, name] = parts as [string, string, string];
  if (name === "") throw new BerthError(`the name part of ${JSON.stringify(cgroupsPath)} is empty; use "slice:prefix:name"`, { field });
  const parent = expandSlice(slice === "" ? "system.slice" : slice, field);
  // A name that is itself a slice is used as is (runc: "if name ends in .slice, it is the unit").
  const unit = name.endsWith(".slice") ? name : `${prefix === "" ? "" : `${prefix}-`}${name}.scope`;
  return cleanCgroupPath(`${parent}/${unit}`);
}

export interface ResolveOptions {
  /** the caller's own cgroup in the hierarchy being resolved (from /proc/self/cgroup) */
  ownCgroup: string;
  /** true for the v2 hierarchy: relative paths hang off the parent of ownCgroup */
  unified: boolean;
  systemd?: boolean;
  field?: string;
}

/**
 * @example
 * resolveCgroupPath("/docker/abc", { ownCgroup: "/user.slice", unified: true }) // → "/docker/abc"
 * resolveCgroupPath("abc", { ownCgroup: "/user.slice/session-1.scope", unified: true }) // → "/user.slice/abc"
 */
export function resolveCgroupPath(cgroupsPath: string, opts: ResolveOptions): string {
  const field = opts.field ?? "linux.cgroupsPath";
  if (cgroupsPath === "") throw new BerthError("is empty; give an absolute path such as /berth/demo", { field });
  if (opts.systemd || isSystemdPath(cgroupsPath)) return systemdPathToCgroupfs(cgroupsPath, field);
  if (cgroupsPath.startsWith("/")) return cleanCgroupPath(cgroupsPath);
  const own = cleanCgroupPath(opts.ownCgroup);
  const base = opts.unified ? cleanCgroupPath(own.slice(0, own.lastIndexOf("/")) || "/") : own;
  // Clean the relative part on its own first so that `..` cannot climb out of the base.
  return cleanCgroupPath(`${base}/${cleanCgroupPath(cgroupsPath)}`);
}

/** The directory of cgroup `path` under a hierarchy mounted at `mountPoint` whose root is `mountRoot`. */
export function cgroupDir(mountPoint: string, mountRoot: string, path: string): string {
  // Inside a cgroup namespace or a container, the mount shows a subtree: strip its root.
  const root = cleanCgroupPath(mountRoot);
  let inner = cleanCgroupPath(path);
  if (root !== "/" && (inner === root || inner.startsWith(root + "/"))) inner = inner.slice(root.length) || "/";
  return inner === "/" ? mountPoint : `${mountPoint}${inner}`;
}
