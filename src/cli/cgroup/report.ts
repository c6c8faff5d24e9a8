/**
 * Showing the mechanism: every file berth wrote, with the value and the flag or field
 * that asked for it — so `berth cgroup` teaches what a limit is in the kernel's terms.
 */
import type { Warning } from "../../errors.ts";
import type { AppliedWrite } from "../../cgroups/manager.ts";
import { writeErr, writeOut } from "../stdio.ts";

export interface ReportOptions {
  quiet?: boolean;
  /** spec field → flag, to say which flag caused a write */
  flagOf?: Map<string, string>;
  out?: (text: string) => void;
}

function flagFor(field: string, flagOf?: Map<string, string>): string {
  if (!flagOf) return field;
  for (const [prefix, flag] of flagOf) if (field === prefix || field.startsWith(prefix + ".") || field.startsWith(prefix + "[")) return flag;
  return field;
}

export function reportCreated(dirs: string[], opts: ReportOptions): void {
  if (opts.quiet) return;
  for (const d of dirs) (opts.out ?? writeOut)(`created ${d}\n`);
}

export function reportWrites(writes: AppliedWrite[], warnings: Warning[], opts: ReportOptions): void {
  for (const w of warnings) writeErr(`berth: warning: ${flagFor(w.field, opts.flagOf)}: ${w.message}\n`);
  if (opts.quiet) return;
  for (const w of writes) (opts.out ?? writeOut)(`wrote ${JSON.stringify(w.value)} to ${w.path}  (${flagFor(w.field, opts.flagOf)})\n`);
}
