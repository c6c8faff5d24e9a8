/**
 * runc's `exec --cgroup [<controller>[,<controller>…]:]<path>`: run the process in an
 * existing sub-cgroup of the container's instead of the container's own. One argument
 * without a prefix names the sub-cgroup in every hierarchy; prefixed ones (repeatable)
 * pick it per v1 controller, the rest of the hierarchies staying the container's. cgroup
 * v2 has one hierarchy, so there a prefix is refused. Pure: exec.ts checks that the
 * directories exist.
 */
import { BerthError } from "../errors.ts";

export interface SubCgroups {
  /** the sub-cgroup for every hierarchy (the unprefixed form) */
  all?: string;
  /** v1 controller → sub-cgroup */
  byController: Map<string, string>;
}

const FIELD = "--cgroup";

function checkedPath(arg: string, path: string): string {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.length === 0) throw new BerthError(`invalid --cgroup argument: ${arg} (empty sub-cgroup path)`, { field: FIELD });
  if (parts.includes("..")) throw new BerthError(`invalid --cgroup argument: ${arg} (".." would leave the container's cgroup; give a path below it)`, { field: FIELD });
  return parts.join("/");
}

/**
 * The --cgroup arguments, with runc 1.1's rules and words.
 *
 * @example parseSubCgroups(["cpu,cpuacct:batch", "memory:batch/low"]) // → { byController: Map { cpu → "batch", cpuacct → "batch", memory → "batch/low" } }
 */
export function parseSubCgroups(args: string[]): SubCgroups {
  const out: SubCgroups = { byController: new Map() };
  for (const arg of args) {
    const cs = arg.split(":");
    if (cs.length > 2) throw new BerthError(`invalid --cgroup argument: ${arg}`, { field: FIELD });
    if (cs.length === 1) {
      if (args.length !== 1) throw new BerthError(`invalid --cgroup argument: ${arg} (missing <controller>: prefix)`, { field: FIELD });
      out.all = checkedPath(arg, arg);
      continue;
    }
    const path = checkedPath(arg, cs[1]!);
    for (const ctrl of cs[0]!.split(",")) {
      if (ctrl === "") throw new BerthError(`invalid --cgroup argument: ${arg} (empty <controller> prefix)`, { field: FIELD });
      if (out.byController.has(ctrl)) throw new BerthError(`invalid --cgroup argument(s): controller ${ctrl} specified multiple times`, { field: FIELD });
      out.byController.set(ctrl, path);
    }
  }
  return out;
}

/** One of the container's cgroup directories: a v1 hierarchy's (its controllers) or the cgroup2 one (null). */
export interface ContainerCgroupDir {
  dir: string;
  controllers: string[] | null;
}

/**
 * The directories the exec'd process joins: each of the container's, or its sub-cgroup.
 *
 * @example subCgroupDirs([{ dir: "/sys/fs/cgroup/memory/c1", controllers: ["memory"] }], { byController: new Map([["memory", "low"]]) }, "v1")
 * // → ["/sys/fs/cgroup/memory/c1/low"]
 */
export function subCgroupDirs(dirs: ContainerCgroupDir[], sub: SubCgroups, mode: "v1" | "v2" | "hybrid"): string[] {
  if (mode === "v2" && sub.byController.size > 0) {
    throw new BerthError(`invalid --cgroup argument: ${[...sub.byController.keys()].join(",")}: cgroup v2 has a single hierarchy; give the sub-cgroup without a <controller>: prefix`, { field: FIELD });
  }
  const known = new Set(dirs.flatMap((d) => d.controllers ?? []));
  for (const ctrl of sub.byController.keys()) {
    if (!known.has(ctrl)) throw new BerthError(`invalid --cgroup argument: no ${ctrl} controller among the container's cgroups (${[...known].join(", ")})`, { field: FIELD });
  }
  return dirs.map((d) => {
    if (d.controllers === null) return sub.all === undefined ? d.dir : `${d.dir}/${sub.all}`;
    const picked = [...new Set(d.controllers.map((c) => sub.byController.get(c)).filter((p): p is string => p !== undefined))];
    if (picked.length > 1) {
      throw new BerthError(`invalid --cgroup argument(s): controllers ${d.controllers.join(",")} share one hierarchy; give them the same sub-cgroup`, { field: FIELD });
    }
    const path = picked[0] ?? sub.all;
    return path === undefined ? d.dir : `${d.dir}/${path}`;
  });
}
