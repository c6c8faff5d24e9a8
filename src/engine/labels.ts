/**
 * docker's `--label KEY[=VALUE]`, as run, create, volume create, network create and
 * `--mount volume-label=` take it: KEY alone is an empty value (its CLI's
 * ConvertKVStringsToMap), the last of a key wins. Pure.
 *
 * @example parseLabels(["app=web", "flag"], "--label") // → { app: "web", flag: "" }
 */
import { BerthError } from "../errors.ts";
import { splitKeyValue } from "../key-value.ts";

export function parseLabels(list: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    const [key, value] = splitKeyValue(l) ?? [l, ""];
    if (key === "") throw new BerthError(`invalid label ${JSON.stringify(l)}; use KEY=VALUE or KEY`, { field: flag });
    out[key] = value;
  }
  return out;
}

/** A `label=` filter's value: KEY (any value) or KEY=VALUE. */
export function hasLabel(labels: Record<string, string>, spec: string): boolean {
  const kv = splitKeyValue(spec);
  return kv ? labels[kv[0]] === kv[1] : Object.hasOwn(labels, spec);
}
