/**
 * The read-only verbs: `ps [-a -q -n -l --no-trunc --filter --format]`, `logs [-f --tail
 * --since --until -t]`, `inspect` (docker's JSON, always an array). Output only; what
 * they show comes from engine/container/views.ts and logs.ts.
 */
import { collect, type Command } from "../command.ts";
import { BerthError } from "../../errors.ts";
import { ExitError } from "../exit.ts";
import { writeErr, writeOut, writeRuns } from "../stdio.ts";
import { alignColumns, inspectTemplate, type GoShape, parseTemplate } from "../../observe/template.ts";
import { exitFileCode, liveStatus } from "../../engine/container/live-status.ts";
import { followLog, readLog } from "../../engine/container/log-reader.ts";
import { linesInWindow, type LogBatch, LogParser, logRuns, LogTail, parseLogTime, parseTail } from "../../engine/container/logs.ts";
import { NoSuchContainer } from "../../engine/container/records.ts";
import { ContainerSizes } from "../../engine/container/disk-usage.ts";
import { ImageStore } from "../../engine/image/image-store.ts";
import { isVolumeName, volumeInspectView } from "../../engine/volume/volumes.ts";
import { IMAGE_SHAPE, imageInspectObject } from "./image-inspect.ts";
import { VOLUME_SHAPE } from "./volume.ts";
import { inspectContainer, matchesFilters, parseFilter, PS_FIELDS, PS_HEADINGS, psRow } from "../../engine/container/views.ts";
import { engineFor } from "./engine-open.ts";

type Opts = Record<string, unknown>;

const DEFAULT_PS = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

