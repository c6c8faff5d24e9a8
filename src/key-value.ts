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
