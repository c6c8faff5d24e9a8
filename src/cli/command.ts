/**
 * The berth CLI's command tree: the subset of commander's API the commands declare
 * themselves with (`command`, `argument`, `option`, `description`, `allowUnknownOption`,
 * `action`), its grammar, and its help text. Pure: parsing returns what to do, the
 * caller (berth.ts) does the I/O.
 *
 * Why not commander itself: loading it costs ~10 ms of every berth call — a quarter of
 * what `berth stats` takes over 20 containers, whose budget (issue 7) is a quarter of
 * `podman stats`. Measured with hyperfine, each a bundle that declares one command and
 * parses one flag, over `bun -e 0`: commander +10 ms (it requires node:child_process,
 * node:fs, node:events and 79 KB of its own), cac +3.3 ms, this module +1.8 ms. cac's
 * mri-based grammar also differs where the tests and users rely on commander's: a value
 * that starts with "-" (`--memory -5`) is not taken, and a repeated option is an array
 * only when repeated. The declarations stay commander's, so the commands read as before.
 *
 * Grammar (commander's defaults): options may come before, between or after the
 * arguments; `--` ends the options; `-abc` is `-a -b -c`, and a short option that takes a
 * value takes the rest of its word or the next one; `--opt=value`; `--no-opt` negates a
 * boolean whose default is then true, and `--opt=false` sets one false (Go's flags); a value is taken even when it starts with `-`
 * (`--memory -5` is an invalid size, not an unknown option); the program's options
 * (`--debug`) are recognised anywhere.
 */

export class UsageError extends Error {}

/** An option's parser that gathers every occurrence (`-e A -e B`) into an array. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

type Parser = (value: string, previous: any) => unknown;
type Action = (...args: any[]) => unknown;

interface OptionDecl {
  flags: string;
  description: string;
  short?: string;
  long: string;
  /** the key in the parsed options: the long name camelCased, without "no-" */
  key: string;
  /** "<value>" (required) or none (boolean) */
  takesValue: boolean;
  negate: boolean;
  parser?: Parser;
  default?: unknown;
}