export function registerPs(program: Command): void {
  program.command("ps").description("list containers (running ones; -a for all)")
    .option("-a, --all", "show all containers, not only running ones")
    .option("-q, --quiet", "only ids")
    .option("-n, --last <n>", "the n last created (any state)")
    .option("-l, --latest", "the last created (any state)")
    .option("-s, --size", "docker's SIZE column: what the container wrote (virtual: with its image)")
    .option("--no-trunc", "do not truncate ids and commands")
    .option("-f, --filter <k=v>", "id=, name=, label=, status=, exited=, ancestor=, before=, since=, volume=, network=, publish=, expose=", collect)
    .option("--format <format>", "table, json, or a Go template such as '{{.ID}} {{.Names}}'")
    .action(async (opts: Opts) => {
      const engine = await engineFor(opts);
      const filters = ((opts.filter as string[] | undefined) ?? []).map(parseFilter);
      const last = opts.latest ? 1 : opts.last !== undefined ? parseLast(String(opts.last)) : undefined;
      const format = (opts.format as string | undefined) || undefined;
      const table = opts.size ? `${DEFAULT_PS}\t{{.Size}}` : DEFAULT_PS;
      const template = format === undefined || format === "table" ? parseTemplate(table, PS_FIELDS) : format === "json" ? undefined : parseTemplate(format, PS_FIELDS);
      // docker computes sizes when a format shows them (json shows every field), -s or not
      const sizes = !opts.quiet && (template ? template.fields.includes("Size") : true) ? new ContainerSizes(engine) : undefined;
      const now = Date.now();
      let records = engine.store.list().sort((a, b) => b.Created.localeCompare(a.Created));
      if (last !== undefined) records = records.slice(0, last);
      const createdOf = (ref: string) => engine.store.resolve(ref).Created;
      const rows = records.flatMap((r) => {
        const live = liveStatus(engine, r);
        if (!opts.all && last === undefined && !filters.some((f) => f.key === "status" || f.key === "exited") && live.status !== "running" && live.status !== "paused" && live.status !== "restarting") return [];
        if (!matchesFilters(r, live, filters, createdOf)) return [];
        return [psRow(r, live, now, opts.trunc === false, sizes?.of(r))];
      });
      if (opts.quiet) {
        writeOut(rows.map((r) => `${r.ID}\n`).join(""));
        return;
      }
      // docker: one JSON object per line
      if (!template) {
        writeOut(rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
        return;
      }
      const lines = rows.map((r) => template.render(r as unknown as Record<string, string>, r));
      if (template.table) writeOut(`${alignColumns([template.header(PS_HEADINGS), ...lines])}\n`);
      else if (lines.length) writeOut(`${lines.join("\n")}\n`);
    });
}

function parseLast(text: string): number {
  if (!/^-?\d+$/.test(text)) throw new BerthError(`invalid value ${JSON.stringify(text)}; use a number`, { field: "--last" });
  return Number(text) < 0 ? Infinity : Number(text);
}

export function registerLogs(program: Command): void {
  program.command("logs").argument("<container>", "name or id").description("print a container's output (stdout to stdout, stderr to stderr)")
    .option("-f, --follow", "keep printing as the container writes")
    .option("-n, --tail <n>", "only the last n lines (or all)")
    .option("--since <time>", "only lines since: RFC 3339, Unix seconds, or a duration such as 10m")
    .option("--until <time>", "only lines until: RFC 3339, Unix seconds, or a duration")
    .option("-t, --timestamps", "prefix each line with its time")
    .option("--details", "(accepted; no extra attributes)")
    .action(async (ref: string, opts: Opts) => {
      const engine = await engineFor(opts);
      const r = engine.store.resolve(ref);
      const now = Date.now();
      const sel = {
        ...(opts.tail !== undefined && { tail: parseTail(String(opts.tail)) }),
        ...(opts.since !== undefined && { sinceMs: parseLogTime(String(opts.since), "--since", now) }),
        ...(opts.until !== undefined && { untilMs: parseLogTime(String(opts.until), "--until", now) }),
      };
      const parser = new LogParser({ timestamps: opts.timestamps === true, times: sel.sinceMs !== undefined || sel.untilMs !== undefined });
      const tail = sel.tail === undefined ? undefined : new LogTail(sel.tail);
      const print = (b: LogBatch) => {
        if (tail) tail.add(b, linesInWindow(b, sel));
        else writeRuns(logRuns(b, linesInWindow(b, sel)));
      };
      const position = readLog(r.LogPath, parser, print);
      const { sinceMs: _since, tail: _tail, ...live } = sel;
      // without -t a line's chunks print the same whether joined or not: a follower prints each as it comes (a prompt
      // waiting for input shows), so what waits for its end is printed before following; with -t, a line keeps its first time
      const streamed = opts.follow === true && opts.timestamps !== true;
      if (!opts.follow || streamed) print(parser.flush());
      if (tail) writeRuns(tail.runs());
      if (!opts.follow) return;
      const follower = streamed ? new LogParser({ times: sel.untilMs !== undefined, streamPartials: true }) : parser;
      await followLog(r.LogPath, position, follower, (b) => writeRuns(logRuns(b, linesInWindow(b, live))), () => {
        const now = engine.store.read(r.Id);
        return !now || exitFileCode(engine, r.Id) !== undefined || (liveStatus(engine, now).status !== "running" && liveStatus(engine, now).status !== "paused");
      });
      const rest = follower.flush();
      writeRuns(logRuns(rest, linesInWindow(rest, live)));
    });
}

export function registerInspect(program: Command): void {
  program.command("inspect").argument("<objects...>", "containers (names or ids), images or volumes").description("docker's JSON of containers, images or volumes (always an array)")
    .option("-f, --format <template>", "a Go template such as '{{.State.Status}}', or json")
    .option("--type <type>", "container, image or volume (default: the first that has the name, in that order, as docker)")
    .option("-s, --size", "add SizeRw (what the container wrote) and SizeRootFs (with its image)")
    .action(async (refs: string[], opts: Opts) => {
      const engine = await engineFor(opts);
      const type = opts.type as string | undefined;
      if (type !== undefined && !INSPECT_TYPES.includes(type)) throw new BerthError(`type ${JSON.stringify(type)} is not inspected here; use ${INSPECT_TYPES.join(", ")}`, { field: "--type" });
      const want = (t: string) => type === undefined || type === t;
      const format = (opts.format as string | undefined) || undefined;
      // checked before anything is looked up, as docker's: a template that does not parse is one line
      const template = inspectTemplate(format);
      const out: [Record<string, unknown>, GoShape][] = [];
      const sizes = opts.size ? new ContainerSizes(engine) : undefined;
      let images: ImageStore | undefined;
      let missing = 0;
      const container = (ref: string): Record<string, unknown> | undefined => {
        let r;
        try {
          r = engine.store.resolve(ref);
        } catch (err) {
          if (err instanceof NoSuchContainer) return undefined;
          throw err;
        }
        const c = inspectContainer(r, engine.store.spec(r.Id), liveStatus(engine, r));
        if (sizes) {
          const { rw, rootFs } = sizes.of(r);
          Object.assign(c, { SizeRw: rw, SizeRootFs: rootFs });
        }
        return c;
      };
      const image = (ref: string) => {
        images ??= new ImageStore(engine.paths);
        let found;
        try {
          found = images.find(ref);
        } catch (err) {
          if (!(err instanceof BerthError)) throw err;
          return undefined; // not an image reference at all (a name with capitals): no such image
        }
        return found ? imageInspectObject(images, found) : undefined;
      };
      const volume = (ref: string) => {
        const v = isVolumeName(ref) ? engine.volumes.read(ref) : undefined;
        return v ? volumeInspectView(v) : undefined;
      };
      for (const ref of refs) {
        const c = want("container") ? container(ref) : undefined;
        const i = c || !want("image") ? undefined : image(ref);
        const v = c || i || !want("volume") ? undefined : volume(ref);
        if (c || i || v) out.push(c ? [c, CONTAINER_SHAPE] : i ? [i, IMAGE_SHAPE] : [v!, VOLUME_SHAPE]);
        else {
          writeErr(`Error: No such object: ${ref}\n`);
          missing++;
        }
      }
      // every object rendered before any is printed: a field one of them lacks fails the command with nothing half-written
      if (template) writeOut(out.map(([o, shape]) => `${template.render(o, shape)}\n`).join(""));
      else writeOut(`${JSON.stringify(out.map(([o]) => o), null, 4)}\n`);
      if (missing) throw new ExitError(1);
    });
}

const INSPECT_TYPES = ["container", "image", "volume"];

/**
 * What `inspect -f` may read in a container besides its keys: docker's maps (a missing
 * key prints `<no value>`), and the fields berth leaves out when they are unset.
 */
export const CONTAINER_SHAPE: GoShape = {
  maps: ["Config.Labels", "Config.Volumes", "Config.ExposedPorts", "HostConfig.LogConfig.Config", "HostConfig.Tmpfs", "HostConfig.Annotations", "GraphDriver.Data", "NetworkSettings.Ports", "NetworkSettings.Networks"],
  fields: ["SizeRw", "SizeRootFs", "Config.StopTimeout", "Config.ExposedPorts", "HostConfig.Annotations"],
};
