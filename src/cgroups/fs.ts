/**
 * Reading and writing cgroupfs files. cgroupfs is not a normal filesystem: a write is
 * one syscall whose errno *is* the kernel's answer (EINVAL: bad value, EBUSY: a rule
 * such as "no internal processes", EOPNOTSUPP: not on this cgroup), so each write is a
 * single write(2) on an fd opened O_WRONLY without O_CREAT/O_TRUNC (kernfs refuses
 * O_CREAT on a missing file with a misleading EACCES), and errors are turned into a
 * sentence naming the file, the value and the likely fix.
 *
 * Through libc (sys/libc.ts) rather than node:fs: `create` and `run` go through this
 * layer, and loading node:fs costs Bun 3.5–4 ms and 5 MiB per process.
 */
import { BerthError, errnoOf } from "../errors.ts";
import { close, DT_DIR, listDir, mkdirPath, O, openPath, pathExists, readTextIfExists, rmdirPath, writeAll } from "../sys/libc.ts";

/** A cgroup file that may legitimately be absent (a controller not enabled, an old kernel, a cgroup just removed); other failures raise. */
export function readOptional(dir: string, file: string): string | undefined {
  return readTextIfExists(`${dir}/${file}`);
}

function explain(errno: string | undefined, file: string, value: string): string {
  switch (errno) {
    case "ENOENT":
      return "the file does not exist: the controller is not enabled for this cgroup, or the kernel lacks the feature";
    case "EACCES":
    case "EPERM":
      return "permission denied: writing here needs root, or the cgroup delegated to you (cgroup.procs, cgroup.subtree_control and the files in /sys/kernel/cgroup/delegate)";
    case "EINVAL":
      return `the kernel rejected ${JSON.stringify(value)} for ${file}: the value is out of the range or format this file accepts`;
    case "EBUSY":
      if (file === "cgroup.subtree_control") return `this cgroup has processes of its own, and cgroup v2 lets only cgroups without processes hand controllers to children ("no internal processes"); move its processes into a leaf cgroup first`;
      if (file.startsWith("memory.")) return "the cgroup already uses more memory than the new limit; free memory or choose a larger limit";
      return "the kernel refused the change while the cgroup is in use";
    case "EOPNOTSUPP":
      return `${file} cannot be written on this cgroup (not supported here, or a threaded/root cgroup)`;
    case "ENOSPC":
      return "the cgroup has no CPUs or memory nodes to run on (cpuset.cpus/cpuset.mems are empty)";
    case "ESRCH":
      return "no such process";
    case "ENODEV":
      return `device in ${JSON.stringify(value)} does not exist or does not support this limit`;
    default:
      return errno ?? "unknown error";
  }
}

/**
 * Write `value` to `dir/file` with one write(2).
 *
 * @throws BerthError naming `field` (the spec field or flag) when given, else the file
 */
export function writeCgroupFile(dir: string, file: string, value: string, field?: string): void {
  let fd: number | undefined;
  try {
    fd = openPath(`${dir}/${file}`, O.WRONLY);
    writeAll(fd, value);
  } catch (err) {
    const errno = errnoOf(err);
    throw new BerthError(`writing ${JSON.stringify(value)} to ${dir}/${file} failed: ${explain(errno, file, value)}`, { field, errno, cause: err });
  } finally {
    if (fd !== undefined) close(fd);
  }
}

export function cgroupExists(dir: string): boolean {
  return pathExists(`${dir}/cgroup.procs`);
}

/** mkdir -p that returns the directories it created, outermost first (to undo exactly those). */
export function makeCgroupDirs(dir: string): string[] {
  // Most often only the last level is missing: one mkdir, not an access(2) of it and its
  // parent first (a create makes one directory in each of up to 10 hierarchies)
  try {
    mkdirPath(dir, 0o755);
    return [dir];
  } catch (err) {
    if (errnoOf(err) === "EEXIST") return [];
    if (errnoOf(err) !== "ENOENT") throw new BerthError(`cannot create cgroup ${dir}: ${explain(errnoOf(err), "", "")}`, { errno: errnoOf(err), cause: err });
  }
  const missing: string[] = [];
  for (let d = dir; d !== "/" && !pathExists(d); d = d.slice(0, d.lastIndexOf("/")) || "/") missing.unshift(d);
  for (const d of missing) {
    try {
      mkdirPath(d, 0o755);
    } catch (err) {
      if (errnoOf(err) !== "EEXIST") {
        throw new BerthError(`cannot create cgroup ${d}: ${explain(errnoOf(err), "", "")}`, { errno: errnoOf(err), cause: err });
      }
    }
  }
  return missing;
}

export function childCgroups(dir: string): string[] {
  try {
    return listDir(dir).filter((e) => e.type === DT_DIR).map((e) => e.name);
  } catch {
    return [];
  }
}

/** The pids in `dir/cgroup.procs` (not its children's). */
export function procsOf(dir: string): number[] {
  const text = readOptional(dir, "cgroup.procs") ?? "";
  return text.split("\n").filter(Boolean).map(Number);
}

/** rmdir; true if removed or already gone, false if the kernel says it is busy. */
export function removeCgroupDir(dir: string): boolean {
  try {
    rmdirPath(dir);
    return true;
  } catch (err) {
    const errno = errnoOf(err);
    if (errno === "ENOENT") return true;
    if (errno === "EBUSY" || errno === "ENOTEMPTY") return false;
    throw new BerthError(`cannot remove cgroup ${dir}: ${errno ?? String(err)}`, { errno, cause: err });
  }
}
