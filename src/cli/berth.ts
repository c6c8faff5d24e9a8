#!/usr/bin/env bun
/**
 * `berth`: the engine and operator's CLI. Parsing and output only; every action lives
 * in the layers below (DESIGN.md).
 *
 * Only the command being run is loaded and registered: each command pulls in its own
 * layers (the cgroup manager, discovery, the metrics server…), and loading all of them
 * on every call cost more than the work of `berth stats` itself. `--help` with no
 * command, or an unknown one, loads them all so that the help and the error list every
 * command.
 */
import { Command, UsageError } from "./command.ts";
import { EXIT_BERTH_FAILED, reportError } from "./exit.ts";
import pkg from "../../package.json" with { type: "json" };
import { writeErr, writeOut } from "./stdio.ts";
import { setEngineFlags } from "./berth/globals.ts";

type Register = (program: Command) => void;

const COMMANDS: Record<string, () => Promise<Register>> = {
  cgroup: async () => (await import("./cgroup/index.ts")).registerCgroup,
  stats: async () => (await import("./stats.ts")).registerStats,
  top: async () => (await import("./top.ts")).registerTop,
  ns: async () => (await import("./ns.ts")).registerNs,
  enter: async () => (await import("./enter.ts")).registerEnter,
  doctor: async () => (await import("./doctor.ts")).registerDoctor,
  diagnose: async () => (await import("./diagnose.ts")).registerDiagnose,
  events: async () => (await import("./events.ts")).registerEvents,
  metrics: async () => (await import("./metrics.ts")).registerMetrics,
  images: async () => (await import("./berth/images.ts")).registerImages,
  load: async () => (await import("./berth/load.ts")).registerLoad,
  import: async () => (await import("./berth/import.ts")).registerImport,
  image: async () => (await import("./berth/image.ts")).registerImage,
  run: async () => (await import("./berth/run.ts")).registerRun,
  create: async () => (await import("./berth/run.ts")).registerCreate,
  start: async () => (await import("./berth/control.ts")).registerStart,
  attach: async () => (await import("./berth/attach.ts")).registerAttach,
  stop: async () => (await import("./berth/control.ts")).registerStop,
  restart: async () => (await import("./berth/control.ts")).registerRestart,
  kill: async () => (await import("./berth/control.ts")).registerKill,
  pause: async () => (await import("./berth/control.ts")).registerPause,
  unpause: async () => (await import("./berth/control.ts")).registerUnpause,
  wait: async () => (await import("./berth/control.ts")).registerWait,
  rm: async () => (await import("./berth/control.ts")).registerRm,
  rename: async () => (await import("./berth/control.ts")).registerRename,
  update: async () => (await import("./berth/control.ts")).registerUpdate,
  container: async () => (await import("./berth/control.ts")).registerContainer,
  ps: async () => (await import("./berth/query.ts")).registerPs,
  logs: async () => (await import("./berth/query.ts")).registerLogs,
  inspect: async () => (await import("./berth/query.ts")).registerInspect,
  exec: async () => (await import("./berth/exec.ts")).registerExec,
  volume: async () => (await import("./berth/volume.ts")).registerVolume,
  network: async () => (await import("./berth/network.ts")).registerNetwork,
  pull: async () => (await import("./berth/pull.ts")).registerPull,
  push: async () => (await import("./berth/push.ts")).registerPush,
  rmi: async () => (await import("./berth/rmi.ts")).registerRmi,
  tag: async () => (await import("./berth/tag.ts")).registerTag,
  save: async () => (await import("./berth/save.ts")).registerSave,
  history: async () => (await import("./berth/image-history.ts")).registerHistory,
  login: async () => (await import("./berth/login.ts")).registerLogin,
  logout: async () => (await import("./berth/login.ts")).registerLogout,
  system: async () => (await import("./berth/system.ts")).registerSystem,
  info: async () => (await import("./berth/info.ts")).registerInfo,
  version: async () => (await import("./berth/info.ts")).registerVersion,
  cp: async () => (await import("./berth/copy.ts")).registerCp,
  port: async () => (await import("./berth/copy.ts")).registerPort,
  diff: async () => (await import("./berth/filesystem.ts")).registerDiff,
  export: async () => (await import("./berth/filesystem.ts")).registerExport,
  commit: async () => (await import("./berth/filesystem.ts")).registerCommit,
};

