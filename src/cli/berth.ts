#!/usr/bin/env bun
/**
 * `berth`: the engine and operator's CLI. Parsing and output only; every action lives
 * in the layers below (DESIGN.md).
 */
import { Command, CommanderError } from "commander";
import { registerCgroup } from "./cgroup/index.ts";
import { registerDiagnose } from "./diagnose.ts";
import { registerDoctor } from "./doctor.ts";
import { registerEnter } from "./enter.ts";
import { registerEvents } from "./events.ts";
import { registerMetrics } from "./metrics.ts";
import { registerNs } from "./ns.ts";
import { registerStats } from "./stats.ts";
import { registerTop } from "./top.ts";
import { EXIT_BERTH_FAILED, reportError } from "./exit.ts";
import pkg from "../../package.json" with { type: "json" };

const program = new Command("berth")
  .description("Linux containers from first principles")
  .version(pkg.version, "-v, --version")
  .option("--debug", "print stack traces of errors")
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride()
  .configureOutput({
    // commander's own messages start "error: "; make them read like berth's.
    writeErr: (s) => process.stderr.write(s.replace(/^error: /, "berth: ")),
  });
registerCgroup(program);
for (const register of [registerStats, registerTop, registerNs, registerEnter, registerDoctor, registerDiagnose, registerEvents, registerMetrics]) register(program);
for (const cmd of program.commands) {
  cmd.exitOverride();
  for (const sub of cmd.commands) sub.exitOverride();
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    const ok = err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help";
    process.exit(ok ? 0 : EXIT_BERTH_FAILED);
  }
  process.exit(reportError(err, program.opts().debug === true));
}
