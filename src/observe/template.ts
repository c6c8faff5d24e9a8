/**
 * The parts of Go's text/template that docker's `--format` is used with, in two forms:
 * - parseTemplate, the table formats of `stats`, `ps`, `images`…: `{{.Field}}` of a
 *   known list, `{{json .}}`, and a leading `table` for a header row and aligned columns;
 * - renderGoTemplate, `inspect`/`events` over a whole record: `{{.A.B}}`, `{{json .A}}`,
 *   `{{index .A "key"}}`, `{{.}}`, values printed as Go's fmt prints them.
 * Both take `\t` / `\n` written as two characters (docker/cli's formatter replaces them
 * the same way, because shells pass them through literally). Pure.
 */
import { BerthError } from "../errors.ts";

/** `\t` and `\n` as a shell passes them (two characters) made the characters they name. */
function unescapeTabs(text: string): string {
  return text.replaceAll("\\t", "\t").replaceAll("\\n", "\n");
}

/** A `{{ action }}`, its inner text the first group. */
const ACTION = /\{\{\s*(.*?)\s*\}\}/g;

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
  const body = unescapeTabs((table ? text.slice("table".length) : text).trim());
  const pieces: Piece[] = [];
  let at = 0;
  for (const m of body.matchAll(ACTION)) {
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

function lookup(value: unknown, path: string): unknown {
  if (path === ".") return value;
  let v: unknown = value;
  for (const key of path.slice(1).split(".")) {
    if (v === null || typeof v !== "object" || !(key in (v as object))) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** A value as Go's fmt %v prints it: `[a b]` for a list, `map[k:v]` for an object, `<nil>` for null, `<no value>` for a missing field. */
export function goString(v: unknown): string {
  if (v === undefined) return "<no value>";
  if (v === null) return "<nil>";
  if (Array.isArray(v)) return `[${v.map(goString).join(" ")}]`;
  if (typeof v === "object") return `map[${Object.keys(v as object).sort().map((k) => `${k}:${goString((v as Record<string, unknown>)[k])}`).join(" ")}]`;
  return String(v);
}

/**
 * Render `template` over a whole record (`inspect --format`, `events --format`).
 *
 * @example renderGoTemplate("{{.Config.Cmd}} {{json .RootFS.Layers}}", image) // → '[/bin/sh] ["sha256:…"]'
 */
export function renderGoTemplate(template: string, value: unknown, flag = "--format"): string {
  return unescapeTabs(template).replace(ACTION, (_, expr: string) => {
    let m: RegExpExecArray | null;
    if ((m = /^json\s+(\.[\w.]*)$/.exec(expr))) return JSON.stringify(lookup(value, m[1]!) ?? null);
    if ((m = /^index\s+(\.[\w.]*)\s+"([^"]*)"$/.exec(expr))) {
      const container = lookup(value, m[1]!);
      return goString(container && typeof container === "object" ? (container as Record<string, unknown>)[m[2]!] : undefined);
    }
    if (/^\.[\w.]*$/.test(expr)) return goString(lookup(value, expr));
    throw new BerthError(`unsupported template action {{${expr}}}; use {{.Field.Sub}}, {{json .Field}} or {{index .Field "key"}}`, { field: flag });
  });
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
