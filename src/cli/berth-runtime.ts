/**
 * berth-runtime: an OCI runtime with runc's command line.
 *
 *   berth-runtime [global flags] COMMAND [command flags] ID [args]
 *
 * Flags are parsed by runtime-flags.ts (runc's grammar), not commander or node:util: the
 * binary is exec'd several times per container, and commander costs ~16 ms of start-up,
 * node:util ~1.7 ms and 2.4 MiB. Each verb's module is imported only when that verb runs.
 */
import { FlagError, parseFlags, type FlagSpecs } from "./runtime-flags.ts";
import { BerthError, type Warning } from "../errors.ts";
import { O, writeText } from "../sys/libc.ts";
import { writeErr, writeOut } from "./stdio.ts";
import { runtimeHelp, verbHelp } from "./runtime/usage.ts";

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


/** Output for one invocation: errors and warnings go to --log (if any) and stderr, as runc does. */
export class RuntimeLog {
  private warnings: Warning[] = [];
  constructor(private readonly g: Globals) {}

  private line(level: string, msg: string): string {
    const time = new Date().toISOString();
    if (this.g.logFormat === "json") return JSON.stringify({ level, msg, time }) + "\n";
    return `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
  }

  private toLog(level: string, msg: string): void {
    if (!this.g.log) return;
    try {
      writeText(this.g.log, this.line(level, msg), 0o644, O.APPEND);
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
      const msg = `${w.field}: ${w.message}`;
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

  error(msg: string): void {
    this.toLog("error", msg);
    writeErr(`${msg}\n`);
  }
}

/** runc's global flags; unknown ones are accepted with a warning (callers pass runc-only flags). */
const GLOBAL_OPTIONS = {
  root: { type: "string" },
  log: { type: "string" },
  "log-format": { type: "string" },
  debug: { type: "boolean" },
  "systemd-cgroup": { type: "boolean" },
  rootless: { type: "string" },
  criu: { type: "string" },
  version: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
} as const satisfies Options;

const COMMANDS: Record<string, () => Promise<{ run(args: string[], g: Globals, log: RuntimeLog): Promise<number> | number }>> = {
  create: () => import("./runtime/create.ts"),
  run: () => import("./runtime/run.ts"),
  start: () => import("./runtime/start.ts"),
  exec: () => import("./runtime/exec.ts"),
  state: () => import("./runtime/state.ts"),
  kill: () => import("./runtime/kill.ts"),
  delete: () => import("./runtime/delete.ts"),
  list: () => import("./runtime/list.ts"),
  spec: () => import("./runtime/spec.ts"),
  pause: () => import("./runtime/pause.ts"),
  resume: () => import("./runtime/resume.ts"),
  ps: () => import("./runtime/ps.ts"),
  update: () => import("./runtime/update.ts"),
  events: () => import("./runtime/events.ts"),
  features: () => import("./runtime/features.ts"),
};


/** Every verb berth-runtime has (the help lists each). */
export const VERB_NAMES = Object.keys(COMMANDS);

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseFlags(argv, GLOBAL_OPTIONS, { strict: false });
  } catch (err) {
    writeErr(`${(err as Error).message}\n`);
    return 1;
  }
  const v = parsed.values;
  const [command, ...rest] = parsed.positionals;
  const g: Globals = {
    root: typeof v.root === "string" ? v.root : "/run/berth",
    log: typeof v.log === "string" ? v.log : undefined,
    logFormat: v["log-format"] === "json" ? "json" : "text",
    debug: v.debug === true,
    systemdCgroup: v["systemd-cgroup"] === true,
  };
  const log = new RuntimeLog(g);
  for (const flag of parsed.unknown) log.warn({ field: flag.split("=")[0]!, message: "is not a berth-runtime flag; ignored" });
  if (typeof v["log-format"] === "string" && !["text", "json"].includes(v["log-format"])) {
    log.error(`--log-format: ${JSON.stringify(v["log-format"])} is not a log format; use text or json`);
    return 1;
  }
  if (v.version) {
    writeOut(`berth-runtime version ${VERSION}\nspec: ${SPEC_VERSION}\n`);
    return 0;
  }
  if (!command || v.help || command === "help") {
    writeOut(runtimeHelp());
    return command || v.help ? 0 : 1;
  }
  const load = COMMANDS[command];
  if (!load) {
    log.error(`unknown command ${JSON.stringify(command)}; run berth-runtime --help for the list`);
    return 1;
  }
  try {
    const code = await (await load()).run(rest, g, log);
    log.flushWarnings();
    return code;
  } catch (err) {
    if (err instanceof HelpRequested) {
      writeOut(verbHelp(command, err.options, err.described));
      return 0;
    }
    if (err instanceof BerthError) log.error(err.message);
    else log.error(`internal error: ${(err as Error)?.stack ?? String(err)}`);
    return 1;
  }
}

/** `VERB -h` / `VERB --help`: main prints the verb's usage with the flags it parses, and exits 0 (as runc does). */
class HelpRequested extends Error {
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
