/**
 * `ps [--format table|json] ID [ps options]`: json is containerd's task pids (`[4640]`,
 * or `null` when none, as Go encodes an empty list); table is ps(1) on the host (default
 * -ef) cut to the container's processes. go-runc reads stdout and stderr combined, so
 * nothing else is printed on success.
 */
import { BerthError } from "../../errors.ts";
import { containerPids, filterPsTable, runPs } from "../../runtime/ps.ts";
import { idArg, parseVerb, type Globals } from "./invocation.ts";
import { writeOut } from "../stdio.ts";

export function run(args: string[], g: Globals): number {
  // Flags stop at the id, so `ps ID -ef` hands -ef to ps(1).
  const { values: v, positionals } = parseVerb(args, { format: { type: "string", short: "f" } });
  const id = idArg(positionals, "ps [--format table|json] ID [ps options]");
  const format = v.format ?? "table";
  if (format !== "table" && format !== "json") throw new BerthError(`${JSON.stringify(format)} is not a format; use table or json`, { field: "--format" });
  const pids = containerPids({ root: g.root, id });
  if (format === "json") {
    writeOut(`${pids.length > 0 ? JSON.stringify(pids) : "null"}\n`);
    return 0;
  }
  writeOut(filterPsTable(runPs(positionals.slice(1)), pids));
  return 0;
}
