/**
 * `berth volume create|ls|inspect|rm|prune`: docker's local volumes, under
 * `$BERTH_ROOT/volumes/<name>/_data`. A volume a container still uses is not removed.
 */
import type { Command } from "../command.ts";
import { BerthError } from "../../errors.ts";
import { ExitError } from "../exit.ts";
import { writeErr, writeOut } from "../stdio.ts";
import { alignColumns } from "../../observe/template.ts";
import { renderGoTemplate } from "../go-template.ts";
import { newContainerId } from "../../engine/container/records.ts";
import type { Engine } from "../../engine/container/engine.ts";
import { engineFor } from "./run-options.ts";

type Opts = Record<string, unknown>;
const collect = (value: string, previous: string[] = []) => [...previous, value];

function usersOf(engine: Engine, name: string): string[] {
  return engine.store.list().filter((r) => r.Volumes.some((v) => v.name === name)).map((r) => r.Id);
}

export function registerVolume(program: Command): void {
  const v = program.command("volume").description("manage volumes");
  v.command("create").argument("[name]", "volume name (default: a random one)").description("create a volume")
    .option("-l, --label <k=v>", "a label", collect)
    .option("-d, --driver <driver>", "local (the only driver)")
    .action((name: string | undefined, opts: Opts) => {
      if (opts.driver !== undefined && opts.driver !== "local") throw new BerthError(`driver ${JSON.stringify(opts.driver)} is not available; use local`, { field: "--driver" });
      const engine = engineFor(opts);
      const n = name ?? newContainerId();
      const labels = Object.fromEntries(((opts.label as string[] | undefined) ?? []).map((l) => [l.split("=")[0]!, l.slice(l.indexOf("=") + 1)]));
      engine.volumes.ensure(n, false, labels);
      writeOut(`${n}\n`);
    });
  v.command("ls").description("list volumes").option("-q, --quiet", "only names").option("--format <format>", "json or table")
    .action((opts: Opts) => {
      const list = engineFor(opts).volumes.list();
      if (opts.quiet) writeOut(list.map((x) => `${x.Name}\n`).join(""));
      else if (opts.format === "json") writeOut(list.map((x) => `${JSON.stringify({ Driver: x.Driver, Labels: x.Labels, Mountpoint: x.Mountpoint, Name: x.Name, Scope: x.Scope })}\n`).join(""));
      else writeOut(`${alignColumns(["DRIVER\tVOLUME NAME", ...list.map((x) => `${x.Driver}\t${x.Name}`)])}\n`);
    });
  v.command("inspect").argument("<names...>", "volume names").description("docker's JSON of volumes")
    .option("-f, --format <template>", "a Go template ({{.Mountpoint}}, {{json .Labels}}) instead of JSON")
    .action((names: string[], opts: Opts) => {
      const engine = engineFor(opts);
      const out = names.map((n) => {
        const { Anonymous: _a, ...shown } = engine.volumes.get(n);
        return shown;
      });
      const format = opts.format as string | undefined;
      if (format !== undefined && format !== "json") writeOut(out.map((o) => `${renderGoTemplate(format, o)}\n`).join(""));
      else writeOut(`${JSON.stringify(out, null, 4)}\n`);
    });
  v.command("rm").argument("<names...>", "volume names").description("remove volumes").option("-f, --force", "no error for a missing volume")
    .action((names: string[], opts: Opts) => {
      const engine = engineFor(opts);
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
    .option("-a, --all", "named volumes too").option("-f, --force", "do not ask (berth never asks)")
    .action((opts: Opts) => {
      const engine = engineFor(opts);
      const used = new Set(engine.store.list().flatMap((r) => r.Volumes.map((x) => x.name)));
      for (const x of engine.volumes.list()) {
        if (used.has(x.Name) || (!opts.all && !x.Anonymous)) continue;
        engine.volumes.remove(x.Name, { force: true });
        writeOut(`${x.Name}\n`);
      }
    });
}
