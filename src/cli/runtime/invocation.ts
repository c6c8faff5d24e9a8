/**
 * What every berth-runtime verb shares with the dispatcher (cli/berth-runtime.ts), as
 * runc's utils_linux.go: the global flags, the per-invocation log, and the parsing of a
 * verb's flags and container id.
 */
import { FlagError, parseFlags, type FlagSpecs } from "../runtime-flags.ts";
import { BerthError, type Warning } from "../../errors.ts";
import { O, writeText } from "../../sys/libc.ts";
import { writeErr } from "../stdio.ts";

export const VERSION = "0.1.0";
export const SPEC_VERSION = "1.0.2-dev";

export interface Globals {
  root: string;
  log?: string;
  logFormat: "text" | "json";
  debug: boolean;
  systemdCgroup: boolean;
}

export type Options = FlagSpecs;


/**
 * A message as one line, whatever a config.json put in it: control characters (a
 * newline in a value, in a key that became a field name) escaped as JSON escapes them.
 */
export function oneLine(msg: string): string {
  return msg.replace(/[\u0000-\u001f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

/** Output for one invocation: errors and warnings go to --log (if any) and stderr, as runc does. */
export class RuntimeLog {
  private warnings: Warning[] = [];
  constructor(private readonly g: Globals) {}

  private line(level: string, msg: string, detail?: { errno?: string; field?: string }): string {
    const time = new Date().toISOString();
    // errno and field (when the error has them) let an engine choose docker's exit code (126/127) without matching words
    if (this.g.logFormat === "json") return JSON.stringify({ level, msg, time, ...(detail?.errno && { errno: detail.errno }), ...(detail?.field && { field: detail.field }) }) + "\n";
    return `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
  }

  private toLog(level: string, msg: string, detail?: { errno?: string; field?: string }): void {
    if (!this.g.log) return;
    try {
      writeText(this.g.log, this.line(level, msg, detail), 0o644, O.APPEND);
    } catch {
      // an unwritable log must not hide the error itself, which still reaches stderr
    }
  }

  /** Held until the command succeeds: podman reads a failed create's log as exactly one JSON object. */
  warn = (w: Warning): void => {
    this.warnings.push(w);
  };

  flushWarnings(): void {
    for (const w of this.warnings) {
      const msg = oneLine(`${w.field}: ${w.message}`);
      this.toLog("warning", msg);
      if (!this.g.log) writeErr(`berth-runtime: warning: ${msg}\n`);
    }
    this.warnings = [];
  }

  /** `--debug`: each phase with the milliseconds since the process started */
  trace = (phase: string): void => {
    if (this.g.debug) this.debug(`${performance.now().toFixed(1)} ms: ${phase}`);
  };

  debug(msg: string): void {
    if (!this.g.debug) return;
    this.toLog("debug", msg);
    if (!this.g.log) writeErr(`berth-runtime: debug: ${msg}\n`);
  }

  error(msg: string, detail?: { errno?: string; field?: string }): void {
    this.toLog("error", msg, detail);
    writeErr(`${oneLine(msg)}\n`);
  }
}

/** `VERB -h` / `VERB --help`: main prints the verb's usage with the flags it parses, and exits 0 (as runc does). */
export class HelpRequested extends Error {
  constructor(readonly options: Options, readonly described: Record<string, string>) {
    super("help");
  }
}

const HELP_FLAG = { help: { type: "boolean", short: "h" } } as const satisfies Options;

/**
 * Parse a verb's flags (runc's grammar, strict); errors name the flag. `-h`/`--help`
 * before the first argument asks for the verb's usage; `described` says what flags
 * without a common meaning (usage.ts) do.
 */
export function parseVerb<O extends Options>(args: string[], options: O, described: Record<string, string> = {}) {
  try {
    const { values: { help, ...values }, positionals, unknown } = parseFlags(args, { ...options, ...HELP_FLAG });
    if (help) throw new HelpRequested(options, described);
    return { values, positionals, unknown } as ReturnType<typeof parseFlags<O>>;
  } catch (err) {
    if (err instanceof FlagError) throw new BerthError(err.message);
    throw err;
  }
}

/** The container id: the first positional. */
export function idArg(positionals: string[], usage: string): string {
  const id = positionals[0];
  if (!id) throw new BerthError(`container id cannot be empty; usage: berth-runtime ${usage}`);
  return id;
}
