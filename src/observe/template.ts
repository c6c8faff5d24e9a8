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

/** An action as written (`source`, for errors) and its inner text. */
interface Action {
  source: string;
  expr: string;
}

/**
 * Text and `{{ actions }}`, as Go's lexer cuts them: `{{- ` and ` -}}` trim the space
 * beside them, a comment action (slash-star … star-slash) prints nothing, an action left open is refused.
 */
function tokenize(text: string, flag: string): (string | Action)[] {
  const out: (string | Action)[] = [];
  let at = 0;
  let trimNext = false;
  for (;;) {
    const open = text.indexOf("{{", at);
    let before = text.slice(at, open < 0 ? undefined : open);
    if (trimNext) before = before.trimStart();
    if (open < 0) {
      if (before) out.push(before);
      return out;
    }
    const close = text.indexOf("}}", open + 2);
    if (close < 0) throw new BerthError(`${quoteAction(text.slice(open))}: unclosed action; end it with }}`, { field: flag });
    let inner = text.slice(open + 2, close);
    if (/^-\s/.test(inner)) {
      before = before.trimEnd();
      inner = inner.slice(1);
    }
    trimNext = /\s-$/.test(inner);
    if (trimNext) inner = inner.slice(0, -1);
    if (before) out.push(before);
    const expr = inner.trim();
    if (!(expr.startsWith("/*") && expr.endsWith("*/"))) out.push({ source: text.slice(open, close + 2), expr });
    at = close + 2;
  }
}

/** An action as an error line shows it: one line, control characters escaped (none reaches the terminal), cut short. */
function quoteAction(source: string): string {
  const chars = [...source.replace(/[\n\t\r]/g, " ")];
  const one = (chars.length > 60 ? [...chars.slice(0, 60), "…"] : chars).join("");
  return one.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** `{{json}}` and `{{json . .}}`: Go's "wrong number of args for json" in a user's words */
function jsonArity(a: Action, flag: string): never {
  throw new BerthError(`${quoteAction(a.source)}: json takes one value; use {{json .}} or {{json .Field}}`, { field: flag });
}

type Piece = { text: string } | { field: string; json?: true } | { json: true };

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
  const known = fields.map((f) => `.${f}`).join(" ");
  const pieces: Piece[] = tokenize(body, flag).map((t) => {
    if (typeof t === "string") return { text: t };
    if (/^json\s+\.$/.test(t.expr)) return { json: true };
    if (/^json(\s|$)/.test(t.expr) && !JSON_ACTION.test(t.expr)) jsonArity(t, flag);
    const path = /^(json\s+)?\.(\w+)((?:\.\w+)*)$/.exec(t.expr);
    if (path && !fields.includes(path[2]!)) throw new BerthError(`${quoteAction(t.source)}: no field ${path[2]}; use {{json .}} or one of ${known}`, { field: flag });
    if (path && path[3]) throw new BerthError(`${quoteAction(t.source)}: .${path[2]} is text and has no field ${path[3].split(".")[1]}; use {{.${path[2]}}}`, { field: flag });
    if (path) return { field: path[2]!, ...(path[1] && { json: true as const }) };
    throw new BerthError(`${quoteAction(t.source)}: unsupported action; use {{json .}} or one of ${known}`, { field: flag });
  });
  const render = (value: (p: Exclude<Piece, { text: string }>) => string) =>
    pieces.map((p) => ("text" in p ? p.text : value(p))).join("");
  return {
    table,
    json: pieces.some((p) => "json" in p && !("field" in p)),
    fields: pieces.flatMap((p) => ("field" in p ? [p.field] : [])),
    render: (values, record) => render((p) => ("field" in p ? (p.json ? JSON.stringify(values[p.field] ?? "") : values[p.field] ?? "") : JSON.stringify(record ?? values))),
    header: (headings) => render((p) => ("field" in p ? headings[p.field] ?? p.field.toUpperCase() : "")),
  };
}

/**
 * What a template may read in a value besides its own keys, as the Go type behind it
 * would allow. Every object is a struct whose fields are its keys — a field it does not
 * have is an error naming the ones it has, as Go's "can't evaluate field" — except:
 */
export interface GoShape {
  /** the Go maps: dotted paths, `*` for any one key (`NetworkSettings.Networks.*.DriverOpts`); a key a map lacks prints `<no value>`, as Go's */
  maps?: readonly string[];
  /** struct fields a value may leave out (optional ones): dotted paths; absent, they print `<no value>` */
  fields?: readonly string[];
}

