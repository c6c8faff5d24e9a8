/** `berth cgroup ls [PATH]`: the cgroup tree below PATH, with controllers and usage. */
import type { Command } from "../command.ts";
import { childCgroups, procsOf, readOptional } from "../../cgroups/fs.ts";
import { parseNumber } from "../../cgroups/stats-parse.ts";
import { formatBytes } from "../../cgroups/units.ts";
import { openTarget, requireExisting } from "./target.ts";
import { writeOut } from "../stdio.ts";

export interface TreeRow {
  /** path relative to the listed cgroup, "" for itself */
  rel: string;
  controllers: string;
  procs: number;
  memory?: number;
  pids?: number;
}

/** Render rows (sorted by path) as an indented tree with aligned columns. Pure. */
export function formatTree(root: string, rows: TreeRow[]): string {
  const name = (r: TreeRow) => (r.rel === "" ? root : `${"  ".repeat(r.rel.split("/").length)}${r.rel.slice(r.rel.lastIndexOf("/") + 1)}`);
  const width = Math.max(4, ...rows.map((r) => name(r).length));
  const lines = [`${"PATH".padEnd(width)}  ${"PROCS".padStart(5)}  ${"MEMORY".padStart(9)}  ${"TASKS".padStart(5)}  CONTROLLERS`];
  for (const r of rows) {
    lines.push(`${name(r).padEnd(width)}  ${String(r.procs).padStart(5)}  ${(r.memory === undefined ? "-" : formatBytes(r.memory)).padStart(9)}  ${(r.pids === undefined ? "-" : String(r.pids)).padStart(5)}  ${r.controllers}`);
  }
  return lines.join("\n");
}

function walk(dir: string, rel: string, out: Set<string>, depth: number): void {
  out.add(rel);
  if (depth === 0) return;
  for (const c of childCgroups(dir)) walk(`${dir}/${c}`, rel === "" ? c : `${rel}/${c}`, out, depth - 1);
}

export function registerLs(group: Command): void {
  group.command("ls").argument("[path]", "cgroup path", "/")
    .description("list the cgroup tree with controllers, processes, memory and task counts")
    .option("-d, --depth <n>", "how many levels to descend", "32")
    .action((path: string, opts: { depth: string }) => {
      const cg = openTarget(path);
      requireExisting(cg, path);
      const dirs = cg.dirs();
      const rels = new Set<string>();
      for (const dir of Object.values(dirs)) walk(dir, "", rels, Number(opts.depth));
      const rows: TreeRow[] = [...rels].sort().map((rel) => {
        const at = (label: string) => (dirs[label] === undefined ? undefined : rel === "" ? dirs[label] : `${dirs[label]}/${rel}`);
        const present = Object.keys(dirs).filter((label) => readOptional(at(label)!, "cgroup.procs") !== undefined);
        const v2 = at("unified");
        const memDir = cg.layout.mode === "v2" ? v2 : at(Object.keys(dirs).find((l) => l.split(",").includes("memory")) ?? "");
        const pidsDir = cg.layout.mode === "v2" ? v2 : at(Object.keys(dirs).find((l) => l.split(",").includes("pids")) ?? "");
        const mem = memDir && readOptional(memDir, cg.layout.mode === "v2" ? "memory.current" : "memory.usage_in_bytes");
        const tasks = pidsDir && readOptional(pidsDir, "pids.current");
        const controllers = cg.layout.mode === "v2"
          ? (readOptional(v2!, "cgroup.controllers") ?? "").trim()
          : present.map((l) => (l === "unified" ? `unified(${(readOptional(v2!, "cgroup.controllers") ?? "").trim() || "-"})` : l)).join(" ");
        const procDir = at(present[0] ?? "") ?? "";
        return { rel, controllers, procs: procsOf(procDir).length, memory: mem ? parseNumber(mem) : undefined, pids: tasks ? parseNumber(tasks) : undefined };
      });
      writeOut(`${formatTree(cg.path, rows)}\n`);
    });
}
