/**
 * `list [--format table|json] [-q]`, printed as runc prints it: a tabwriter table
 * (ID PID STATUS BUNDLE CREATED OWNER, columns at least 12 wide with 3 spaces of
 * padding), a JSON array of state objects — `null` when there are none, as Go encodes
 * an empty list — or the ids alone. The owner is the user owning the container's state
 * directory and times are RFC 3339 with nanoseconds, trailing zeros dropped, as in Go.
 */
import { BerthError } from "../../errors.ts";
import { listStates } from "../../runtime/query.ts";
import { readTextIfExists, statPath } from "../../sys/libc.ts";
import { parseVerb, type Globals } from "./invocation.ts";
import { writeOut } from "../stdio.ts";
import { tabwrite } from "../../observe/template.ts";

/** runc list's table: Go's tabwriter with runc's settings (minwidth 12, padding 3, spaces). */
export function listTable(rows: string[][]): string {
  return tabwrite(rows, 12).map((line) => `${line}\n`).join("");
}

/**
 * Go's RFC3339Nano: the fraction of a second without trailing zeros (and without the dot
 * when it is all zeros). @example goTime("2026-01-02T03:04:05.120Z") // → "2026-01-02T03:04:05.12Z"
 */
export function goTime(iso: string): string {
  return iso.replace(/\.(\d*?)0+Z$/, (_, digits: string) => (digits ? `.${digits}Z` : "Z"));
}

/** The user name of `uid` from /etc/passwd, or `#uid` as runc writes an unknown one. */
function userName(uid: number, passwd: string | undefined): string {
  for (const line of (passwd ?? "").split("\n")) {
    const f = line.split(":");
    if (f.length >= 3 && f[2] === String(uid)) return f[0]!;
  }
  return `#${uid}`;
}

export function run(args: string[], g: Globals): number {
  const { values: v, positionals } = parseVerb(args, { format: { type: "string", short: "f" }, quiet: { type: "boolean", short: "q" } });
  if (positionals.length > 0) throw new BerthError(`list takes no arguments, got ${JSON.stringify(positionals[0])}; use --root to choose where to list`);
  const format = v.format ?? "table";
  if (format !== "table" && format !== "json") throw new BerthError(`${JSON.stringify(format)} is not a format; use table or json`, { field: "--format" });
  const states = listStates(g.root);
  if (v.quiet) {
    writeOut(states.map((s) => `${s.id}\n`).join(""));
    return 0;
  }
  // no passwd: owners print as #uid
  const passwd = readTextIfExists("/etc/passwd");
  const shown = states.map((s) => {
    let owner = s.owner;
    try {
      owner = userName(statPath(`${g.root}/${s.id}`).uid, passwd);
    } catch {
      // deleted while listing: keep what state.json says
    }
    return { ...s, created: goTime(s.created), owner };
  });
  if (format === "json") {
    writeOut(`${shown.length > 0 ? JSON.stringify(shown) : "null"}\n`);
    return 0;
  }
  const header = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"];
  writeOut(listTable([header, ...shown.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner])]));
  return 0;
}