/** whether `shape` says the value at (absolute) `path` is a Go map */
const isMapAt = (shape: GoShape, path: readonly string[]) => shape.maps?.some((m) => matchesPath(m, path)) ?? false;

/** whether `path` is one `pattern` names (dotted, `*` any one key; "" the value itself) */
const matchesPath = (pattern: string, path: readonly string[]) => {
  const parts = pattern === "" ? [] : pattern.split(".");
  return parts.length === path.length && parts.every((p, i) => p === "*" || p === path[i]);
};

/** What a value is, in a user's words, for "has no field" */
function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a map or struct";
  return typeof v === "string" ? "text" : `a ${typeof v}`;
}

/** `.A.B` → ["A", "B"]; `.` → [] */
const pathKeys = (path: string) => (path === "." ? [] : path.slice(1).split("."));

/** the optional fields `shape` declares directly under `path` */
function optionalFields(shape: GoShape, path: readonly string[]): string[] {
  return (shape.fields ?? []).map((f) => f.split(".")).filter((f) => f.length === path.length + 1 && matchesPath(f.slice(0, -1).join("."), path)).map((f) => f.at(-1)!);
}

/**
 * The value at `keys` under Go's rules for `shape`: a map's missing key is undefined
 * (`<no value>`, and so is anything under it), a struct's is an error. An optional
 * field left out is undefined too, and what is read under it must still be one of the
 * fields `shape` declares there (when it declares any).
 */
function lookup(value: unknown, keys: readonly string[], shape: GoShape, a: Action, flag: string, base: readonly string[] = []): unknown {
  let v: unknown = value;
  let inMap = false;
  // `at` is what the template wrote (for the error lines); `abs` where that is in the record (for `shape`): inside a range or with, `.` is not the record
  const at: string[] = [];
  const abs = () => [...base, ...at];
  const noField = (key: string, have: string[]) => {
    const base = at.length ? `.${at.join(".")}` : "";
    return new BerthError(`${quoteAction(a.source)}: ${base ? `${base} has ` : ""}no field ${key}; use one of ${have.filter((k) => /^\w+$/.test(k)).map((k) => `${base}.${k}`).join(" ")}`, { field: flag });
  };
  for (const key of keys) {
    const isMap = isMapAt(shape, abs());
    const optional = optionalFields(shape, abs());
    if (v === undefined) {
      // under a map's missing key anything is <no value>; under a left-out struct, only its declared fields
      if (!inMap && !isMap && optional.length && !optional.includes(key)) throw noField(key, optional);
    } else if (isMap && (v === null || (typeof v === "object" && !Array.isArray(v)))) {
      v = v !== null && Object.hasOwn(v, key) ? (v as Record<string, unknown>)[key] : undefined;
      inMap ||= v === undefined;
    } else if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      if (Object.hasOwn(v, key)) v = (v as Record<string, unknown>)[key];
      else if (optional.includes(key)) v = undefined;
      else throw noField(key, [...new Set([...Object.keys(v), ...optional])]);
    } else {
      const where = at.length ? `.${at.join(".")}` : ".";
      throw new BerthError(`${quoteAction(a.source)}: ${at.length ? where : "the value"} is ${kindOf(v)} and has no field ${key}; use {{json ${where}}} to see it`, { field: flag });
    }
    at.push(key);
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

/** `.` or `.A.B`: the first group */
const PATH = String.raw`(\.|(?:\.\w+)+)`;
const PATH_ACTION = new RegExp(`^${PATH}$`);
const JSON_ACTION = new RegExp(String.raw`^json\s+${PATH}$`);
const INDEX_ACTION = new RegExp(String.raw`^index\s+${PATH}\s+(?:"([^"]*)"|(\d+))$`);
const JOIN_ACTION = new RegExp(String.raw`^join\s+${PATH}\s+"([^"]*)"$`);
const CALL_ACTION = new RegExp(String.raw`^(upper|lower|len)\s+${PATH}$`);
/** `range`, `if` and `with` over a path: the keyword, the path */
const BLOCK_ACTION = new RegExp(String.raw`^(range|if|with)\s+${PATH}$`);

/** What a compiled piece of a template prints for `value` (`.`), which sits at `base` in the record (for `shape`). */
type GoNode = (value: unknown, shape: GoShape, base: readonly string[]) => string;

/** Go's truth: false, 0, "", nil, an empty list or map (and a missing value) are false; anything else is true. */
function truth(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v as object).length > 0;
  return true;
}

