/**
 * runc's flag grammar (urfave/cli v1), for berth-runtime. Pure.
 *
 * Written by hand rather than taken from node:util's parseArgs because (a) loading
 * node:util costs ~1.7 ms and 2.4 MiB on every exec — berth-runtime is exec'd several
 * times per container and its RSS target is 1.3× Bun's floor — and (b) runc's grammar
 * differs from getopt's: flags stop at the first positional (`ps ID -ef` passes `-ef`
 * on), a long flag may have one dash (go-runc sends `-no-subreaper`), and a boolean may
 * be spelled `--flag=true`.
 */

export interface FlagSpec {
  type: "string" | "boolean";
  short?: string;
  /** a string flag that may be given again (`-e A=1 -e B=2`): its value is the list */
  multiple?: boolean;
}

export type FlagSpecs = Record<string, FlagSpec>;

export type FlagValues<S extends FlagSpecs> = {
  [K in keyof S]?: S[K]["type"] extends "string" ? (S[K]["multiple"] extends true ? string[] : string) : boolean;
};

export interface ParsedFlags<S extends FlagSpecs> {
  values: FlagValues<S>;
  /** the first positional and everything after it, untouched */
  positionals: string[];
  /** flags not in the spec (only when not strict), as given */
  unknown: string[];
}

export class FlagError extends Error {}

/**
 * Parse `args` against `specs`. Strict (the default): an unknown flag is an error.
 * Not strict: unknown flags are collected; one followed by a value-looking token keeps
 * only its own token (a caller's unknown `--foo bar` leaves `bar` as the command).
 */
export function parseFlags<S extends FlagSpecs>(args: string[], specs: S, opts: { strict?: boolean } = {}): ParsedFlags<S> {
  const strict = opts.strict ?? true;
  const values: Record<string, string | boolean | string[]> = {};
  const set = (name: string, value: string) => {
    if (specs[name]!.multiple) values[name] = [...((values[name] as string[] | undefined) ?? []), value];
    else values[name] = value;
  };
  const unknown: string[] = [];
  // Plain loops, no regex: Array.prototype.filter/map and a first RegExp are compiled from
  // JavaScriptCore's built-in sources on their first call (~0.25 ms together, measured),
  // and this runs first in every berth-runtime call.
  const byShort = new Map<string, string>();
  for (const name in specs) if (specs[name]!.short) byShort.set(specs[name]!.short!, name);
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    const body = arg.slice(arg.startsWith("--") ? 2 : 1);
    const eq = body.indexOf("=");
    const key = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    const name = key in specs ? key : !arg.startsWith("--") && key.length === 1 ? byShort.get(key) : undefined;
    const spec = name === undefined ? undefined : specs[name];
    if (name === undefined || !spec) {
      if (strict) throw new FlagError(`unknown flag ${arg.split("=")[0]}`);
      unknown.push(arg);
      continue;
    }
    if (spec.type === "boolean") {
      if (inline === undefined || inline === "true" || inline === "1") values[name] = true;
      else if (inline === "false" || inline === "0") values[name] = false;
      else throw new FlagError(`--${name} takes no value (or true/false), got ${JSON.stringify(inline)}`);
      continue;
    }
    if (inline !== undefined) {
      set(name, inline);
      continue;
    }
    const next = args[i + 1];
    if (next === undefined) throw new FlagError(`--${name} needs a value`);
    set(name, next);
    i++;
  }
  return { values: values as FlagValues<S>, positionals: args.slice(i), unknown };
}
