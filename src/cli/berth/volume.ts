/**
 * `berth volume create|ls|inspect|rm|prune`: docker's local volumes, under
 * `$BERTH_ROOT/volumes/<name>/_data` (with `--opt`, a mount there while a container uses
 * it). A volume a container still uses is not removed.
 */
import { collect, type Command } from "../command.ts";
import { BerthError } from "../../errors.ts";
import { ExitError } from "../exit.ts";
import { writeErr, writeOut } from "../stdio.ts";
import { alignColumns, inspectTemplate, type GoShape, parseTemplate } from "../../observe/template.ts";
import { confirmPrune, formatPruneReport, parsePruneFilters, parseVolumeFilter, VOLUME_HEADINGS, volumeMatches } from "../../engine/container/views.ts";
import { formatDecimalBytes } from "../../cgroups/units.ts";
import { pruneVolumes } from "../../engine/prune.ts";
import { parseLabels } from "../../engine/labels.ts";
import { newContainerId } from "../../engine/container/records.ts";
import type { Engine } from "../../engine/container/engine.ts";
import { engineFor } from "./engine-open.ts";
import { volumeInspectView } from "../../engine/volume/volumes.ts";
import { localDriverOptions } from "../../engine/volume/local-options.ts";

type Opts = Record<string, unknown>;

function usersOf(engine: Engine, name: string): string[] {
  return engine.store.list().filter((r) => r.Volumes.some((v) => v.name === name)).map((r) => r.Id);
}

/** docker's volume.Volume for templates: its maps (a missing key prints `<no value>`) */
export const VOLUME_SHAPE: GoShape = { maps: ["Labels", "Options", "Status"], fields: ["Status", "UsageData"] };

export function registerVolume(program: Command): void {
  const v = program.command("volume").description("manage volumes");
  v.command("create").argument("[name]", "volume name (default: a random one)").description("create a volume")
    .option("-l, --label <k=v>", "a label", collect)
    .option("-d, --driver <driver>", "local (the only driver)")
    .option("-o, --opt <key=value>", "the local driver's mount: type=, device=, o= (type=tmpfs,device=tmpfs,o=size=64m; type=none,device=/dir,o=bind), mounted while a container uses it", collect)
    .action(async (name: string | undefined, opts: Opts) => {
      try {
        if (opts.driver !== undefined && opts.driver !== "local") throw new BerthError(`driver ${JSON.stringify(opts.driver)} is not available (no volume plugins here); use local`, { field: "--driver" });
        const options = localDriverOptions((opts.opt as string[] | undefined) ?? []);
        const engine = await engineFor(opts);
        const n = name ?? newContainerId();
        const labels = parseLabels((opts.label as string[] | undefined) ?? [], "--label");
        engine.volumes.ensure(n, false, labels, options);
        writeOut(`${n}\n`);
      } catch (err) {
        // docker's daemon refuses it: the CLI exits 1 (125 is for its own flag errors)
        if (err instanceof BerthError) throw new ExitError(1, err.message);
        throw err;
      }
    });
  v.command("ls").alias("list").description("list volumes").option("-q, --quiet", "only names")
    .option("-f, --filter <k=v>", "dangling=true|false, name=PART, label=KEY[=VALUE], driver=local", collect)
    .option("--format <format>", "table, json, or a Go template such as '{{.Name}} {{.Mountpoint}}'")
    .action(async (opts: Opts) => {
      const engine = await engineFor(opts);
      const filters = ((opts.filter as string[] | undefined) ?? []).map(parseVolumeFilter);
      const used = filters.some((f) => f.key === "dangling") ? new Set(engine.store.list().flatMap((r) => r.Volumes.map((x) => x.name))) : new Set<string>();
      const list = engine.volumes.list().filter((x) => volumeMatches(x, used.has(x.Name), filters));
      const format = (opts.format as string | undefined) || undefined;
      if (opts.quiet) {
        writeOut(list.map((x) => `${x.Name}\n`).join(""));
        return;
      }
      const rows = list.map((x) => ({ Driver: x.Driver, Labels: Object.entries(x.Labels).map(([k, val]) => `${k}=${val}`).join(","), Mountpoint: x.Mountpoint, Name: x.Name, Scope: x.Scope, CreatedAt: x.CreatedAt }));
      if (format === "json") {
        writeOut(rows.map((x) => `${JSON.stringify(x)}\n`).join(""));
        return;
      }
      const template = parseTemplate(format === undefined || format === "table" ? "table {{.Driver}}\t{{.Name}}" : format, Object.keys(VOLUME_HEADINGS));
      const lines = rows.map((x) => template.render(x, x));
      if (template.table) writeOut(`${alignColumns([template.header(VOLUME_HEADINGS), ...lines])}\n`);
      else if (lines.length) writeOut(`${lines.join("\n")}\n`);
    });
  v.command("inspect").argument("<names...>", "volume names").description("docker's JSON of volumes")
    .option("-f, --format <template>", "a Go template ({{.Mountpoint}}, {{json .Labels}}) instead of JSON")
    .action(async (names: string[], opts: Opts) => {
      const format = (opts.format as string | undefined) || undefined;
      const template = inspectTemplate(format);
      const engine = await engineFor(opts);
      const out = names.map((n) => volumeInspectView(engine.volumes.get(n)));
      if (template) writeOut(out.map((o) => `${template.render(o, VOLUME_SHAPE)}\n`).join(""));
      else writeOut(`${JSON.stringify(out, null, 4)}\n`);
    });
  v.command("rm").alias("remove").argument("<names...>", "volume names").description("remove volumes").option("-f, --force", "no error for a missing volume")
    .action(async (names: string[], opts: Opts) => {
      const engine = await engineFor(opts);
      let failed = 0;
      for (const n of names) {
        try {
          const users = usersOf(engine, n);
          if (users.length) throw new BerthError(`remove ${n}: volume is in use - [${users.join(", ")}]; remove those containers first`);
          engine.volumes.remove(n, { force: opts.force === true });
          writeOut(`${n}\n`);
        } catch (err) {
          if (names.length === 1) throw err;
          writeErr(`berth: ${(err as Error).message}\n`);
          failed++;
        }
      }
      if (failed) throw new ExitError(1);
    });
  v.command("prune").description("remove anonymous volumes no container uses (-a: every unused volume)")
    .option("-a, --all", "named volumes too").option("-f, --force", "remove without asking (needed: berth does not prompt)")
    .option("--filter <k=v>", "label=KEY[=VALUE], label!=KEY[=VALUE]", collect)
    .action(async (opts: Opts) => {
      const filter = parsePruneFilters((opts.filter as string[] | undefined) ?? [], Date.now(), false);
      confirmPrune(opts.force, [opts.all ? "all local volumes not used by at least one container" : "all anonymous local volumes not used by at least one container"]);
      const engine = await engineFor(opts);
      const { removed, reclaimed } = pruneVolumes(engine, opts.all === true, filter);
      writeOut(formatPruneReport([["Volumes", removed]], formatDecimalBytes(reclaimed)));
    });
}

