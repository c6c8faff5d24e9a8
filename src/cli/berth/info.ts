/**
 * `berth info` (and `system info`) and `berth version`: docker's `info` and `version`
 * (engine/system-info.ts gathers and prints them). Apart from system.ts so that these two,
 * which scripts call often, load no prune's command module.
 */
import type { Command } from "../command.ts";
import { writeErr, writeOut } from "../stdio.ts";
import { inspectTemplate, type GoShape } from "../../observe/template.ts";
import { formatInfo, formatVersion, gatherInfo, versionOf } from "../../engine/system-info.ts";
import { runtimePath } from "../../engine/container/programs.ts";
import { SPEC_VERSION } from "../runtime/invocation.ts";
import { engineFor } from "./engine-open.ts";
import pkg from "../../../package.json" with { type: "json" };

type Opts = Record<string, unknown>;

/**
 * `--format json` is the JSON on one line (docker's), anything else a Go template over
 * it, checked before anything is gathered. `shape`: the value's Go maps.
 */
function formatter(format: string | undefined, shape: GoShape): ((value: unknown) => void) | undefined {
  if (!format) return undefined;
  const template = inspectTemplate(format);
  return (value) => writeOut(`${template ? template.render(value, shape) : JSON.stringify(value)}\n`);
}

async function infoAction(opts: Opts): Promise<void> {
  // docker's system.Info: Runtimes is a map by name
  const print = formatter(opts.format as string | undefined, { maps: ["Runtimes"] });
  const info = gatherInfo(await engineFor(opts), pkg.version, runtimePath(undefined), new Date());
  if (print) return print(info);
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
      const print = formatter(opts.format as string | undefined, {});
      const v = versionOf(pkg.version, Bun.version, SPEC_VERSION);
      if (print) print(v);
      else writeOut(formatVersion(v));
    });
}
