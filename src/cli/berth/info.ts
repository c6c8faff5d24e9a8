/**
 * `berth info` (and `system info`) and `berth version`: docker's `info` and `version`
 * (engine/system-info.ts gathers and prints them). Apart from system.ts so that these two,
 * which scripts call often, load no prune's command module.
 */
import type { Command } from "../command.ts";
import { writeErr, writeOut } from "../stdio.ts";
import { renderGoTemplate } from "../../observe/template.ts";
import { formatInfo, formatVersion, gatherInfo, versionOf } from "../../engine/system-info.ts";
import { runtimePath } from "../../engine/container/programs.ts";
import { SPEC_VERSION } from "../runtime/invocation.ts";
import { engineFor } from "./engine-open.ts";
import pkg from "../../../package.json" with { type: "json" };

type Opts = Record<string, unknown>;

/** `--format json` is the JSON on one line (docker's), anything else a Go template over it. */
function printFormatted(format: string, value: unknown): void {
  writeOut(`${format === "json" ? JSON.stringify(value) : renderGoTemplate(format, value)}\n`);
}

async function infoAction(opts: Opts): Promise<void> {
  const info = gatherInfo(await engineFor(opts), pkg.version, runtimePath(undefined), new Date());
  if (opts.format !== undefined) return printFormatted(opts.format as string, info);
  const { text, warnings } = formatInfo(info);
  writeOut(text);
  for (const w of warnings) writeErr(`${w}\n`);
}

/** `info` under `program`: `berth info`, and `berth system info` (system.ts registers it under `system`) — docker's `info`. */
export function registerInfo(program: Command): void {
  program.command("info").description("what this engine and host are: containers, images, cgroup version and driver, runtimes, kernel, CPUs, memory")
    .option("-f, --format <format>", "json, or a Go template such as '{{.CgroupVersion}}'").action(infoAction);
}

/** `berth version`: docker's `version` — the engine runs in each berth command, so client and engine are one program. */
export function registerVersion(program: Command): void {
  program.command("version").description("berth's version, its runtime's and the OCI spec's")
    .option("-f, --format <format>", "json, or a Go template such as '{{.Server.Version}}'")
    .action((opts: Opts) => {
      const v = versionOf(pkg.version, Bun.version, SPEC_VERSION);
      if (opts.format !== undefined) printFormatted(opts.format as string, v);
      else writeOut(formatVersion(v));
    });
}