/** Where the command word of argv is: the first argument that is not a global flag (-1: none). */
function commandIndex(args: string[]): number {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--root" || args[i] === "--runroot") i++; // their values are not the command
    else if (!args[i]!.startsWith("-")) return i;
  }
  return -1;
}

/** docker's `container VERB`s and the top-level verb each is (`container cleanup` and `prune` are container's own). */
const CONTAINER_VERBS: Record<string, string> = {
  ls: "ps", list: "ps", ps: "ps", remove: "rm", rm: "rm", attach: "attach", cp: "cp", create: "create", exec: "exec", inspect: "inspect",
  commit: "commit", diff: "diff", export: "export", kill: "kill", logs: "logs", pause: "pause", port: "port", rename: "rename", restart: "restart", run: "run", start: "start",
  stats: "stats", stop: "stop", top: "top", unpause: "unpause", update: "update", wait: "wait",
};

/**
 * docker's management-command form → the verb: `berth container ls -a` is `berth ps -a`,
 * `berth container stop web` is `berth stop web`, as docker treats them.
 *
 * @example dockerVerbForm(["--root", "/r", "container", "ls", "-a"]) // → ["--root", "/r", "ps", "-a"]
 */
export function dockerVerbForm(args: string[]): string[] {
  const i = commandIndex(args);
  const verb = args[i + 1];
  if (i < 0 || args[i] !== "container" || verb === undefined || !Object.hasOwn(CONTAINER_VERBS, verb)) return args;
  const top = CONTAINER_VERBS[verb]!;
  // a verb berth does not have yet stays `container VERB`: its error names it
  return Object.hasOwn(COMMANDS, top) ? [...args.slice(0, i), top, ...args.slice(i + 2)] : args;
}

const program = new Command("berth")
  .description("Linux containers from first principles")
  .version(pkg.version)
  .option("--debug", "print stack traces of errors")
  .option("--root <dir>", "where the engine keeps images and containers (default $BERTH_ROOT or /var/lib/berth)")
  .option("--runroot <dir>", "where the engine keeps live state (default $BERTH_RUNROOT or /run/berth)");

/** Run berth with `args` (argv without the program); resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  let debug = false;
  try {
    args = dockerVerbForm(args);
    const i = commandIndex(args);
    const word = i < 0 ? undefined : args[i];
    // all of them for the help and for an unknown word's error; none for --version
    const wanted = word === undefined ? (args.some((a) => a === "-h" || a === "--help") || args.length === 0 ? Object.keys(COMMANDS) : [])
      : word === "help" ? Object.keys(COMMANDS) : Object.hasOwn(COMMANDS, word) ? [word] : Object.keys(COMMANDS);
    for (const register of await Promise.all(wanted.map((name) => COMMANDS[name]!()))) register(program);
    const todo = program.parse(args);
    if (todo.kind !== "run") writeOut(todo.text);
    else {
      debug = todo.globals.debug === true;
      setEngineFlags(todo.globals);
      await todo.run();
    }
    return 0;
  } catch (err) {
    // the reader went away (berth logs | head): done, as a shell pipeline expects
    if ((err as { code?: string })?.code === "EPIPE") return 0;
    if (err instanceof UsageError) {
      writeErr(`berth: ${err.message}\n(run with --help for usage)\n`);
      return EXIT_BERTH_FAILED;
    }
    return reportError(err, debug);
  }
}

// Run from the sources (bin/berth with BERTH_FROM_SOURCE=1); the executable goes through entry.ts.
if (import.meta.main) main(process.argv.slice(2)).then((code) => process.exit(code));
