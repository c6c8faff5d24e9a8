/**
 * `KEY=VALUE` text, as docker's flags (`--sysctl`, `--annotation`, `network create --opt`,
 * `--set`, `--filter`, `--label`, `--log-opt`) and OCI's `env` take it: split at the first
 * `=`, so a value keeps any `=` of its own (`o=size=64m`). Every byte other than that `=`,
 * NUL included, is the key's or the value's as given: what a key may hold is the caller's
 * rule (a sysctl name, a label). At src/'s root because every layer reads it (the runtime's
 * hook env, cgroups' --set, the engine's flags). Pure.
 */
import { BerthError } from "./errors.ts";

/**
 * `text` split at its first `=`; undefined when it has none (docker's KEY[=VALUE] flags
 * then take the whole text as the key).
 *
 * @example splitKeyValue("o=size=64m") // → ["o", "size=64m"]
 * @example splitKeyValue("flag") // → undefined
 */
export function splitKeyValue(text: string): [key: string, value: string] | undefined {
  const eq = text.indexOf("=");
  return eq < 0 ? undefined : [text.slice(0, eq), text.slice(eq + 1)];
}

/**
 * docker's KEY=VALUE flags (its opts.ValidateLabel/ParseKeyValueOpt kind): each entry
 * needs a `=` after a non-empty key, the value may be empty. `usage` is the form the
 * error tells the user to write (a flag may name its key, as `--set`'s FILE=VALUE).
 * Entries keep their order; the caller decides what a repeated key means.
 *
 * @example parseKeyValues(["net.core.somaxconn=1024"], "--sysctl") // → [["net.core.somaxconn", "1024"]]
 * @example parseKeyValues(["novalue"], "--annotation") // throws --annotation: invalid "novalue"; use KEY=VALUE
 */
export function parseKeyValues(list: readonly string[] | undefined, flag: string, usage = "KEY=VALUE"): [string, string][] {
  return (list ?? []).map((text) => {
    const kv = splitKeyValue(text);
    if (!kv || kv[0] === "") throw new BerthError(`invalid ${JSON.stringify(text)}; use ${usage}`, { field: flag });
    return kv;
  });
}

/**
 * One docker `--filter KEY=VALUE` whose KEY is one of `keys` (the value may be empty, as
 * docker's filters.ParseFlag allows; a text without `=` is refused, as there). Every
 * command's --filter says a bad one the same way, naming the keys it takes.
 *
 * @example parseFilterFlag("name=web", ["id", "name"]) // → ["name", "web"]
 * @example parseFilterFlag("nope=1", ["id", "name"]) // throws --filter: invalid filter "nope=1"; use KEY=VALUE with KEY one of id, name
 */
export function parseFilterFlag(text: string, keys: readonly string[]): [key: string, value: string] {
  const kv = splitKeyValue(text);
  if (!kv || !keys.includes(kv[0])) throw new BerthError(`invalid filter ${quoteInput(text)}; use KEY=VALUE with KEY one of ${keys.join(", ")}`, { field: "--filter" });
  return kv;
}

/**
 * A filter's true|false value (docker's filters.GetBoolOrDefault: true, false, 1 or 0, any case).
 *
 * @example filterBool("dangling", "1") // → true
 */
export function filterBool(key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw new BerthError(`invalid ${key} ${quoteInput(value)}; use ${key}=true or ${key}=false`, { field: "--filter" });
}

/** What a user typed, quoted for an error line: control characters escaped (C1 and DEL too, which JSON leaves), cut at 80 characters (a pasted blob stays one short line). */
export function quoteInput(text: string): string {
  const chars = [...text];
  const quoted = chars.length > 80 ? `${JSON.stringify(chars.slice(0, 80).join("")).slice(0, -1)}…"` : JSON.stringify(text);
  return quoted.replace(/[\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
