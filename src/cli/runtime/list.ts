/** `list [--format table|json] [-q]`: runc's columns. */
import { BerthError } from "../../errors.ts";
import { listStates } from "../../runtime/query.ts";
import { parseVerb, type Globals, writeOut } from "../berth-runtime.ts";

export function run(args: string[], g: Globals): number {
  const { values: v } = parseVerb(args, { format: { type: "string", short: "f" }, quiet: { type: "boolean", short: "q" } });
  const format = v.format ?? "table";
  if (format !== "table" && format !== "json") throw new BerthError(`${JSON.stringify(format)} is not a format; use table or json`, { field: "--format" });
  const states = listStates(g.root);
  if (v.quiet) {
    writeOut(states.map((s) => `${s.id}\n`).join(""));
  } else if (format === "json") {
    writeOut(JSON.stringify(states) + "\n");
  } else {
    const rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], ...states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner])];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    writeOut(rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join("").trimEnd() + "\n").join(""));
  }
  return 0;
}