interface ArgumentDecl {
  name: string;
  description: string;
  required: boolean;
  variadic: boolean;
  default?: string;
}

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export class Command {
  readonly commands: Command[] = [];
  private readonly aliases: string[] = [];
  private readonly options: OptionDecl[] = [];
  private readonly args: ArgumentDecl[] = [];
  private about = "";
  private unknownAllowed = false;
  private passThrough = false;
  private handler?: Action;
  private versionText?: string;

  constructor(readonly name: string, private readonly parent?: Command) {}

  command(name: string): Command {
    const sub = new Command(name, this);
    this.commands.push(sub);
    return sub;
  }

  /** Another name for this command (docker's `ls` is also `list`, `rm` also `remove`). */
  alias(name: string): this {
    this.aliases.push(name);
    return this;
  }

  private named(name: string): boolean {
    return this.name === name || this.aliases.includes(name);
  }

  description(text: string): this {
    this.about = text;
    return this;
  }

  /** `<name>` required, `[name]` optional, `name...` the rest */
  argument(spec: string, description: string, defaultValue?: string): this {
    const m = /^([<[])([\w-]+)(\.\.\.)?[>\]]$/.exec(spec);
    if (!m) throw new Error(`bad argument spec ${spec}`);
    this.args.push({ name: m[2]!, description, required: m[1] === "<", variadic: m[3] !== undefined, ...(defaultValue !== undefined && { default: defaultValue }) });
    return this;
  }

  /** `-s, --long`, `--long <value>`, `--no-long`; a parser(value, previous) collects repeats */
  option(flags: string, description: string, parserOrDefault?: Parser | string | boolean, defaultValue?: unknown): this {
    const m = /^(?:-(\w), )?--([\w-]+)(?: <[\w:=-]+>)?$/.exec(flags);
    if (!m) throw new Error(`bad option flags ${flags}`);
    const long = m[2]!;
    const negate = long.startsWith("no-");
    const parser = typeof parserOrDefault === "function" ? parserOrDefault : undefined;
    const def = parser ? defaultValue : parserOrDefault;
    this.options.push({
      flags, description, long, negate, parser, takesValue: flags.endsWith(">"), key: camel(negate ? long.slice(3) : long),
      ...(m[1] && { short: m[1] }), ...(def !== undefined && { default: def }),
    });
    return this;
  }

  /** Options end at the first argument: the rest is the container's command line (`run IMAGE CMD -x`), as docker's run and exec. */
  passThroughOptions(): this {
    this.passThrough = true;
    return this;
  }

  allowUnknownOption(): this {
    this.unknownAllowed = true;
    return this;
  }

  action(fn: Action): this {
    this.handler = fn;
    return this;
  }

  version(text: string): this {
    this.versionText = text;
    return this;
  }

  private path(): string {
    return this.parent ? `${this.parent.path()} ${this.name}` : this.name;
  }

  private defaults(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const o of this.options) {
      if (o.default !== undefined) out[o.key] = o.default;
      else if (o.negate && !this.options.some((x) => x.key === o.key && !x.negate)) out[o.key] = true;
    }
    return out;
  }

  /** The option a flag names here or in an ancestor (the program's options count anywhere). */
  private find(match: (o: OptionDecl) => boolean): { o: OptionDecl; owner: Command } | undefined {
    for (let c: Command | undefined = this; c; c = c.parent) {
      const o = c.options.find(match);
      if (o) return { o, owner: c };
    }
    return undefined;
  }

  /**
   * What argv (without the program name) asks for: run an action, or print help or the
   * version (exit 0). Throws UsageError for what commander calls an error.
   */
  parse(argv: string[]): Invocation {
    return this.parseFrom(argv, new Map());
  }

  private parseFrom(argv: string[], values: Map<Command, Record<string, unknown>>): Invocation {
    values.set(this, this.defaults());
    const positionals: string[] = [];
    const set = (found: { o: OptionDecl; owner: Command }, value: string | boolean) => {
      const own = values.get(found.owner)!;
      const { o } = found;
      own[o.key] = o.parser ? o.parser(value as string, own[o.key]) : o.negate ? !value : value;
    };
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      if (arg === "--") {
        positionals.push(...argv.slice(i + 1));
        break;
      }
      if (this.passThrough && positionals.length > 0) {
        positionals.push(...argv.slice(i));
        break;
      }
      // docker's run takes -h for --hostname: then only --help asks for help
      if (arg === "--help" || (arg === "-h" && !this.options.some((o) => o.short === "h"))) return { kind: "help", text: this.help() };
      if (this.versionText !== undefined && (arg === "-v" || arg === "--version")) return { kind: "version", text: `${this.versionText}\n` };
      if (this.commands.length > 0 && positionals.length === 0 && !arg.startsWith("-")) {
        if (arg === "help") return { kind: "help", text: (this.commands.find((c) => c.named(argv[i + 1] ?? "")) ?? this).help() };
        const sub = this.commands.find((c) => c.named(arg));
        if (!sub) throw new UsageError(`unknown command '${arg}'`);
        return sub.parseFrom(argv.slice(i + 1), values);
      }
      if (arg.startsWith("--")) {
        const eq = arg.indexOf("=");
        const name = arg.slice(2, eq < 0 ? undefined : eq);
        const found = this.find((o) => o.long === name);
        if (!found) {
          if (!this.unknownAllowed) throw new UsageError(`unknown option '${arg}'`);
          positionals.push(arg);
          continue;
        }
        if (!found.o.takesValue) {
          // Go's flag package, which docker's CLI uses, takes --flag=true|false for any boolean
          const value = eq < 0 ? "true" : arg.slice(eq + 1);
          if (value !== "true" && value !== "false") throw new UsageError(`option '${found.o.flags}' takes no value (or =true, =false)`);
          set(found, value === "true");
        } else if (eq >= 0) set(found, arg.slice(eq + 1));
        else if (i + 1 < argv.length) set(found, argv[++i]!);
        else throw new UsageError(`option '${found.o.flags}' argument missing`);
        continue;
      }
      if (arg.startsWith("-") && arg.length > 1) {
        // -abc: each letter an option; one that takes a value takes the rest, or the next word
        for (let j = 1; j < arg.length; j++) {
          const found = this.find((o) => o.short === arg[j]);
          if (!found) {
            if (!this.unknownAllowed) throw new UsageError(`unknown option '-${arg[j]}'`);
            positionals.push(arg);
            break;
          }
          if (!found.o.takesValue) {
            set(found, true);
            continue;
          }
          if (j + 1 < arg.length) set(found, arg.slice(j + 1));
          else if (i + 1 < argv.length) set(found, argv[++i]!);
          else throw new UsageError(`option '${found.o.flags}' argument missing`);
          break;
        }
        continue;
      }
      positionals.push(arg);
    }
    if (!this.handler) {
      if (positionals.length > 0) throw new UsageError(`unknown command '${positionals[0]}'`);
      return { kind: "help", text: this.help() };
    }
    const args: unknown[] = [];
    let at = 0;
    for (const a of this.args) {
      if (a.variadic) {
        if (a.required && at >= positionals.length) throw new UsageError(`missing required argument '${a.name}'`);
        args.push(positionals.slice(at));
        at = positionals.length;
      } else if (at < positionals.length) args.push(positionals[at++]);
      else if (a.required) throw new UsageError(`missing required argument '${a.name}'`);
      else args.push(a.default);
    }
    if (at < positionals.length) {
      const n = this.args.length;
      throw new UsageError(`too many arguments for '${this.name}'. Expected ${n} argument${n === 1 ? "" : "s"} but got ${positionals.length}.`);
    }
    const opts = values.get(this)!;
    const handler = this.handler;
    const globals = (values.get(this.root()) ?? {}) as Record<string, unknown>;
    // the program's options (--root, --runroot, --debug) reach the action beside its own; its own win
    const merged = this.parent ? { ...globals, ...opts } : opts;
    return { kind: "run", globals, run: async () => void (await handler(...args, merged, this)) };
  }

  private root(): Command {
    return this.parent ? this.parent.root() : this;
  }

  private usage(): string {
    // every command has at least -h, --help
    const parts = [this.path(), "[options]"];
    if (this.commands.length > 0) parts.push("[command]");
    for (const a of this.args) parts.push(`${a.required ? "<" : "["}${a.name}${a.variadic ? "..." : ""}${a.required ? ">" : "]"}`);
    return parts.join(" ");
  }

  /** commander's help layout: usage, description, arguments, options, commands. */
  help(): string {
    const table = (rows: [string, string][]) => {
      const width = Math.max(...rows.map(([l]) => l.length));
      return rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`.trimEnd()).join("\n");
    };
    const shown = (d: unknown) => (typeof d === "string" || Array.isArray(d) ? JSON.stringify(d) : String(d));
    const sections = [`Usage: ${this.usage()}`];
    if (this.about) sections.push(this.about);
    if (this.args.length > 0) {
      sections.push(`Arguments:\n${table(this.args.map((a) => [a.name, a.description + (a.default !== undefined ? ` (default: ${shown(a.default)})` : "")]))}`);
    }
    const options: [string, string][] = this.options.map((o) => [
      o.flags, o.description + (o.default !== undefined && !(Array.isArray(o.default) && o.default.length === 0) && o.default !== false ? ` (default: ${shown(o.default)})` : ""),
    ]);
    if (this.versionText !== undefined) options.push(["-v, --version", "output the version number"]);
    options.push(["-h, --help", "display help for command"]);
    sections.push(`Options:\n${table(options)}`);
    if (this.commands.length > 0) {
      const rows: [string, string][] = this.commands.map((c) => [[c.name, ...c.aliases].join("|") + c.usage().slice(c.path().length), c.about]);
      rows.push(["help [command]", "display help for command"]);
      sections.push(`Commands:\n${table(rows)}`);
    }
    return `${sections.join("\n\n")}\n`;
  }
}

export type Invocation =
  | { kind: "help" | "version"; text: string }
  | { kind: "run"; globals: Record<string, unknown>; run: () => Promise<void> };
