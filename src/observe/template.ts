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
 * Align tab-separated lines into columns the way docker's tabwriter does (minimum cell
 * width 10, three spaces of padding); the last column is not padded.
 */
export function alignColumns(lines: string[]): string {
  const rows = lines.map((l) => l.split("\t"));
  const widths: number[] = [];
  for (const r of rows) r.slice(0, -1).forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length + 3, 10)));
  return rows.map((r) => r.map((cell, i) => (i < r.length - 1 ? cell.padEnd(widths[i]!) : cell)).join("").trimEnd()).join("\n");
}
