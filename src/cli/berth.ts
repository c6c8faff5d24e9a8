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
import { Command, CommanderError } from "commander";
import { EXIT_BERTH_FAILED, reportError } from "./exit.ts";
import pkg from "../../package.json" with { type: "json" };
import { writeErr, writeOut } from "./stdio.ts";

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
};

/** The command word of argv: the first argument that is not a global flag. */
function commandWord(args: string[]): string | undefined {
  return args.find((a) => !a.startsWith("-"));
}

const program = new Command("berth")
  .description("Linux containers from first principles")
  .version(pkg.version, "-v, --version")
  .option("--debug", "print stack traces of errors")
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride()
  .configureOutput({
    writeOut,
    // commander's own messages start "error: "; make them read like berth's.
    writeErr: (s) => writeErr(s.replace(/^error: /, "berth: ")),
  });

try {
  const args = process.argv.slice(2);
  const word = commandWord(args);
  // all of them for the help and for an unknown word's error; none for --version
  const wanted = word === undefined ? (args.some((a) => a === "-h" || a === "--help") || args.length === 0 ? Object.keys(COMMANDS) : [])
    : Object.hasOwn(COMMANDS, word) ? [word] : Object.keys(COMMANDS);
  for (const register of await Promise.all(wanted.map((name) => COMMANDS[name]!()))) register(program);
  for (const cmd of program.commands) {
    cmd.exitOverride();
    for (const sub of cmd.commands) sub.exitOverride();
  }
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    const ok = err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help";
    process.exit(ok ? 0 : EXIT_BERTH_FAILED);
  }
  process.exit(reportError(err, program.opts().debug === true));
}
