/**
 * The part of Go's text/template that `inspect --format` is used with: `{{.A.B}}`,
 * `{{json .A}}`, `{{index .A "key"}}`, and `{{.}}`; values printed as Go's fmt prints
 * them (`[a b]` for a list, `map[k:v]` for an object, `<nil>` for null, `<no value>` for
 * a missing field). Pure. (observe/template.ts does the table formats of stats and ps.)
 */
import { BerthError } from "../errors.ts";

function lookup(value: unknown, path: string): unknown {
  if (path === ".") return value;
  let v: unknown = value;
  for (const key of path.slice(1).split(".")) {
    if (v === null || typeof v !== "object" || !(key in (v as object))) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** A value as Go's fmt %v prints it. */
export function goString(v: unknown): string {
  if (v === undefined) return "<no value>";
  if (v === null) return "<nil>";
  if (Array.isArray(v)) return `[${v.map(goString).join(" ")}]`;
  if (typeof v === "object") return `map[${Object.keys(v as object).sort().map((k) => `${k}:${goString((v as Record<string, unknown>)[k])}`).join(" ")}]`;
  return String(v);
}

/**
 * Render `template` over `value`.
 *
 * @example renderGoTemplate("{{.Config.Cmd}} {{json .RootFS.Layers}}", image) // → '[/bin/sh] ["sha256:…"]'
 */
export function renderGoTemplate(template: string, value: unknown, flag = "--format"): string {
  const text = template.replaceAll("\\t", "\t").replaceAll("\\n", "\n");
  return text.replace(/\{\{\s*(.*?)\s*\}\}/g, (_, expr: string) => {
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
