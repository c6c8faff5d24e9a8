/**
 * berth-runtime: an OCI runtime with runc's command line.
 *
 *   berth-runtime [global flags] COMMAND [command flags] ID [args]
 *
 * Flags are parsed by runtime-flags.ts (runc's grammar), not commander or node:util: the
 * binary is exec'd several times per container, and commander costs ~16 ms of start-up,
 * node:util ~1.7 ms and 2.4 MiB. Each verb's module is imported only when that verb runs;
 * what the verbs share with this dispatcher (the global flags, the log, flag parsing) is
 * in runtime/invocation.ts, as runc's utils_linux.go, so no verb imports this file.
 */
import { parseFlags } from "./runtime-flags.ts";
import { BerthError, errnoOf } from "../errors.ts";
import { writeErr, writeOut } from "./stdio.ts";
import { runtimeHelp, verbHelp } from "./runtime/usage.ts";
import { HelpRequested, RuntimeLog, SPEC_VERSION, VERSION, type Globals, type Options } from "./runtime/invocation.ts";

/**
 * System calls that fail because of the host, not of berth or the config: one line naming
 * the file, the cause and the fix, instead of an internal error (a full state disk once
 * gave a stack trace).
 */
const HOST_FAILURES: Record<string, string> = {
  ENOSPC: "no space left on device; free space or inodes on that filesystem (df -h, df -i), or point --root at another",
  EDQUOT: "disk quota exceeded; free space under that quota, or point --root at another filesystem",
  ENOMEM: "cannot allocate memory; the host (or a memory limit on berth-runtime itself) is out of memory",
  EROFS: "read-only file system; point --root at a writable filesystem",
};

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
    if (err instanceof BerthError) log.error(err.message, err);
    else if (HOST_FAILURES[errnoOf(err) ?? ""]) {
      const e = err as Error & { path?: string; syscall?: string };
      log.error(`${e.path ?? "berth-runtime"}: ${e.syscall ?? "write"}: ${HOST_FAILURES[errnoOf(err)!]}`, { errno: errnoOf(err) });
    } else {
      // one line for the user; the stack only with --debug (a bug to report, not a config to fix)
      log.error(`internal error: ${(err as Error)?.message ?? String(err)}`);
      log.debug(`${(err as Error)?.stack ?? ""}`);
    }
    return 1;
  }
}
