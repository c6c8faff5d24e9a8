/**
 * The part of docker's `--format` Go templates people use with `docker stats`:
 * `{{.Field}}`, `{{json .}}`, a leading `table` for a header row and aligned columns,
 * and `\t` / `\n` written as two characters (docker/cli's formatter replaces them the
 * same way, because shells pass them through literally). Pure.
 */
import { BerthError } from "../errors.ts";

type Piece = { text: string } | { field: string } | { json: true };

export interface Template {
  /** `table …`: print a header row and align the tab-separated columns */
  table: boolean;
  /** it prints whole records ({{json .}}) */
  json: boolean;
  /** the fields it prints ({{.Field}}), for a caller that computes only what is shown */
  fields: string[];
  /** one output line for a record: `values` are the fields as text, `record` what `{{json .}}` prints */
  render(values: Record<string, string>, record?: unknown): string;
  /** the header row: each field replaced by its heading */
  header(headings: Record<string, string>): string;
}

/**
 * @example parseTemplate("table {{.Name}}\\t{{.CPUPerc}}", ["Name", "CPUPerc"]).render({ Name: "web", CPUPerc: "1.00%" }) // → "web\t1.00%"
 */
export function parseTemplate(text: string, fields: string[], flag = "--format"): Template {
  const table = /^table(\s|$)/.test(text);
  const body = (table ? text.slice("table".length) : text).trim().replaceAll("\\t", "\t").replaceAll("\\n", "\n");
  const pieces: Piece[] = [];
  let at = 0;
  for (const m of body.matchAll(/\{\{\s*(.*?)\s*\}\}/g)) {
    if (m.index > at) pieces.push({ text: body.slice(at, m.index) });
    at = m.index + m[0].length;
    const expr = m[1]!;
    if (/^json\s+\.$/.test(expr)) pieces.push({ json: true });
    else if (/^\.\w+$/.test(expr) && fields.includes(expr.slice(1))) pieces.push({ field: expr.slice(1) });
    else {
      throw new BerthError(`unknown template action {{${expr}}}; use {{json .}} or one of ${fields.map((f) => `{{.${f}}}`).join(" ")}`, { field: flag });
    }
  }
  if (at < body.length) pieces.push({ text: body.slice(at) });
  const render = (value: (p: Exclude<Piece, { text: string }>) => string) =>
    pieces.map((p) => ("text" in p ? p.text : value(p))).join("");
  return {
    table,
    json: pieces.some((p) => "json" in p),
    fields: pieces.flatMap((p) => ("field" in p ? [p.field] : [])),
    render: (values, record) => render((p) => ("json" in p ? JSON.stringify(record ?? values) : values[p.field] ?? "")),
    header: (headings) => render((p) => ("json" in p ? "" : headings[p.field] ?? p.field.toUpperCase())),
  };
}

/**
 * Go's text/tabwriter with three spaces of padding, as docker (minimum cell width 10) and
 * runc (12) set it up: every cell but a line's last is padded to its column's widest cell
 * plus 3, and to at least `minWidth`. Widths count characters, as Go counts runes.
 */
export function tabwrite(rows: string[][], minWidth: number): string[] {
  const widths: number[] = [];
  for (const row of rows) row.slice(0, -1).forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? minWidth, [...cell].length + 3)));
  return rows.map((row) => row.map((cell, i) => (i < row.length - 1 ? cell + " ".repeat(widths[i]! - [...cell].length) : cell)).join(""));
}

/** Align tab-separated lines into columns the way docker's tables are (tabwrite, minimum width 10), trailing spaces cut. */
export function alignColumns(lines: string[]): string {
  return tabwrite(lines.map((l) => l.split("\t")), 10).map((l) => l.trimEnd()).join("\n");
}