/**
 * A template over whole records (`inspect --format`, `info`, `version`, `events`),
 * checked once: `{{.A.B}}`, `{{json .A}}`, `{{index .A "key"}}` (or a list's `{{index .A 0}}`),
 * `{{.}}`, `{{join .List ", "}}`, `{{upper .A}}`, `{{lower .A}}`, `{{len .A}}`, and the
 * blocks `{{range .A}}…{{else}}…{{end}}` (a list's items, a map's values in its keys'
 * order), `{{if .A}}…{{else if .B}}…{{else}}…{{end}}` and `{{with .A}}…{{end}}` — as docker's
 * `-f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}'` uses them. Values are
 * printed as Go's fmt prints them. `render` fails where Go's would: a field the record's
 * struct does not have (`shape` says which objects are maps), a range over a struct.
 *
 * @example compileGoTemplate("{{.Config.Cmd}} {{json .RootFS.Layers}}").render(image) // → '[/bin/sh] ["sha256:…"]'
 */
export interface GoTemplate {
  render(value: unknown, shape?: GoShape): string;
}

export function compileGoTemplate(template: string, flag = "--format"): GoTemplate {
  const tokens = tokenize(unescapeTabs(template), flag);
  let next = 0;
  const refuse = (a: Action, why: string): never => {
    throw new BerthError(`${quoteAction(a.source)}: ${why}`, { field: flag });
  };

  /** One action that prints a value. */
  const action = (t: Action): GoNode => {
    let m: RegExpExecArray | null;
    if ((m = JSON_ACTION.exec(t.expr))) {
      const keys = pathKeys(m[1]!);
      return (v, shape, base) => JSON.stringify(lookup(v, keys, shape, t, flag, base) ?? null);
    }
    if (/^json(\s|$)/.test(t.expr)) jsonArity(t, flag);
    if ((m = INDEX_ACTION.exec(t.expr))) {
      const keys = pathKeys(m[1]!);
      const key = m[2];
      const at = m[3] === undefined ? undefined : Number(m[3]);
      return (v, shape, base) => {
        if (key !== undefined) return goString(lookup(v, [...keys, key], shape, t, flag, base));
        const list = lookup(v, keys, shape, t, flag, base);
        if (!Array.isArray(list)) return refuse(t, `index of a number needs a list, and ${m![1]} is ${kindOf(list)}`);
        if (at! >= list.length) return refuse(t, `index ${at} is out of range: the list has ${list.length}`);
        return goString(list[at!]);
      };
    }
    if ((m = JOIN_ACTION.exec(t.expr))) {
      const keys = pathKeys(m[1]!);
      const sep = m[2]!;
      return (v, shape, base) => {
        const list = lookup(v, keys, shape, t, flag, base);
        if (list === undefined || list === null) return "";
        if (!Array.isArray(list)) return refuse(t, `join needs a list, and ${m![1]} is ${kindOf(list)}`);
        return list.map(goString).join(sep);
      };
    }
    if ((m = CALL_ACTION.exec(t.expr))) {
      const fn = m[1]!;
      const keys = pathKeys(m[2]!);
      return (v, shape, base) => {
        const x = lookup(v, keys, shape, t, flag, base);
        if (fn === "len") {
          if (typeof x === "string" || Array.isArray(x)) return String(x.length);
          if (x !== null && typeof x === "object") return String(Object.keys(x).length);
          return refuse(t, `len of ${kindOf(x)}; len takes text, a list or a map`);
        }
        const text = goString(x);
        return fn === "upper" ? text.toUpperCase() : text.toLowerCase();
      };
    }
    if ((m = PATH_ACTION.exec(t.expr))) {
      const keys = pathKeys(m[1]!);
      return (v, shape, base) => goString(lookup(v, keys, shape, t, flag, base));
    }
    if (t.expr === "") refuse(t, "empty action; use {{.Field}}");
    if (/\$|:=/.test(t.expr)) refuse(t, "variables are not supported; use {{range .Field}}…{{.}}…{{end}}, where . is each item");
    return refuse(t, "unsupported action; use {{.Field.Sub}}, {{json .Field}}, {{index .Field \"key\"}}, {{join .List \", \"}}, {{range .Field}}…{{end}} or {{if .Field}}…{{end}}");
  };

  /** Pieces up to an `{{end}}` or `{{else …}}` (returned as `stop`) when inside `open`'s block, else to the end. */
  const list = (open: Action | undefined): { nodes: GoNode[]; stop?: Action } => {
    const nodes: GoNode[] = [];
    while (next < tokens.length) {
      const t = tokens[next++]!;
      if (typeof t === "string") {
        nodes.push(() => t);
        continue;
      }
      if (t.expr === "end" || /^else(\s|$)/.test(t.expr)) {
        if (!open) refuse(t, `${t.expr === "end" ? "{{end}}" : "{{else}}"} without a {{range}}, {{if}} or {{with}} before it`);
        return { nodes, stop: t };
      }
      const block = BLOCK_ACTION.exec(t.expr);
      if (block) nodes.push(blockNode(block[1] as "range" | "if" | "with", pathKeys(block[2]!), t));
      else if (/^(range|if|with)(\s|$)/.test(t.expr)) refuse(t, /\$|:=/.test(t.expr) ? "variables are not supported; use {{range .Field}}…{{.}}…{{end}}, where . is each item" : `${t.expr.split(/\s/)[0]} takes one field; use {{${t.expr.split(/\s/)[0]} .Field}}`);
      else nodes.push(action(t));
    }
    if (open) refuse(open, "unclosed; end it with {{end}}");
    return { nodes };
  };

  const print = (nodes: GoNode[], v: unknown, shape: GoShape, base: readonly string[]) => nodes.map((n) => n(v, shape, base)).join("");

  /** `{{range|if|with .Path}}` … `{{else}}` … `{{end}}`, from just after its opening action. */
  const blockNode = (kind: "range" | "if" | "with", keys: string[], open: Action): GoNode => {
    const body = list(open);
    let otherwise: GoNode[] = [];
    const elseIf = body.stop && /^else\s+(if|with)\s/.test(body.stop.expr) ? body.stop : undefined;
    if (elseIf) {
      // `{{else if .B}}`: an if of its own in the else part, ended by this block's {{end}}
      const chained = BLOCK_ACTION.exec(elseIf.expr.slice("else".length).trim());
      if (!chained) refuse(elseIf, "else if takes one field; use {{else if .Field}}");
      otherwise = [blockNode(chained![1] as "if" | "with", pathKeys(chained![2]!), { source: elseIf.source, expr: chained![0] })];
    } else if (body.stop && body.stop.expr !== "end") {
      if (body.stop.expr !== "else") refuse(body.stop, "unsupported else; use {{else}} or {{else if .Field}}");
      const rest = list(open);
      if (rest.stop?.expr !== "end") refuse(rest.stop!, "a second {{else}}; a block has one");
      otherwise = rest.nodes;
    }
    return (v, shape, base) => {
      const x = lookup(v, keys, shape, open, flag, base);
      const at = [...base, ...keys];
      if (kind === "if") return truth(x) ? print(body.nodes, v, shape, base) : print(otherwise, v, shape, base);
      if (kind === "with") return truth(x) ? print(body.nodes, x, shape, at) : print(otherwise, v, shape, base);
      if (x === undefined || x === null) return print(otherwise, v, shape, base);
      if (Array.isArray(x)) return x.length ? x.map((item, i) => print(body.nodes, item, shape, [...at, String(i)])).join("") : print(otherwise, v, shape, base);
      if (typeof x === "object" && isMapAt(shape, at)) {
        const names = Object.keys(x).sort();
        return names.length ? names.map((k) => print(body.nodes, (x as Record<string, unknown>)[k], shape, [...at, k])).join("") : print(otherwise, v, shape, base);
      }
      const where = keys.length ? `.${keys.join(".")}` : ".";
      return refuse(open, `range can't iterate over ${where}, ${typeof x === "object" ? "a struct" : kindOf(x)}; range takes a list or a map`);
    };
  };

  const { nodes } = list(undefined);
  return { render: (value, shape = {}) => print(nodes, value, shape, []) };
}

/**
 * An inspect's `-f`: undefined for none, an empty one (docker's default) or `json` — the
 * JSON is printed — else the template, checked before anything is looked up.
 *
 * @example inspectTemplate("{{.Name}}")?.render(volume, shape) // → "data"
 */
export function inspectTemplate(format: string | undefined): GoTemplate | undefined {
  return !format || format === "json" ? undefined : compileGoTemplate(format);
}

/**
 * Render `template` over one record: compileGoTemplate, then render.
 *
 * @example renderGoTemplate("{{.Config.Cmd}} {{json .RootFS.Layers}}", image) // → '[/bin/sh] ["sha256:…"]'
 */
export function renderGoTemplate(template: string, value: unknown, opts: GoShape & { flag?: string } = {}): string {
  return compileGoTemplate(template, opts.flag).render(value, opts);
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
